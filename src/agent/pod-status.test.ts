import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Pod } from '../api/core/v1/pod-types.js';
import { computePodStatus, type ContainerRun, type ContainerView, type PodStatusInput } from './pod-status.js';

const T0 = new Date('2025-03-01T10:00:00Z');
const T1 = new Date('2025-03-01T10:00:05Z');
const NOW = new Date('2025-03-01T10:01:00Z');

function pod(restartPolicy: 'Always' | 'OnFailure' | 'Never' = 'Always', init: string[] = []): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'api-0', namespace: 'default', uid: 'u-1' },
    spec: { restartPolicy, nodeName: 'n1', containers: [{ name: 'app', image: 'busybox' }], initContainers: init.map((name) => ({ name, image: 'busybox' })) },
    status: { phase: 'Pending', qosClass: 'BestEffort' },
  };
}

const running = (id = 'c2', restartCount = 0): ContainerRun => ({ id, restartCount, imageID: 'sha256:img', state: { status: 'running', startedAt: T1, oomKilled: false } });
const exited = (code: number, id = 'c1', restartCount = 0, oomKilled = false): ContainerRun => ({
  id, restartCount, imageID: 'sha256:img', state: { status: 'exited', exitCode: code, startedAt: T0, finishedAt: T1, oomKilled },
});
const view = (v: Partial<ContainerView> & { name?: string } = {}): ContainerView => ({ name: 'app', image: 'busybox', ready: true, started: true, ...v });

function input(p: Pod, containers: ContainerView[], init: ContainerView[] = []): PodStatusInput {
  return { pod: p, containers, init, sandboxReady: true, hostIP: '127.0.0.1', startTime: '2025-03-01T09:59:59Z', now: NOW };
}

test('a running, ready container: Running, Ready, lastState from the previous run, containerID and restart count', () => {
  const s = computePodStatus(input(pod(), [view({ current: running('c2', 1), previous: exited(1) })]));
  assert.equal(s.phase, 'Running');
  const cs = s.containerStatuses![0]!;
  assert.deepEqual(cs.state, { running: { startedAt: '2025-03-01T10:00:05Z' } });
  assert.equal(cs.lastState?.terminated?.exitCode, 1);
  assert.equal(cs.lastState?.terminated?.reason, 'Error');
  assert.equal(cs.restartCount, 1);
  assert.equal(cs.containerID, 'nubis://c2');
  assert.equal(cs.ready, true);
  assert.equal(cs.started, true);
  assert.deepEqual(
    s.conditions!.map((c) => [c.type, c.status]),
    [['PodReadyToStartContainers', 'True'], ['Initialized', 'True'], ['Ready', 'True'], ['ContainersReady', 'True'], ['PodScheduled', 'True']],
  );
  assert.equal(s.podIP, undefined, 'no pod IP until networking assigns one');
  assert.equal(s.qosClass, 'BestEffort');
});

test('CrashLoopBackOff: waiting with the last run as lastState; the pod stays Running under Always', () => {
  const s = computePodStatus(input(pod(), [view({ current: exited(2, 'c3', 3), waiting: { reason: 'CrashLoopBackOff', message: 'back-off 20s' } })]));
  const cs = s.containerStatuses![0]!;
  assert.deepEqual(cs.state, { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 20s' } });
  assert.equal(cs.lastState?.terminated?.exitCode, 2);
  assert.equal(cs.restartCount, 3);
  assert.equal(cs.ready, false);
  assert.equal(s.phase, 'Running');
  const ready = s.conditions!.find((c) => c.type === 'Ready')!;
  assert.equal(ready.status, 'False');
  assert.equal(ready.reason, 'ContainersNotReady');
  assert.equal(ready.message, 'containers with unready status: [app]');
});

test('Never and OnFailure: completion is Succeeded, a failure is Failed under Never and restarts under OnFailure', () => {
  assert.equal(computePodStatus(input(pod('Never'), [view({ current: exited(0) })])).phase, 'Succeeded');
  assert.equal(computePodStatus(input(pod('OnFailure'), [view({ current: exited(0) })])).phase, 'Succeeded');
  assert.equal(computePodStatus(input(pod('Never'), [view({ current: exited(3) })])).phase, 'Failed');
  assert.equal(computePodStatus(input(pod('OnFailure'), [view({ current: exited(3) })])).phase, 'Running');
  const done = computePodStatus(input(pod('Never'), [view({ current: exited(0) })]));
  assert.equal(done.containerStatuses![0]!.state?.terminated?.reason, 'Completed');
  assert.equal(done.conditions!.find((c) => c.type === 'Ready')!.reason, 'PodCompleted');
  const oom = computePodStatus(input(pod('Never'), [view({ current: exited(137, 'c1', 0, true) })]));
  assert.equal(oom.containerStatuses![0]!.state?.terminated?.reason, 'OOMKilled');
});

test('init containers: Pending with PodInitializing until all completed; a failed init fails the pod under Never', () => {
  const p = pod('Always', ['setup', 'migrate']);
  const s = computePodStatus(input(p, [view()], [view({ name: 'setup', current: exited(0) }), view({ name: 'migrate', current: running() })]));
  assert.equal(s.phase, 'Pending');
  assert.deepEqual(s.containerStatuses![0]!.state, { waiting: { reason: 'PodInitializing' } });
  const initC = s.conditions!.find((c) => c.type === 'Initialized')!;
  assert.equal(initC.status, 'False');
  assert.equal(initC.message, 'containers with incomplete status: [migrate]');
  assert.equal(s.initContainerStatuses!.length, 2);
  const failed = computePodStatus(input(pod('Never', ['setup']), [view()], [view({ name: 'setup', current: exited(1) })]));
  assert.equal(failed.phase, 'Failed');
  const ok = computePodStatus(input(p, [view({ current: running() })], [view({ name: 'setup', current: exited(0) }), view({ name: 'migrate', current: exited(0) })]));
  assert.equal(ok.phase, 'Running');
});

test('waiting for the first start is Pending; readiness false keeps Ready False; transition times are kept while unchanged', () => {
  const p = pod();
  const first = computePodStatus(input(p, [view({ waiting: { reason: 'ContainerCreating' } })]));
  assert.equal(first.phase, 'Pending');
  const notReady = computePodStatus(input(p, [view({ current: running(), ready: false })]));
  assert.equal(notReady.phase, 'Running');
  assert.equal(notReady.containerStatuses![0]!.ready, false);
  const before = { ...p, status: { ...p.status, conditions: [{ type: 'Ready', status: 'False' as const, lastTransitionTime: '2025-01-01T00:00:00Z' }] } };
  const again = computePodStatus(input(before, [view({ current: running(), ready: false })]));
  assert.equal(again.conditions!.find((c) => c.type === 'Ready')!.lastTransitionTime, '2025-01-01T00:00:00Z');
  const flipped = computePodStatus(input(before, [view({ current: running() })]));
  assert.equal(flipped.conditions!.find((c) => c.type === 'Ready')!.lastTransitionTime, '2025-03-01T10:01:00Z');
  const terminalKept = computePodStatus(input({ ...p, status: { phase: 'Succeeded' } }, [view({ current: running() })]));
  assert.equal(terminalKept.phase, 'Succeeded');
});
