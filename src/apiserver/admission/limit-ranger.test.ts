import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { limitRangeType, type LimitRange } from '../../api/core/v1/limit-range.js';
import type { Pod } from '../../api/core/v1/pod-types.js';
import { builtinResources } from '../../api/registry.js';
import type { ObjectStore } from '../../store/object-store.js';
import { ApiError } from '../status.js';
import type { AdmissionRequest } from './admission.js';
import { applyLimitDefaults, claimLimitViolations, LIMIT_RANGER_ANNOTATION, LimitRanger, podLimitViolations } from './limit-ranger.js';

type Res = { requests?: Record<string, string>; limits?: Record<string, string> };
const pod = (containers: Res[], init: Res[] = []): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', namespace: 'ns' },
  spec: {
    containers: containers.map((resources, i) => ({ name: `c${i}`, image: 'busybox', resources })),
    ...(init.length ? { initContainers: init.map((resources, i) => ({ name: `i${i}`, image: 'busybox', resources })) } : {}),
  },
  status: { phase: 'Pending', qosClass: 'BestEffort' },
});
/** A LimitRange as stored: defaulted like the API server does. */
const range = (name: string, limits: unknown[]): LimitRange => {
  const r = { apiVersion: 'v1', kind: 'LimitRange', metadata: { name, namespace: 'ns' }, spec: { limits } } as LimitRange;
  limitRangeType().defaults(r);
  return r;
};

describe('LimitRanger defaults', () => {
  it('fills only what each container leaves out, the first range winning, and says what it set', () => {
    const p = pod([{ requests: { cpu: '50m' } }, {}], [{ limits: { memory: '1Gi' } }]);
    const changed = applyLimitDefaults(p, [
      range('a', [{ type: 'Container', default: { cpu: '500m', memory: '256Mi' }, defaultRequest: { cpu: '100m', memory: '128Mi' } }]),
      range('b', [{ type: 'Container', default: { cpu: '2', 'ephemeral-storage': '1Gi' } }]),
    ]);
    assert.equal(changed, true);
    assert.deepEqual(p.spec.containers.map((c) => c.resources), [
      { requests: { cpu: '50m', memory: '128Mi', 'ephemeral-storage': '1Gi' }, limits: { cpu: '500m', memory: '256Mi', 'ephemeral-storage': '1Gi' } },
      { requests: { cpu: '100m', memory: '128Mi', 'ephemeral-storage': '1Gi' }, limits: { cpu: '500m', memory: '256Mi', 'ephemeral-storage': '1Gi' } },
    ]);
    assert.deepEqual(p.spec.initContainers![0]!.resources, { limits: { memory: '1Gi', cpu: '500m', 'ephemeral-storage': '1Gi' }, requests: { cpu: '100m', memory: '128Mi', 'ephemeral-storage': '1Gi' } });
    // The annotation tells what the last range that set anything set (Kubernetes overwrites it per range).
    assert.equal(p.metadata.annotations?.[LIMIT_RANGER_ANNOTATION], 'LimitRanger plugin set: ephemeral-storage request for container c0; ephemeral-storage limit for container c0; ephemeral-storage request for container c1; ephemeral-storage limit for container c1; ephemeral-storage request for init container i0; ephemeral-storage limit for init container i0');
    const first = pod([{}]);
    applyLimitDefaults(first, [range('a', [{ type: 'Container', default: { cpu: '500m' } }])]);
    assert.equal(first.metadata.annotations?.[LIMIT_RANGER_ANNOTATION], 'LimitRanger plugin set: cpu request for container c0; cpu limit for container c0');
  });

  it('changes nothing without container defaults', () => {
    const p = pod([{}]);
    assert.equal(applyLimitDefaults(p, [range('a', [{ type: 'Pod', max: { cpu: '1' } }])]), false);
    assert.deepEqual(p.spec.containers[0]!.resources, {});
    assert.equal(p.metadata.annotations, undefined);
  });
});

describe('LimitRanger limits', () => {
  it("holds each container to min, max and ratio with Kubernetes' words", () => {
    const r = range('r', [{ type: 'Container', min: { cpu: '100m' }, max: { cpu: '1', memory: '1Gi' }, maxLimitRequestRatio: { cpu: '4' } }]);
    assert.deepEqual(podLimitViolations(pod([{ requests: { cpu: '200m' }, limits: { cpu: '500m', memory: '512Mi' } }]), r), []);
    assert.deepEqual(podLimitViolations(pod([{ requests: { cpu: '50m' }, limits: { cpu: '2', memory: '2Gi' } }]), r), [
      'minimum cpu usage per Container is 100m, but request is 50m',
      'maximum cpu usage per Container is 1, but limit is 2',
      'maximum memory usage per Container is 1Gi, but limit is 2Gi',
      'cpu max limit to request ratio per Container is 4, but provided ratio is 40.000000',
    ]);
    assert.deepEqual(podLimitViolations(pod([{}]), range('m', [{ type: 'Pod', min: { memory: '64Mi' }, max: { cpu: '1' } }])), [
      'minimum memory usage per Pod is 64Mi.  No request is specified',
      'maximum cpu usage per Pod is 1.  No limit is specified',
    ]);
  });

  it('sums containers for Pod items, init containers taking the larger', () => {
    const r = range('r', [{ type: 'Pod', max: { cpu: '1' } }]);
    const p = pod([{ requests: { cpu: '400m' }, limits: { cpu: '600m' } }, { requests: { cpu: '300m' }, limits: { cpu: '500m' } }], [{ requests: { cpu: '800m' }, limits: { cpu: '900m' } }]);
    assert.deepEqual(podLimitViolations(p, r), ['maximum cpu usage per Pod is 1, but limit is 1100m']);
  });

  it("holds a claim's storage request to min and max", () => {
    const r = range('r', [{ type: 'PersistentVolumeClaim', min: { storage: '1Gi' }, max: { storage: '10Gi' } }]);
    const claim = (storage?: string) => ({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'c' }, spec: { resources: { requests: storage ? { storage } : {} } } });
    assert.deepEqual(claimLimitViolations(claim('5Gi'), r), []);
    assert.deepEqual(claimLimitViolations(claim('20Gi'), r), ['maximum storage usage per PersistentVolumeClaim is 10Gi, but request is 20Gi']);
    assert.deepEqual(claimLimitViolations(claim(), r), ['minimum storage usage per PersistentVolumeClaim is 1Gi.  No request is specified', 'maximum storage usage per PersistentVolumeClaim is 10Gi.  No request is specified']);
  });
});

describe('LimitRanger admission', () => {
  const pods = builtinResources().byResource('', 'pods')!;
  const plugin = (ranges: LimitRange[]) => new LimitRanger({ list: async () => ({ items: ranges, resourceVersion: '1' }) } as unknown as ObjectStore);
  const request = (p: Pod, operation: 'CREATE' | 'UPDATE' = 'CREATE'): AdmissionRequest => ({ user: { name: 'u', groups: [] }, operation, type: pods, namespace: 'ns', name: 'p', object: p, dryRun: false });

  it('defaults a new pod and sets its QoS class again', async () => {
    const p = pod([{}]);
    await plugin([range('r', [{ type: 'Container', default: { cpu: '1', memory: '1Gi' } }])]).mutate(request(p));
    assert.deepEqual(p.spec.containers[0]!.resources, { limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '1', memory: '1Gi' } });
    assert.equal(p.status?.qosClass, 'Guaranteed');
  });

  it('refuses a new pod out of range with 403, every violation of the range in one message, and leaves updates alone', async () => {
    const lr = plugin([range('r', [{ type: 'Container', max: { cpu: '1', memory: '1Gi' } }])]);
    const p = pod([{ requests: { cpu: '2', memory: '2Gi' }, limits: { cpu: '2', memory: '2Gi' } }]);
    await assert.rejects(lr.validate(request(p)), (err: unknown) => {
      assert.ok(err instanceof ApiError && err.reason === 'Forbidden');
      assert.equal(err.message, 'pods "p" is forbidden: [maximum cpu usage per Container is 1, but limit is 2, maximum memory usage per Container is 1Gi, but limit is 2Gi]');
      return true;
    });
    await lr.validate(request(p, 'UPDATE'));
    await lr.validate(request(pod([{ limits: { cpu: '1', memory: '1Gi' } }])));
  });
});
