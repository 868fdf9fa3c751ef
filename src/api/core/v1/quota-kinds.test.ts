import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../meta.js';
import { limitRangeType, type LimitRange } from './limit-range.js';
import { resourceQuotaType, type ResourceQuota } from './resource-quota.js';

const errs = (type: { validate(o: KubeObject, old?: KubeObject): Array<{ field: string; message: string }> }, o: unknown, old?: unknown) =>
  type.validate(o as KubeObject, old as KubeObject | undefined).map((e) => `${e.field}: ${e.message}`);
const meta = { name: 'q', namespace: 'default', creationTimestamp: '2024-05-01T11:00:00Z' };

describe('ResourceQuota', () => {
  const type = resourceQuotaType();
  const quota = (spec: ResourceQuota['spec'], status?: ResourceQuota['status']): ResourceQuota => ({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { ...meta }, spec, ...(status ? { status } : {}) });

  it('keeps hard limits canonical and accepts the resources quota knows', () => {
    const q = quota({ hard: { pods: '10', 'requests.cpu': '1000m', 'limits.memory': '1024Mi', 'count/deployments.apps': 3, 'services.nodeports': '0', 'requests.nvidia.com/gpu': '2' } });
    type.defaults(q);
    assert.deepEqual(q.spec!.hard, { pods: '10', 'requests.cpu': '1', 'limits.memory': '1Gi', 'count/deployments.apps': '3', 'services.nodeports': '0', 'requests.nvidia.com/gpu': '2' });
    assert.deepEqual(errs(type, q), []);
  });

  it("refuses unknown resources, negative and fractional counts with Kubernetes' messages", () => {
    assert.deepEqual(errs(type, quota({ hard: { gpus: '1', storage: '1Gi', pods: '1.5', 'requests.cpu': '-1', memory: 'lots' } })), [
      'spec.hard[gpus]: Invalid value: "gpus": must be a standard resource type or fully qualified',
      'spec.hard[gpus]: Invalid value: "gpus": must be a standard resource for quota',
      'spec.hard[storage]: Invalid value: "storage": must be a standard resource for quota',
      'spec.hard[pods]: Invalid value: "1500m": must be an integer',
      'spec.hard[requests.cpu]: Invalid value: "-1": must be greater than or equal to 0',
      `spec.hard[memory]: Invalid value: "lots": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`,
    ]);
    assert.deepEqual(errs(type, quota({ hard: { 'count/pods': '1.5' } })), ['spec.hard[count/pods]: Invalid value: "1500m": must be an integer']);
  });

  it('accepts the scopes it honours on pod resources only, and refuses the rest', () => {
    assert.deepEqual(errs(type, quota({ hard: { pods: '2' }, scopes: ['BestEffort'] })), []);
    assert.deepEqual(errs(type, quota({ hard: { 'requests.cpu': '1' }, scopes: ['NotBestEffort', 'Terminating'] })), []);
    assert.deepEqual(errs(type, quota({ hard: { 'requests.cpu': '1' }, scopes: ['BestEffort'] })), ['spec.scopes: Invalid value: ["BestEffort"]: unsupported scope applied to resource']);
    assert.deepEqual(errs(type, quota({ hard: { configmaps: '1' }, scopes: ['Terminating'] })), ['spec.scopes: Invalid value: ["Terminating"]: unsupported scope applied to resource']);
    assert.deepEqual(errs(type, quota({ hard: { pods: '1' }, scopes: ['Terminating', 'NotTerminating'] })), ['spec.scopes: Invalid value: ["Terminating","NotTerminating"]: conflicting scopes']);
    assert.deepEqual(errs(type, quota({ hard: { persistentvolumeclaims: '1' }, scopes: ['VolumeAttributesClass'] })), ['spec.scopes: Invalid value: ["VolumeAttributesClass"]: unsupported scope']);
    const sel = (scopeName: string, operator: string, values?: string[]) => quota({ hard: { pods: '1' }, scopeSelector: { matchExpressions: [{ scopeName, operator, ...(values ? { values } : {}) }] } });
    assert.deepEqual(errs(type, sel('PriorityClass', 'In', ['high'])), []);
    assert.deepEqual(errs(type, sel('PriorityClass', 'In')), ["spec.scopeSelector.matchExpressions.values: Required value: must be at least one value when `operator` is 'In' or 'NotIn' for scope selector"]);
    assert.deepEqual(errs(type, sel('PriorityClass', 'Exists', ['x'])), ['spec.scopeSelector.matchExpressions.values: Invalid value: ["x"]: must be no value when `operator` is \'Exist\' or \'DoesNotExist\' for scope selector']);
    assert.deepEqual(errs(type, sel('BestEffort', 'DoesNotExist')), [
      "spec.scopeSelector.matchExpressions.operator: Invalid value: \"DoesNotExist\": must be 'Exist' only operator when scope is any of ResourceQuotaScopeTerminating, ResourceQuotaScopeNotTerminating, ResourceQuotaScopeBestEffort and ResourceQuotaScopeNotBestEffort",
    ]);
    assert.deepEqual(errs(type, sel('PriorityClass', 'Near', ['x'])), ['spec.scopeSelector.matchExpressions.operator: Unsupported value: "Near": supported values: "In", "NotIn", "Exists", "DoesNotExist"']);
  });

  it('keeps scopes immutable and checks the status it is given', () => {
    const old = quota({ hard: { pods: '1' }, scopes: ['BestEffort'] });
    assert.deepEqual(errs(type, quota({ hard: { pods: '2' }, scopes: ['BestEffort'] }), old), []);
    assert.deepEqual(errs(type, quota({ hard: { pods: '1' } }), old), ['spec.scopes: Invalid value: []: field is immutable']);
    assert.deepEqual(errs(type, quota({ hard: { pods: '1' } }, { used: { pods: '-1' } })), ['status.used[pods]: Invalid value: "-1": must be greater than or equal to 0']);
  });

  it('prints REQUEST and LIMIT from the status, limits.* apart', () => {
    const q = quota({ hard: {} }, { hard: { pods: '3', 'requests.cpu': '1', 'limits.memory': '1Gi' }, used: { pods: '1', 'requests.cpu': '500m' } });
    assert.deepEqual(type.table.cells(q, Date.parse('2024-05-01T12:00:00Z')), ['q', '60m', 'pods: 1/3, requests.cpu: 500m/1', 'limits.memory: 0/1Gi']);
    assert.deepEqual(type.table.columns.map((c) => c.name), ['Name', 'Age', 'Request', 'Limit']);
  });
});

describe('LimitRange', () => {
  const type = limitRangeType();
  const range = (limits: unknown[]): LimitRange => ({ apiVersion: 'v1', kind: 'LimitRange', metadata: { ...meta }, spec: { limits: limits as LimitRange['spec'] extends { limits?: infer L } ? L : never } });

  it("defaults a container item's default limit from max and its default request from the default, else the min", () => {
    const r = range([{ type: 'Container', max: { cpu: '2000m', memory: '1Gi' }, min: { memory: '64Mi', cpu: '100m' }, default: { memory: '512Mi' } }]);
    type.defaults(r);
    assert.deepEqual(r.spec!.limits![0], {
      type: 'Container',
      max: { cpu: '2', memory: '1Gi' },
      min: { memory: '64Mi', cpu: '100m' },
      default: { memory: '512Mi', cpu: '2' },
      defaultRequest: { memory: '512Mi', cpu: '2' },
    });
    const pod = range([{ type: 'Pod', max: { cpu: '4' } }]);
    type.defaults(pod);
    assert.deepEqual(pod.spec!.limits![0], { type: 'Pod', max: { cpu: '4' } });
  });

  it("refuses min > defaultRequest > default > max and bad ratios with Kubernetes' messages", () => {
    assert.deepEqual(errs(type, range([{ type: 'Container', min: { cpu: '2' }, max: { cpu: '1' } }])), ['spec.limits[0].min[cpu]: Invalid value: "2": min value 2 is greater than max value 1']);
    assert.deepEqual(errs(type, range([{ type: 'Container', default: { cpu: '500m' }, defaultRequest: { cpu: '800m' } }])), [
      'spec.limits[0].defaultRequest[cpu]: Invalid value: "800m": default request value 800m is greater than default limit value 500m',
    ]);
    assert.deepEqual(errs(type, range([{ type: 'Container', max: { cpu: '1' }, default: { cpu: '2' }, defaultRequest: { cpu: '1' } }])), [
      'spec.limits[0].default[cpu]: Invalid value: "1": default value 2 is greater than max value 1',
    ]);
    assert.deepEqual(errs(type, range([{ type: 'Container', min: { memory: '1Gi' }, defaultRequest: { memory: '512Mi' }, default: { memory: '2Gi' } }])), [
      'spec.limits[0].defaultRequest[memory]: Invalid value: "512Mi": min value 1Gi is greater than default request value 512Mi',
    ]);
    assert.deepEqual(errs(type, range([{ type: 'Pod', maxLimitRequestRatio: { cpu: '800m' } }])), ['spec.limits[0].maxLimitRequestRatio[cpu]: Invalid value: "800m": ratio 800m is less than 1']);
    assert.deepEqual(errs(type, range([{ type: 'Container', max: { memory: '2Gi' }, min: { memory: '512Mi' }, maxLimitRequestRatio: { memory: '10' } }])), [
      'spec.limits[0].maxLimitRequestRatio[memory]: Invalid value: "10": ratio 10 is greater than max/min = 4.000000',
    ]);
  });

  it('refuses defaults on Pod items, unknown types and resources, repeated types, and a claim item without storage', () => {
    assert.deepEqual(errs(type, range([{ type: 'Pod', default: { cpu: '1' } }, { type: 'Pod', max: { cpu: '2' } }, { type: 'Node', max: { cpu: '1' } }, { type: 'Container', max: { disk: '1' } }, { type: 'PersistentVolumeClaim', max: { cpu: '1' } }])), [
      "spec.limits[0].default: Forbidden: may not be specified when `type` is 'Pod'",
      'spec.limits[1].type: Duplicate value: "Pod"',
      'spec.limits[2].type: Unsupported value: "Node": supported values: "Container", "Pod", "PersistentVolumeClaim"',
      'spec.limits[3].max[disk]: Invalid value: "disk": must be a standard resource type or fully qualified',
      'spec.limits[4].limits: Required value: either minimum or maximum storage value is required, but neither was provided',
    ]);
    assert.deepEqual(errs(type, range([{ type: 'PersistentVolumeClaim', min: { storage: '1Gi' }, max: { storage: '10Gi' } }])), []);
  });

  it('prints NAME and CREATED AT', () => {
    assert.deepEqual(type.table.cells(range([]), 0), ['q', '2024-05-01T11:00:00Z']);
    assert.deepEqual(type.table.columns.map((c) => `${c.name}/${c.type}`), ['Name/string', 'Created At/date']);
  });
});
