/**
 * The scheduler through its client adapter against a real API server with fake nodes: pods are bound
 * through the binding subresource to nodes that fit (not to a tainted or cordoned one), a pod that fits
 * nowhere gets PodScheduled=False and a FailedScheduling event and is bound once a fitting node appears;
 * a pod of a RuntimeClass goes only to a node that reports its handler.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Event } from '../../../src/api/core/v1/event.js';
import type { Pod } from '../../../src/api/core/v1/pod-types.js';
import type { RestClient } from '../../../src/client/rest-client.js';
import { EVENTS, NODES, PODS } from '../../../src/controllers/resources.js';
import { startScheduler, type RunningScheduler } from '../../../src/scheduler/client-adapter.js';
import { TestServer } from '../apiserver/harness.js';
import { addNode, clientFor, controlPlaneFor, controlPlaneRefusals, eventually, namespace } from './harness.js';
import type { ControlPlaneClients } from '../../../src/cmd/control-plane-credentials.js';

let s: TestServer;
let client: RestClient;
let running: RunningScheduler;
let identities: ControlPlaneClients;
const abort = new AbortController();

before(async () => {
  s = await TestServer.start();
  client = await clientFor(s);
  await addNode(client, 'node-a');
  await addNode(client, 'node-b');
  await addNode(client, 'node-tainted');
  await client.patch(NODES, 'node-tainted', { spec: { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] } }, 'merge');
  await addNode(client, 'node-cordoned');
  await client.patch(NODES, 'node-cordoned', { spec: { unschedulable: true } }, 'merge');
  // The scheduler acts as system:kube-scheduler, as in `nubis server`.
  identities = await controlPlaneFor(s, abort.signal);
  running = startScheduler(identities.scheduler, abort.signal);
  await running.synced;
});
after(async () => {
  abort.abort();
  await running?.done;
  identities?.close();
  client?.close();
  const refused = s ? controlPlaneRefusals(s.dataDir) : [];
  await s?.close();
  assert.deepEqual(refused, [], 'RBAC refused the scheduler nothing');
});

const pod = (ns: string, name: string, extra: Partial<Pod['spec']> = {}): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: ns, labels: { app: 'spread' } },
  spec: { containers: [{ name: 'c', image: 'busybox', resources: { requests: { cpu: '100m' } } }], ...extra },
});

test('binds pods to the nodes that fit, spreading them', async () => {
  const ns = await namespace(client, 'sched-bind');
  for (let i = 0; i < 6; i++) await client.create(PODS, pod(ns, `p${i}`));
  const bound = await eventually('all 6 bound', async () => {
    const items = (await client.list<Pod>(PODS, { namespace: ns })).items;
    return items.every((p) => p.spec.nodeName) ? items : undefined;
  });
  const perNode: Record<string, number> = {};
  for (const p of bound) perNode[p.spec.nodeName!] = (perNode[p.spec.nodeName!] ?? 0) + 1;
  assert.deepEqual(Object.keys(perNode).sort(), ['node-a', 'node-b']);
  assert.deepEqual(Object.values(perNode), [3, 3]);
  const events = await eventually('Scheduled events', async () => {
    const evs = (await client.list<Event>(EVENTS, { namespace: ns })).items.filter((e) => e.reason === 'Scheduled');
    return evs.length === 6 ? evs : undefined;
  });
  assert.match(events[0]!.message ?? '', new RegExp(`^Successfully assigned ${ns}/p\\d to node-[ab]$`));
  assert.equal(running.scheduler.stats.bound >= 6, true);
});

test('an unschedulable pod is reported, then bound when a fitting node appears', async () => {
  const ns = await namespace(client, 'sched-wait');
  await client.create(PODS, pod(ns, 'picky', { nodeSelector: { disk: 'ssd' } }));
  const cond = await eventually('PodScheduled=False', async () => {
    const p = await client.get<Pod>(PODS, 'picky', { namespace: ns });
    return p.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
  });
  assert.equal(cond.reason, 'Unschedulable');
  assert.match(cond.message ?? '', /^0\/4 nodes are available/);
  await eventually('FailedScheduling event', async () => (await client.list<Event>(EVENTS, { namespace: ns })).items.some((e) => e.reason === 'FailedScheduling' && e.type === 'Warning'));
  await addNode(client, 'node-ssd', { disk: 'ssd' });
  const p = await eventually('bound to node-ssd', async () => {
    const x = await client.get<Pod>(PODS, 'picky', { namespace: ns });
    return x.spec.nodeName ? x : undefined;
  });
  assert.equal(p.spec.nodeName, 'node-ssd');
});

test('a pod of a RuntimeClass waits for a node that reports its handler', async () => {
  const ns = await namespace(client, 'sched-runtime');
  await client.create(PODS, pod(ns, 'secure', { runtimeClassName: 'nubis-microvm' }));
  const cond = await eventually('PodScheduled=False', async () => {
    const p = await client.get<Pod>(PODS, 'secure', { namespace: ns });
    return p.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
  });
  // The fake nodes report no handlers: they run runc only (the cordoned one is refused for that first).
  assert.match(cond.message ?? '', /^0\/\d nodes are available: .*\d node\(s\) didn't support runtime handler "nubis-microvm"/);
  await client.patch(NODES, 'node-b', { status: { runtimeHandlers: [{ name: 'runc' }, { name: 'nubis-microvm' }] } }, 'merge', { subresource: 'status' });
  const p = await eventually('bound to node-b', async () => {
    const x = await client.get<Pod>(PODS, 'secure', { namespace: ns });
    return x.spec.nodeName ? x : undefined;
  });
  assert.equal(p.spec.nodeName, 'node-b');
  assert.deepEqual(p.spec.overhead, { cpu: '50m', memory: '160Mi' });
});
