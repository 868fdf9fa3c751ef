import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Expectations } from './expectations.js';
import { runWorkers, WorkQueue } from './work-queue.js';

describe('WorkQueue', () => {
  it('dedupes waiting keys and never hands one key to two workers', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('a');
    q.add('b');
    assert.equal(q.length, 2);
    const k = await q.get();
    assert.equal(k, 'a');
    q.add('a'); // while processing: not queued again yet
    assert.equal(q.length, 1);
    assert.equal(await q.get(), 'b');
    q.done('a'); // now it is queued again
    assert.equal(await q.get(), 'a');
  });

  it('requeues failures with growing delays and forgets them after a success', async () => {
    const q = new WorkQueue({ baseDelayMs: 1, maxDelayMs: 4 });
    const abort = new AbortController();
    const calls: string[] = [];
    let fails = 3;
    q.add('x');
    const errors: string[] = [];
    const run = runWorkers(q, abort.signal, 2, async (key) => {
      calls.push(key);
      if (fails-- > 0) throw new Error('boom');
      abort.abort();
    }, (key, err) => errors.push(`${key}: ${(err as Error).message}`));
    await run;
    assert.deepEqual(calls, ['x', 'x', 'x', 'x']);
    assert.equal(errors.length, 3);
    assert.equal(q.failures('x'), 0);
  });

  it('runs a requested requeue later', async () => {
    const q = new WorkQueue();
    const abort = new AbortController();
    let n = 0;
    q.add('k');
    await runWorkers(q, abort.signal, 1, async () => {
      if (++n === 2) abort.abort();
      return { requeueAfterMs: 5 };
    }, () => undefined);
    assert.equal(n, 2);
  });
});

describe('Expectations', () => {
  it('waits for the creations and deletions asked for, or for the ttl', async () => {
    const e = new Expectations(20);
    assert.equal(e.satisfied('rs'), true);
    e.expectCreations('rs', 2);
    e.expectDeletions('rs', ['ns/p1']);
    e.creationObserved('rs');
    e.creationObserved('rs');
    assert.equal(e.satisfied('rs'), false);
    e.deletionObserved('rs', 'ns/p1');
    assert.equal(e.satisfied('rs'), true);
    e.expectCreations('rs', 1);
    assert.equal(e.satisfied('rs'), false);
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(e.satisfied('rs'), true, 'expired');
  });
});
