/**
 * The DaemonSet and Job controllers against a real API server with fake nodes: one daemon pod per
 * eligible node, rolling updates within maxUnavailable, nodes joining and leaving the selection; Jobs
 * with completions and parallelism, backoffLimit, activeDeadlineSeconds and ttlSecondsAfterFinished.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { DaemonSet } from '../../../src/api/apps/v1/daemon-set.js';
import type { Job } from '../../../src/api/batch/v1/job.js';
import type { Pod } from '../../../src/api/core/v1/pod-types.js';
import { Informer } from '../../../src/client/informer.js';
import { DAEMONSETS, JOBS, NODES, PODS } from '../../../src/controllers/resources.js';
import { addNode, ControllerRig, eventually, namespace, setPodPhase } from './harness.js';

let rig: ControllerRig;
before(async () => {
  rig = await ControllerRig.start({ enabled: ['daemonset', 'job'], job: { backoffBaseMs: 50, backoffMaxMs: 200 } });
  for (const n of ['n1', 'n2', 'n3']) await addNode(rig.client, n, { zone: 'a' });
  await addNode(rig.client, 'n-tainted');
  await rig.client.patch(NODES, 'n-tainted', { spec: { taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] } }, 'merge');
});
after(async () => rig?.close());

const isActive = (p: Pod) => !p.metadata.deletionTimestamp && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed';
const isReady = (p: Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
const activePods = async (ns: string) => (await rig.client.list<Pod>(PODS, { namespace: ns })).items.filter(isActive);

test('DaemonSet: one pod per eligible node, rolling update within maxUnavailable, selection changes', async () => {
  const c = rig.client;
  const ns = await namespace(c, 'ds');
  const ds: DaemonSet = {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'agent', namespace: ns },
    spec: {
      selector: { matchLabels: { app: 'agent' } },
      template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'c', image: 'agent:1' }] } },
    },
  };
  await c.create(DAEMONSETS, ds);
  const pods = await eventually('a ready pod on each untainted node', async () => {
    const p = await activePods(ns);
    return p.length === 3 && p.every(isReady) ? p : undefined;
  });
  assert.deepEqual(pods.map((p) => p.spec.nodeName).sort(), ['n1', 'n2', 'n3']);
  assert.ok(pods[0]!.spec.tolerations?.some((t) => t.key === 'node.kubernetes.io/unreachable' && t.effect === 'NoExecute' && t.tolerationSeconds === undefined));
  assert.ok(pods[0]!.metadata.labels?.['controller-revision-hash']);
  await eventually('status', async () => {
    const s = (await c.get<DaemonSet>(DAEMONSETS, 'agent', { namespace: ns })).status;
    return s?.desiredNumberScheduled === 3 && s.currentNumberScheduled === 3 && s.numberReady === 3 && s.numberAvailable === 3 && s.updatedNumberScheduled === 3;
  });

  // Rolling update: on every pod event, at least 2 of 3 nodes keep an available daemon pod.
  const watch = new Informer<Pod>(c, PODS, { namespace: ns });
  const violations: string[] = [];
  const check = () => {
    if (!watch.hasSynced()) return;
    const nodes = new Set(watch.cache.list().filter((p) => isActive(p) && isReady(p)).map((p) => p.spec.nodeName));
    if (nodes.size < 2) violations.push(`only ${nodes.size} nodes served`);
  };
  watch.addHandlers({ add: check, update: check, delete: check });
  const stop = new AbortController();
  const done = watch.run(stop.signal);
  await watch.waitForSync();
  await c.patch(DAEMONSETS, 'agent', { spec: { template: { spec: { containers: [{ name: 'c', image: 'agent:2' }] } } } }, 'strategic', { namespace: ns });
  await eventually('all pods updated', async () => {
    const p = await activePods(ns);
    return p.length === 3 && p.every((x) => x.spec.containers[0]!.image === 'agent:2' && isReady(x));
  });
  stop.abort();
  await done;
  assert.deepEqual(violations, []);
  await eventually('updatedNumberScheduled=3', async () => (await c.get<DaemonSet>(DAEMONSETS, 'agent', { namespace: ns })).status?.updatedNumberScheduled === 3);

  // A node selector leaves n3 out (its pod goes); a new matching node gets one.
  await c.patch(DAEMONSETS, 'agent', { spec: { template: { spec: { nodeSelector: { zone: 'a' } } } } }, 'strategic', { namespace: ns });
  await c.patch(NODES, 'n3', { metadata: { labels: { zone: 'b' } } }, 'merge');
  await addNode(c, 'n4', { zone: 'a' });
  await eventually('pods on n1, n2, n4', async () => {
    const p = await activePods(ns);
    return JSON.stringify(p.map((x) => x.spec.nodeName).sort()) === JSON.stringify(['n1', 'n2', 'n4']) && p.every((x) => x.spec.nodeSelector?.zone === 'a');
  });
});

async function jobStatus(ns: string, name: string) {
  return (await rig.client.get<Job>(JOBS, name, { namespace: ns })).status ?? {};
}

const condition = (s: Job['status'], type: string) => s?.conditions?.find((c) => c.type === type && c.status === 'True');

function job(ns: string, name: string, spec: Partial<Job['spec']>): Job {
  return { apiVersion: 'batch/v1', kind: 'Job', metadata: { name, namespace: ns }, spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } }, ...spec } };
}

test('Job: completions with parallelism, then Complete', async () => {
  const c = rig.client;
  const ns = await namespace(c, 'job-ok');
  const created = await c.create(JOBS, job(ns, 'batch', { completions: 3, parallelism: 2 }));
  assert.deepEqual(
    created.spec.selector?.matchLabels,
    { 'batch.kubernetes.io/controller-uid': created.metadata.uid },
    'the server generates the selector from the new Job uid',
  );
  let maxActive = 0;
  for (let done = 0; done < 3; done++) {
    const running = await eventually(`running pods after ${done} succeeded`, async () => {
      const p = (await activePods(ns)).filter(isReady);
      return p.length === Math.min(2, 3 - done) ? p : undefined;
    });
    maxActive = Math.max(maxActive, (await activePods(ns)).length);
    await setPodPhase(c, running[0]!, 'Succeeded');
    await eventually(`succeeded=${done + 1}`, async () => (await jobStatus(ns, 'batch')).succeeded === done + 1);
  }
  const s = await eventually('Complete', async () => {
    const x = await jobStatus(ns, 'batch');
    return condition(x, 'Complete') ? x : undefined;
  });
  assert.equal(maxActive, 2);
  assert.equal(s.succeeded, 3);
  assert.equal(s.active, undefined);
  assert.ok(s.startTime && s.completionTime);
  const out = await rig.server.kubectl(['get', 'job', 'batch', '-n', ns, '--no-headers']);
  assert.match(out.stdout, /^batch\s+Complete\s+3\/3/);
});

test('Job: failures past backoffLimit fail it; activeDeadlineSeconds fails it; ttl deletes a finished Job', async () => {
  const c = rig.client;
  const ns = await namespace(c, 'job-fail');
  await c.create(JOBS, job(ns, 'flaky', { backoffLimit: 1 }));
  for (let i = 0; i < 2; i++) {
    const [p] = await eventually(`attempt ${i + 1} running`, async () => {
      const x = (await activePods(ns)).filter(isReady);
      return x.length === 1 ? x : undefined;
    });
    await setPodPhase(c, p!, 'Failed');
  }
  const s = await eventually('Failed', async () => {
    const x = await jobStatus(ns, 'flaky');
    return condition(x, 'Failed') ? x : undefined;
  });
  assert.equal(condition(s, 'Failed')!.reason, 'BackoffLimitExceeded');
  assert.equal(s.failed, 2);
  assert.equal((await activePods(ns)).length, 0);

  await c.create(JOBS, job(ns, 'slow', { activeDeadlineSeconds: 1 }));
  const d = await eventually('DeadlineExceeded', async () => {
    const x = await jobStatus(ns, 'slow');
    return condition(x, 'Failed') ? x : undefined;
  });
  assert.equal(condition(d, 'Failed')!.reason, 'DeadlineExceeded');
  await eventually('the slow job has no active pods', async () => (await c.list<Pod>(PODS, { namespace: ns, labelSelector: 'job-name=slow' })).items.filter(isActive).length === 0);

  await c.create(JOBS, job(ns, 'short-lived', { ttlSecondsAfterFinished: 0 }));
  const [p] = await eventually('short-lived running', async () => {
    const x = (await c.list<Pod>(PODS, { namespace: ns, labelSelector: 'job-name=short-lived' })).items.filter((y) => isActive(y) && isReady(y));
    return x.length === 1 ? x : undefined;
  });
  await setPodPhase(c, p!, 'Succeeded');
  await eventually('the finished Job is deleted, with its pods', async () => {
    const jobs = (await c.list<Job>(JOBS, { namespace: ns })).items.map((j) => j.metadata.name);
    const pods = (await c.list<Pod>(PODS, { namespace: ns, labelSelector: 'job-name=short-lived' })).items;
    return !jobs.includes('short-lived') && pods.length === 0;
  });
});
