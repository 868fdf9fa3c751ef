import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DirtyKeys } from './dirty-keys.js';

test('keys run one at a time; a key marked during its run runs again; idle waits for all', async () => {
  const runs: string[] = [];
  let inFlight = 0;
  let most = 0;
  const q: DirtyKeys = new DirtyKeys(async (k) => {
    inFlight++;
    most = Math.max(most, inFlight);
    runs.push(k);
    await new Promise((r) => setTimeout(r, 5));
    if (k === 'a' && runs.filter((x) => x === 'a').length === 1) q.mark('a');
    inFlight--;
  });
  q.mark('a');
  q.mark('b');
  q.mark('b');
  await q.idle();
  assert.equal(most, 1);
  assert.deepEqual(runs, ['a', 'b', 'a']);
});
