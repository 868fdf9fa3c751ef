import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Pod, PodCondition } from '../api/core/v1/pod-types.js';
import { notFound, unavailable } from '../lib/errors.js';
import { type Binder, Scheduler } from './scheduler.js';
import { testNode, testPod } from './test-objects.js';

/** A scheduler wired to in-memory fakes: bindings are recorded and confirmed by a pod update, as an informer would. */
function harness(opts: { failBinds?: (pod: Pod) => Error | undefined; now?: () => number } = {}) {
  const bound = new Map<string, string>();
  const events: Array<{ pod: string; message: string }> = [];
  const conditions: Array<{ pod: string; condition: PodCondition }> = [];
  let scheduler: Scheduler;
  const binder: Binder = {
    async bind(pod, nodeName) {
      await new Promise((r) => setImmediate(r)); // the API round trip
      const err = opts.failBinds?.(pod);
      if (err) throw err;
      bound.set(pod.metadata.name, nodeName);
      scheduler.onPodUpdate(pod, { ...pod, spec: { ...pod.spec, nodeName } });
    },
  };
  scheduler = new Scheduler({
    binder,
    recorder: { podUnschedulable: (pod, message) => events.push({ pod: pod.metadata.name, message }) },
    statusUpdater: { setPodCondition: async (pod, condition) => void conditions.push({ pod: pod.metadata.name, condition }) },
    queue: { now: opts.now, initialBackoffMs: 1000 },
    random: () => 0.5,
  });
  return { scheduler, bound, events, conditions };
}

const perNode = (bound: Map<string, string>) => {
  const counts: Record<string, number> = {};
  for (const n of bound.values()) counts[n] = (counts[n] ?? 0) + 1;
  return counts;
};

describe('Scheduler', () => {
  it('binds pending pods, counting assumed pods before their bindings complete', async () => {
    const { scheduler, bound } = harness();
    scheduler.onNodeAdd(testNode('n1', { cpu: '2' }));
    scheduler.onNodeAdd(testNode('n2', { cpu: '2' }));
    for (let i = 0; i < 4; i++) scheduler.onPodAdd(testPod(`p${i}`, { cpu: '1' }));
    // All four cycles run before any binding resolves: only assumption keeps them off full nodes.
    for (let i = 0; i < 4; i++) assert.equal(scheduler.scheduleOne()?.kind, 'scheduled');
    assert.equal(bound.size, 0);
    await scheduler.bindingsSettled();
    assert.deepEqual(perNode(bound), { n1: 2, n2: 2 });
    assert.equal(scheduler.snapshot.get('n1')!.requested.milliCpu, 2000);
    assert.equal(scheduler.snapshot.isAssumed('default/p0'), false);
  });

  it('leaves a pod that fits nowhere pending with a FailedScheduling event and condition, and retries it when a node is added', async () => {
    let now = 1e12;
    const { scheduler, bound, events, conditions } = harness({ now: () => now });
    scheduler.onNodeAdd(testNode('small', { cpu: '1' }));
    scheduler.onNodeAdd(testNode('gpu', { taints: [{ key: 'gpu', value: 'true', effect: 'NoSchedule' }] }));
    scheduler.onPodAdd(testPod('big', { cpu: '2' }));
    await scheduler.runUntilIdle();
    assert.equal(bound.size, 0);
    const message = '0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {gpu: true}.';
    assert.deepEqual(events, [{ pod: 'big', message }]);
    assert.equal(conditions.length, 1);
    assert.deepEqual({ ...conditions[0]!.condition, lastTransitionTime: undefined }, {
      type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message, lastProbeTime: null, lastTransitionTime: undefined,
    });
    assert.equal(scheduler.queue.whereIs('default/big'), 'unschedulable');

    // A heartbeat (conditions only) helps nobody; a bigger node does.
    const hb = testNode('small', { cpu: '1' });
    hb.status!.conditions![0]!.lastHeartbeatTime = new Date().toISOString();
    scheduler.onNodeUpdate(hb);
    assert.equal(scheduler.queue.whereIs('default/big'), 'unschedulable');
    now += 1000; // past the first backoff
    scheduler.onNodeAdd(testNode('large', { cpu: '8' }));
    assert.equal(scheduler.queue.whereIs('default/big'), 'active');
    await scheduler.runUntilIdle();
    assert.deepEqual([...bound], [['big', 'large']]);
  });

  it('does not rewrite an unchanged PodScheduled condition', async () => {
    const { scheduler, conditions, events } = harness({ now: () => 1e12 });
    scheduler.onNodeAdd(testNode('n', { cpu: '1' }));
    const pod = testPod('big', { cpu: '2' });
    scheduler.onPodAdd(pod);
    await scheduler.runUntilIdle();
    const written = { ...pod, status: { ...pod.status, conditions: [conditions[0]!.condition] } };
    scheduler.onPodUpdate(pod, written); // the status write comes back as an update: no retry
    assert.equal(scheduler.queue.whereIs('default/big'), 'unschedulable');
    scheduler.onPodUpdate(written, { ...written, spec: { ...written.spec, containers: [{ name: 'app', resources: { requests: { cpu: '2' } } }], priority: 1 } });
    assert.equal(scheduler.queue.whereIs('default/big'), 'backoff');
    scheduler.queue.onEvent('NodeAdd');
    assert.equal(events.length, 1);
    assert.equal(conditions.length, 1);
  });

  it('retries a pod waiting for room when an assigned pod is deleted', async () => {
    let now = 1e12;
    const { scheduler, bound } = harness({ now: () => now });
    scheduler.onNodeAdd(testNode('n', { cpu: '2' }));
    scheduler.onPodAdd(testPod('first', { cpu: '2' }));
    scheduler.onPodAdd(testPod('second', { cpu: '2' }));
    await scheduler.runUntilIdle();
    assert.deepEqual([...bound.keys()], ['first']);
    assert.equal(scheduler.queue.whereIs('default/second'), 'unschedulable');
    now += 2000;
    scheduler.onPodDelete(testPod('first', { cpu: '2', nodeName: 'n' }));
    assert.equal(scheduler.queue.whereIs('default/second'), 'active');
    await scheduler.runUntilIdle();
    assert.equal(bound.get('second'), 'n');
  });

  it('forgets an assumed pod whose binding fails and retries it after its backoff', async () => {
    let now = 1e12;
    let fail = true;
    const { scheduler, bound, events, conditions } = harness({ now: () => now, failBinds: () => (fail ? unavailable('apiserver is restarting') : undefined) });
    scheduler.onNodeAdd(testNode('n', { cpu: '2' }));
    scheduler.onPodAdd(testPod('p', { cpu: '2' }));
    await scheduler.runUntilIdle();
    assert.equal(bound.size, 0);
    assert.equal(scheduler.snapshot.get('n')!.requested.milliCpu, 0);
    assert.equal(scheduler.queue.whereIs('default/p'), 'backoff');
    assert.match(events[0]!.message, /^Binding rejected: .*apiserver is restarting/);
    assert.equal(conditions[0]?.condition.reason, 'SchedulerError');
    fail = false;
    now += 1000;
    scheduler.queue.flush();
    await scheduler.runUntilIdle();
    assert.equal(bound.get('p'), 'n');
  });

  it('drops a pod whose binding fails because it was deleted', async () => {
    const { scheduler } = harness({ failBinds: () => notFound('pods "p" not found') });
    scheduler.onNodeAdd(testNode('n'));
    scheduler.onPodAdd(testPod('p'));
    await scheduler.runUntilIdle();
    assert.equal(scheduler.queue.whereIs('default/p'), undefined);
    assert.equal(scheduler.snapshot.get('n')!.podCount, 0);
  });

  it("spreads one owner's pods across equal nodes", async () => {
    const { scheduler, bound } = harness();
    for (const n of ['n1', 'n2', 'n3']) scheduler.onNodeAdd(testNode(n));
    for (let i = 0; i < 9; i++) scheduler.onPodAdd(testPod(`web-${i}`, { owner: 'web-5d8f', labels: { app: 'web' } }));
    await scheduler.runUntilIdle();
    assert.deepEqual(perNode(bound), { n1: 3, n2: 3, n3: 3 });
  });

  it('keeps pods with hostname anti-affinity on separate nodes and explains the one left over', async () => {
    const { scheduler, bound, events } = harness({ now: () => 1e12 });
    for (const n of ['n1', 'n2']) scheduler.onNodeAdd(testNode(n));
    const anti = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'etcd' } }, topologyKey: 'kubernetes.io/hostname' }] } };
    for (let i = 0; i < 3; i++) scheduler.onPodAdd(testPod(`etcd-${i}`, { labels: { app: 'etcd' }, spec: { affinity: anti } }));
    await scheduler.runUntilIdle();
    assert.deepEqual(perNode(bound), { n1: 1, n2: 1 });
    // The placed pods' own anti-affinity is checked first, as in Kubernetes.
    assert.deepEqual(events.map((e) => e.message), ["0/2 nodes are available: 2 node(s) didn't satisfy existing pods anti-affinity rules."]);
  });

  it('ignores pods for other schedulers and tracks pods bound elsewhere', async () => {
    const { scheduler, bound } = harness();
    scheduler.onNodeAdd(testNode('n', { cpu: '2' }));
    scheduler.onPodAdd(testPod('other', { spec: { schedulerName: 'my-scheduler' } }));
    scheduler.onPodAdd(testPod('static', { cpu: '1500m', nodeName: 'n' }));
    assert.equal(scheduler.queue.whereIs('default/other'), undefined);
    assert.equal(scheduler.snapshot.get('n')!.requested.milliCpu, 1500);
    scheduler.onPodAdd(testPod('p', { cpu: '1' }));
    await scheduler.runUntilIdle();
    assert.equal(bound.size, 0);
    // The static pod finishes: a terminal pod no longer holds its requests.
    const done = testPod('static', { cpu: '1500m', nodeName: 'n' });
    done.status = { phase: 'Succeeded' };
    scheduler.onPodUpdate(testPod('static', { cpu: '1500m', nodeName: 'n' }), done);
    assert.equal(scheduler.snapshot.get('n')!.requested.milliCpu, 0);
  });

  it("places a pod of a RuntimeClass only where its handler runs, counting the class's overhead", async () => {
    let now = 1e12;
    const { scheduler, bound, events } = harness({ now: () => now });
    const secure = { apiVersion: 'node.k8s.io/v1', kind: 'RuntimeClass', metadata: { name: 'secure' }, handler: 'nubis-microvm' };
    scheduler.onNodeAdd(testNode('n', { cpu: '1' }));
    // As admitted: the class's overhead is in the pod (750m + 250m fills the node exactly).
    const vm = testPod('vm', { cpu: '750m', spec: { runtimeClassName: 'secure', overhead: { cpu: '250m', memory: '160Mi' } } });
    scheduler.onPodAdd(vm);
    await scheduler.runUntilIdle();
    assert.deepEqual(events.map((e) => e.message), ['0/1 nodes are available: 1 RuntimeClass "secure" not found.']);
    now += 1000;
    scheduler.onRuntimeClassAdd(secure);
    await scheduler.runUntilIdle();
    assert.equal(events[1]?.message, '0/1 nodes are available: 1 node(s) didn\'t support runtime handler "nubis-microvm".');
    assert.equal(scheduler.queue.whereIs('default/vm'), 'unschedulable');
    // The node's agent starts reporting the handler: the pod is retried and fits.
    now += 2000;
    const upgraded = testNode('n', { cpu: '1' });
    upgraded.status!.runtimeHandlers = [{ name: 'runc' }, { name: 'nubis-microvm' }];
    scheduler.onNodeUpdate(upgraded);
    assert.equal(scheduler.queue.whereIs('default/vm'), 'active');
    await scheduler.runUntilIdle();
    assert.equal(bound.get('vm'), 'n');
    assert.equal(scheduler.snapshot.get('n')!.requested.milliCpu, 1000);
    assert.equal(scheduler.snapshot.get('n')!.requested.memory, 160 * 2 ** 20);
  });

  it('runs until aborted, scheduling pods as they arrive', async () => {
    const { scheduler, bound } = harness();
    const ac = new AbortController();
    const running = scheduler.run(ac.signal);
    scheduler.onNodeAdd(testNode('n'));
    scheduler.onPodAdd(testPod('late'));
    for (let i = 0; i < 50 && !bound.size; i++) await new Promise((r) => setTimeout(r, 5));
    ac.abort();
    await running;
    assert.equal(bound.get('late'), 'n');
  });
});
