/**
 * Endpoints and EndpointSlices from Services and pods: ready pods under addresses, others under
 * notReadyAddresses (conditions.ready=false in slices), named targetPorts resolved per pod (pods that
 * number the port differently form their own subset and slice), deletions followed, and the objects
 * removed with the Service.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Endpoints } from '../../../src/api/core/v1/endpoints.js';
import type { Pod } from '../../../src/api/core/v1/pod-types.js';
import type { EndpointSlice } from '../../../src/api/discovery/v1/endpoint-slice.js';
import { ENDPOINTS, ENDPOINTSLICES, PODS, SERVICES } from '../../../src/controllers/resources.js';
import { ControllerRig, eventually, namespace, setPodReady } from './harness.js';

let rig: ControllerRig;
before(async () => {
  rig = await ControllerRig.start({ enabled: ['endpoints', 'endpointslice'] });
});
after(async () => rig?.close());

const pod = (ns: string, name: string, port: number): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: ns, labels: { app: 'web' } },
  spec: { containers: [{ name: 'c', image: 'nginx', ports: [{ name: 'http-alt', containerPort: port }] }] },
});

async function endpoints(ns: string): Promise<Endpoints | undefined> {
  return rig.client.get<Endpoints>(ENDPOINTS, 'web', { namespace: ns }).catch(() => undefined);
}
async function slices(ns: string): Promise<EndpointSlice[]> {
  return (await rig.client.list<EndpointSlice>(ENDPOINTSLICES, { namespace: ns, labelSelector: 'kubernetes.io/service-name=web' })).items;
}
const addrs = (e: Endpoints | undefined, field: 'addresses' | 'notReadyAddresses') => (e?.subsets ?? []).flatMap((s) => (s[field] ?? []).map((a) => a.targetRef?.name)).sort();

test('endpoints and slices follow pod readiness, IPs and named ports', async () => {
  const c = rig.client;
  const ns = await namespace(c, 'ep');
  rig.pods.policy = (p) => p.metadata.namespace !== ns; // this test sets readiness itself
  await c.create(SERVICES, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: ns, labels: { tier: 'front' } }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http-alt' }] } });
  const a = await c.create<Pod>(PODS, pod(ns, 'a', 8080));
  const b = await c.create<Pod>(PODS, pod(ns, 'b', 8080));
  const odd = await c.create<Pod>(PODS, pod(ns, 'odd', 9090));
  // Without an IP a pod is not an endpoint yet; the Service still gets its (empty) Endpoints and a slice.
  await eventually('empty endpoints and one empty slice', async () => {
    const e = await endpoints(ns);
    const s = await slices(ns);
    return e && (e.subsets ?? []).length === 0 && s.length === 1 && (s[0]!.endpoints ?? []).length === 0;
  });
  const ready = await setPodReady(c, a, true);
  await setPodReady(c, b, false);
  await setPodReady(c, odd, true);
  const e = await eventually('a ready, b not ready, odd in its own subset', async () => {
    const x = await endpoints(ns);
    return JSON.stringify(addrs(x, 'addresses')) === '["a","odd"]' && JSON.stringify(addrs(x, 'notReadyAddresses')) === '["b"]' ? x : undefined;
  });
  assert.equal(e.metadata.labels?.tier, 'front');
  const byPort = new Map(e.subsets!.map((s) => [s.ports?.[0]?.port, s]));
  assert.deepEqual([...byPort.keys()].sort(), [8080, 9090]);
  assert.deepEqual(byPort.get(8080)!.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
  assert.equal(byPort.get(8080)!.addresses![0]!.ip, ready.status!.podIP);

  const s = await eventually('two slices, by port', async () => {
    const x = await slices(ns);
    return x.length === 2 && x.every((sl) => (sl.endpoints ?? []).length > 0) ? x : undefined;
  });
  const s8080 = s.find((x) => x.ports?.[0]?.port === 8080)!;
  assert.equal(s8080.addressType, 'IPv4');
  assert.equal(s8080.metadata.labels?.['endpointslice.kubernetes.io/managed-by'], 'endpointslice-controller.k8s.io');
  assert.equal(s8080.metadata.ownerReferences?.[0]?.kind, 'Service');
  const cond = Object.fromEntries((s8080.endpoints ?? []).map((x) => [x.targetRef?.name, x.conditions?.ready]));
  assert.deepEqual(cond, { a: true, b: false });

  // b becomes ready, a is deleted.
  await setPodReady(c, (await c.get<Pod>(PODS, 'b', { namespace: ns })), true);
  await c.delete(PODS, 'a', { namespace: ns });
  await eventually('b ready, a gone', async () => {
    const x = await endpoints(ns);
    const sl = await slices(ns);
    const sliceReady = sl.flatMap((y) => y.endpoints ?? []).filter((y) => y.conditions?.ready).map((y) => y.targetRef?.name).sort();
    return JSON.stringify(addrs(x, 'addresses')) === '["b","odd"]' && addrs(x, 'notReadyAddresses').length === 0 && JSON.stringify(sliceReady) === '["b","odd"]';
  });

  // Deleting the Service removes its Endpoints and slices.
  await c.delete(SERVICES, 'web', { namespace: ns });
  await eventually('endpoints and slices gone', async () => !(await endpoints(ns)) && (await slices(ns)).length === 0);
  rig.pods.policy = () => true;
});
