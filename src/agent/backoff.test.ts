import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Backoff } from './backoff.js';

const opts = { initialMs: 10_000, maxMs: 40_000, resetAfterMs: 600_000 };

test('the first restart is at once, then delays double up to the maximum', () => {
  const b = new Backoff(opts);
  let now = 1_000_000;
  assert.equal(b.remaining('p/c', {}, now), 0);
  b.restarted('p/c', now);
  assert.equal(b.remaining('p/c', {}, now), 10_000);
  assert.equal(b.remaining('p/c', {}, now + 4_000), 6_000);
  now += 10_000;
  assert.equal(b.remaining('p/c', {}, now), 0);
  b.restarted('p/c', now);
  assert.equal(b.remaining('p/c', {}, now), 20_000);
  b.restarted('p/c', now);
  assert.equal(b.currentDelay('p/c'), 40_000);
  b.restarted('p/c', now);
  assert.equal(b.currentDelay('p/c'), 40_000, 'capped at maxMs');
});

test('a long run resets the back-off; keys are separate; a pod forgets all of its keys', () => {
  const b = new Backoff(opts);
  b.restarted('p/a', 0);
  b.restarted('p/a', 0);
  b.restarted('p/b', 0);
  b.restarted('q/a', 0);
  assert.equal(b.remaining('p/a', { startedAt: 0, finishedAt: 599_999 }, 1), 19_999);
  assert.equal(b.remaining('p/a', { startedAt: 0, finishedAt: 600_000 }, 1), 0);
  assert.equal(b.currentDelay('p/a'), 0, 'forgotten after the long run');
  b.forgetPrefix('p/');
  assert.equal(b.currentDelay('p/b'), 0);
  assert.equal(b.currentDelay('q/a'), 10_000);
});
