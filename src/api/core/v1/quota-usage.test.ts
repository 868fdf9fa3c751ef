import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../meta.js';
import { Quantity } from '../../quantity.js';
import { resourceList } from './pod-resources.js';
import type { Pod } from './pod-types.js';
import { countUsage, exceededQuota, formatResourceList, missingCompute, quotaCovers, quotaUsage, resourcesCounted, subtractNonNegative } from './quota-usage.js';

const PODS = { group: '', resource: 'pods' };
const SERVICES = { group: '', resource: 'services' };
type Res = { requests?: Record<string, string>; limits?: Record<string, string> };
const pod = (name: string, containers: Res[], extra: Partial<Pod['spec']> = {}, status: Pod['status'] = {}): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'ns' },
  spec: { containers: containers.map((resources, i) => ({ name: `c${i}`, image: 'busybox', resources })), ...extra },
  status,
});
const shown = (o: Record<string, Quantity>) => formatResourceList(o);

describe('quota usage', () => {
  it("counts a pod's compute like Kubernetes: containers and sidecars add up, init containers take the larger, requests and the limits set add overhead", () => {
    const p = pod('p', [{ requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '200m', memory: '64Mi' } }, { requests: { cpu: '200m', 'example.com/gpu': '1' } }], {
      initContainers: [
        { name: 'sidecar', image: 'b', restartPolicy: 'Always', resources: { requests: { cpu: '50m' } } },
        { name: 'setup', image: 'b', resources: { requests: { cpu: '1', memory: '32Mi' } } },
      ],
      overhead: { cpu: '10m' },
    });
    // setup runs beside the sidecar (1 + 50m), more than containers and sidecar together (350m); + 10m overhead,
    // which adds to the CPU limit too (the pod sets one) but not to memory's (no overhead of memory).
    assert.deepEqual(shown(quotaUsage(PODS, p)), {
      'count/pods': '1', pods: '1', cpu: '1060m', 'requests.cpu': '1060m', memory: '64Mi', 'requests.memory': '64Mi', 'limits.cpu': '210m', 'limits.memory': '64Mi', 'requests.example.com/gpu': '1',
    });
  });

  it('stops counting compute of ended pods and of pods past their deletion grace period, but counts them as stored objects', () => {
    const used = (p: Pod, now?: number) => Object.keys(quotaUsage(PODS, p, now)).sort();
    assert.deepEqual(used(pod('a', [{ requests: { cpu: '1' } }], {}, { phase: 'Succeeded' })), ['count/pods']);
    const deleting = pod('b', [{ requests: { cpu: '1' } }]);
    deleting.metadata.deletionTimestamp = '2024-05-01T12:00:00Z';
    deleting.metadata.deletionGracePeriodSeconds = 30;
    assert.deepEqual(used(deleting, Date.parse('2024-05-01T12:00:10Z')), ['count/pods', 'cpu', 'pods', 'requests.cpu']);
    assert.deepEqual(used(deleting, Date.parse('2024-05-01T12:00:31Z')), ['count/pods']);
  });

  it('counts node ports and load balancers of Services, and objects of any kind', () => {
    const svc = (type: string, ports: number, allocate?: boolean): KubeObject => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { type, ports: Array.from({ length: ports }, (_, i) => ({ port: 80 + i, ...(i === 0 ? { nodePort: 30000 } : {}) })), ...(allocate === undefined ? {} : { allocateLoadBalancerNodePorts: allocate }) } });
    assert.deepEqual(shown(quotaUsage(SERVICES, svc('ClusterIP', 2))), { services: '1', 'count/services': '1' });
    assert.deepEqual(shown(quotaUsage(SERVICES, svc('NodePort', 2))), { services: '1', 'count/services': '1', 'services.nodeports': '2' });
    assert.deepEqual(shown(quotaUsage(SERVICES, svc('LoadBalancer', 3, false))), { services: '1', 'count/services': '1', 'services.nodeports': '1', 'services.loadbalancers': '1' });
    assert.deepEqual(shown(quotaUsage({ group: 'apps', resource: 'deployments' }, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' } })), { 'count/deployments.apps': '1' });
    assert.deepEqual(shown(quotaUsage({ group: '', resource: 'configmaps' }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } })), { 'count/configmaps': '1', configmaps: '1' });
    assert.deepEqual(resourcesCounted('count/deployments.apps'), { group: 'apps', resource: 'deployments' });
    assert.deepEqual(resourcesCounted('limits.memory'), PODS);
    assert.deepEqual(resourcesCounted('services.nodeports'), SERVICES);
    assert.deepEqual(resourcesCounted('secrets'), { group: '', resource: 'secrets' });
    assert.equal(resourcesCounted('namespaces'), undefined);
  });

  it('applies scoped quotas only to the pods their scopes select', () => {
    const bestEffort = pod('be', [{}]);
    const burstable = pod('bu', [{ requests: { cpu: '100m' } }], { activeDeadlineSeconds: 60, priorityClassName: 'high' });
    const covers = (spec: Parameters<typeof quotaCovers>[0], p: KubeObject, gr = PODS) => quotaCovers(spec, gr, p);
    assert.equal(covers({ hard: { pods: '1' }, scopes: ['BestEffort'] }, bestEffort), true);
    assert.equal(covers({ hard: { pods: '1' }, scopes: ['BestEffort'] }, burstable), false);
    assert.equal(covers({ hard: { pods: '1' }, scopes: ['NotBestEffort', 'Terminating'] }, burstable), true);
    assert.equal(covers({ hard: { pods: '1' }, scopes: ['NotTerminating'] }, burstable), false);
    const prio = (operator: string, values?: string[]) => ({ hard: { pods: '1' }, scopeSelector: { matchExpressions: [{ scopeName: 'PriorityClass', operator, values }] } });
    assert.deepEqual([covers(prio('In', ['high']), burstable), covers(prio('In', ['high']), bestEffort)], [true, false]);
    assert.deepEqual([covers(prio('NotIn', ['high']), burstable), covers(prio('NotIn', ['high']), bestEffort)], [false, true]);
    assert.deepEqual([covers(prio('Exists'), burstable), covers(prio('DoesNotExist'), burstable)], [true, false]);
    const affinity = pod('x', [{}], { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'k', namespaceSelector: {} }] } } });
    const cross = { hard: { pods: '1' }, scopeSelector: { matchExpressions: [{ scopeName: 'CrossNamespacePodAffinity', operator: 'Exists' }] } };
    assert.deepEqual([covers(cross, affinity), covers(cross, bestEffort)], [true, false]);
    // A quota limiting nothing pods use, or a scoped quota and anything but a pod, does not apply.
    assert.equal(covers({ hard: { configmaps: '1' } }, bestEffort), false);
    assert.equal(covers({ hard: { services: '1' }, scopes: ['BestEffort'] }, { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' } }, SERVICES), false);
  });

  it("words refusals as Kubernetes does: what each container must state, and what exceeds which limit", () => {
    const p = pod('p', [{ requests: { cpu: '1' } }, {}]);
    assert.equal(missingCompute(p, ['requests.cpu', 'limits.memory', 'pods']), 'must specify limits.memory for: c0,c1; requests.cpu for: c1');
    assert.equal(missingCompute(p, ['pods', 'count/pods']), undefined);
    const l = (m: Record<string, string>) => resourceList(m);
    assert.equal(exceededQuota('compute', l({ 'requests.cpu': '500m', pods: '1' }), l({ 'requests.cpu': '800m', pods: '1' }), l({ 'requests.cpu': '1', pods: '10' })), 'exceeded quota: compute, requested: requests.cpu=500m, used: requests.cpu=800m, limited: requests.cpu=1');
    assert.equal(exceededQuota('compute', l({ 'requests.cpu': '200m' }), l({ 'requests.cpu': '800m' }), l({ 'requests.cpu': '1' })), undefined);
    assert.deepEqual(shown(subtractNonNegative(l({ 'services.nodeports': '2', services: '1' }), l({ 'services.nodeports': '3', services: '1' }))), { 'services.nodeports': '0', services: '0' });
  });

  it('sums what the objects a quota covers use, with zero for what nothing uses', async () => {
    const pods = [pod('a', [{ requests: { cpu: '250m' } }]), pod('b', [{}]), pod('c', [{ requests: { cpu: '1' } }], {}, { phase: 'Failed' })];
    const listed: string[] = [];
    const list = async (gr: { group: string; resource: string }) => {
      listed.push(`${gr.group}/${gr.resource}`);
      return gr.resource === 'pods' ? pods : [];
    };
    const used = await countUsage({ hard: { pods: '5', 'requests.cpu': '2', 'count/pods': '9', configmaps: '3', 'count/widgets.example.com': '1' } }, ['pods', 'requests.cpu', 'count/pods', 'configmaps', 'count/widgets.example.com'], list);
    assert.deepEqual(shown(used), { pods: '2', 'requests.cpu': '250m', 'count/pods': '3', configmaps: '0', 'count/widgets.example.com': '0' });
    assert.deepEqual(listed.sort(), ['/configmaps', '/pods', 'example.com/widgets']);
    const scoped = await countUsage({ hard: { pods: '5' }, scopes: ['BestEffort'] }, ['pods'], list);
    assert.deepEqual(shown(scoped), { pods: '1' });
    assert.equal(Quantity.ZERO.toString(), '0');
  });
});
