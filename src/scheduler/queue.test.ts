import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClusterEvent } from './framework.js';
import { PodInfo } from './pod-info.js';
import { SchedulingQueue } from './queue.js';
import { testPod } from './test-objects.js';

function setup() {
  let now = 1_000_000;
  const events = new Map<string, Set<ClusterEvent> | undefined>([
    ['NodeResourcesFit', new Set<ClusterEvent>(['NodeAdd', 'NodeAllocatableChange', 'AssignedPodDelete'])],
    ['NodeAffinity', new Set<ClusterEvent>(['NodeAdd', 'NodeLabelChange'])],
    ['Custom', undefined],
  ]);
  const q = new SchedulingQueue(events, { now: () => now, initialBackoffMs: 1000, maxBackoffMs: 10_000, maxUnschedulableMs: 60_000 });
  return { q, advance: (ms: number) => (now += ms) };
}
const info = (name: string, priority?: number) => new PodInfo(testPod(name, priority === undefined ? {} : { spec: { priority } }));

describe('SchedulingQueue', () => {
  it('pops higher priority first, then oldest', () => {
    const { q } = setup();
    q.add(info('low-1', 0));
    q.add(info('high', 100));
    q.add(info('low-2', 0));
    assert.deepEqual([q.pop(), q.pop(), q.pop(), q.pop()].map((p) => p?.info.name), ['high', 'low-1', 'low-2', undefined]);
  });

  it('moves an unschedulable pod back only on events its rejecting plugins listed', () => {
    const { q, advance } = setup();
    q.add(info('p'));
    const qp = q.pop()!;
    q.addUnschedulable(qp, new Set(['NodeAffinity']));
    assert.deepEqual(q.counts, { active: 0, backoff: 0, unschedulable: 1 });
    assert.equal(q.onEvent('AssignedPodDelete'), 0);
    assert.equal(q.whereIs('default/p'), 'unschedulable');
    advance(5000); // past the 1s backoff of the first attempt
    assert.equal(q.onEvent('NodeLabelChange'), 1);
    assert.equal(q.whereIs('default/p'), 'active');
    assert.equal(q.pop()?.attempts, 2);
  });

  it('sends a pod moved during its backoff to the backoff queue, then to active once it expires', () => {
    const { q, advance } = setup();
    q.add(info('p'));
    q.addUnschedulable(q.pop()!, new Set(['NodeResourcesFit']));
    q.onEvent('NodeAdd');
    assert.equal(q.whereIs('default/p'), 'backoff');
    q.flush();
    assert.equal(q.whereIs('default/p'), 'backoff');
    advance(1000);
    q.flush();
    assert.equal(q.whereIs('default/p'), 'active');
  });

  it('doubles the backoff per attempt up to the maximum', () => {
    const { q } = setup();
    q.add(info('p'));
    const qp = q.pop()!;
    qp.failedAt = 0;
    assert.equal(q.backoffExpiry(qp), 1000);
    qp.attempts = 3;
    assert.equal(q.backoffExpiry(qp), 4000);
    qp.attempts = 10;
    assert.equal(q.backoffExpiry(qp), 10_000);
  });

  it('retries any pod on any event when no plugin is named, and plugins without a list on every event', () => {
    const { q, advance } = setup();
    q.add(info('a'));
    q.add(info('b'));
    q.addUnschedulable(q.pop()!, new Set());
    q.addUnschedulable(q.pop()!, new Set(['Custom']));
    advance(2000);
    assert.equal(q.onEvent('NamespaceChange'), 2);
  });

  it('retries unschedulable pods after the maximum wait without events', () => {
    const { q, advance } = setup();
    q.add(info('p'));
    q.addUnschedulable(q.pop()!, new Set(['NodeAffinity']));
    advance(59_000);
    q.flush();
    assert.equal(q.whereIs('default/p'), 'unschedulable');
    advance(1000);
    q.flush();
    assert.equal(q.whereIs('default/p'), 'active');
  });

  it('moves a pending pod back when its spec changes meaningfully, not on status-only updates', () => {
    const { q, advance } = setup();
    q.add(info('p'));
    q.addUnschedulable(q.pop()!, new Set(['NodeAffinity']));
    advance(2000);
    q.update(info('p'), false);
    assert.equal(q.whereIs('default/p'), 'unschedulable');
    q.update(info('p'), true);
    assert.equal(q.whereIs('default/p'), 'active');
  });

  it('forgets deleted pods wherever they are, and a deleted pod is not requeued by a late failure', () => {
    const { q } = setup();
    q.add(info('a'));
    q.add(info('b'));
    q.delete('default/a');
    const b = q.pop()!;
    assert.equal(b.info.name, 'b');
    assert.equal(q.pop(), undefined);
    q.delete('default/b');
    q.addUnschedulable(b, new Set(['NodeAffinity']));
    assert.deepEqual(q.counts, { active: 0, backoff: 0, unschedulable: 0 });
  });

  it('wakes a waiter when a pod becomes active', async () => {
    const { q } = setup();
    let woke = false;
    const waiting = q.waitForActive().then(() => (woke = true));
    await Promise.resolve();
    assert.equal(woke, false);
    q.add(info('p'));
    await waiting;
    assert.equal(woke, true);
  });
});
