/**
 * Node lifecycle with the scheduler and the workload controllers: a node whose lease stops being renewed
 * turns Ready=Unknown with the unreachable taints, its pods are evicted after the (Nubis default)
 * toleration time and recreated on the other node, the evicted pods nobody finishes are removed after
 * their grace period, a pod tolerating the taint for longer stays, and when the lease is renewed again the
 * node is Ready and untainted. Short grace periods are configured so the test is quick.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Deployment } from '../../../src/api/apps/v1/deployment.js';
import type { Node } from '../../../src/api/core/v1/node.js';
import type { Pod } from '../../../src/api/core/v1/pod-types.js';
import { DEPLOYMENTS, NODES, PODS } from '../../../src/controllers/resources.js';
import { startScheduler, type RunningScheduler } from '../../../src/scheduler/client-adapter.js';
import { addNode, ControllerRig, eventually, namespace, renewLease } from './harness.js';

let rig: ControllerRig;
let scheduler: RunningScheduler;
const stopScheduler = new AbortController();
const alive = new Set(['n1', 'n2']);
let renewer: NodeJS.Timeout;

before(async () => {
  rig = await ControllerRig.start({
    enabled: ['replicaset', 'deployment', 'nodelifecycle'],
    nodeLifecycle: { nodeMonitorGracePeriodMs: 2000, nodeMonitorPeriodMs: 250, podEvictionTimeoutSeconds: 1 },
  });
  for (const n of alive) await addNode(rig.client, n);
  renewer = setInterval(() => {
    for (const n of alive) renewLease(rig.client, n).catch(() => undefined);
  }, 400);
  scheduler = startScheduler(rig.identities.scheduler, stopScheduler.signal);
  await scheduler.synced;
});
after(async () => {
  clearInterval(renewer);
  stopScheduler.abort();
  await scheduler?.done;
  await rig?.close();
});

const isActive = (p: Pod) => !p.metadata.deletionTimestamp && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed';
const readyCondition = (n: Node) => n.status?.conditions?.find((c) => c.type === 'Ready');

test('a node that stops renewing its lease goes NotReady, its pods move, and it recovers', async () => {
  const c = rig.client;
  const ns = await namespace(c, 'lifecycle');
  // The agent of a dead node finishes no deletions.
  rig.pods.finishDelete = (p) => alive.has(p.spec.nodeName ?? '');
  const d: Deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: ns },
    spec: {
      replicas: 4,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image: 'nginx' }] } },
    },
  };
  await c.create(DEPLOYMENTS, d);
  const placed = await eventually('4 pods bound and ready', async () => {
    const pods = (await c.list<Pod>(PODS, { namespace: ns })).items.filter(isActive);
    const ok = pods.length === 4 && pods.every((p) => p.spec.nodeName && p.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True'));
    return ok ? pods : undefined;
  }, 30_000);
  assert.ok(placed.some((p) => p.spec.nodeName === 'n1'), 'some pods run on n1');
  // A pod that tolerates an unreachable node for an hour, as its author wrote.
  await c.create(PODS, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'patient', namespace: ns },
    spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'nginx' }], tolerations: [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 3600 }] },
  } as Pod);

  alive.delete('n1');
  const down = await eventually('n1 NotReady and tainted', async () => {
    const n = await c.get<Node>(NODES, 'n1');
    const keys = (n.spec?.taints ?? []).map((t) => `${t.key}:${t.effect}`).sort();
    return readyCondition(n)?.status === 'Unknown' && keys.join() === 'node.kubernetes.io/unreachable:NoExecute,node.kubernetes.io/unreachable:NoSchedule' ? n : undefined;
  }, 15_000);
  assert.equal(readyCondition(down)?.reason, 'NodeStatusUnknown');
  assert.equal((await c.get<Node>(NODES, 'n2')).spec?.taints, undefined, 'the live node stays untainted');

  await eventually('the deployment runs 4 ready pods on n2 and none remain on n1', async () => {
    const pods = (await c.list<Pod>(PODS, { namespace: ns, labelSelector: 'app=web' })).items;
    const dep = await c.get<Deployment>(DEPLOYMENTS, 'web', { namespace: ns });
    return pods.length === 4 && pods.every((p) => p.spec.nodeName === 'n2' && isActive(p)) && dep.status?.availableReplicas === 4;
  }, 30_000);
  const patient = await c.get<Pod>(PODS, 'patient', { namespace: ns });
  assert.equal(patient.metadata.deletionTimestamp, undefined, 'a pod tolerating for an hour is not evicted');

  alive.add('n1');
  const up = await eventually('n1 Ready again without taints', async () => {
    const n = await c.get<Node>(NODES, 'n1');
    return readyCondition(n)?.status === 'True' && !n.spec?.taints?.length ? n : undefined;
  }, 15_000);
  assert.equal(readyCondition(up)?.reason, 'KubeletReady');
  rig.pods.finishDelete = () => true;
});
