import assert from 'node:assert/strict';
import { test } from 'node:test';
import { busyNs, nanoCores } from './stats.js';

test('nanoCores: CPU ns per wall-clock second, one core = 1e9', () => {
  // 500 ms of CPU over 1000 ms of wall clock is half a core.
  assert.equal(nanoCores({ ns: 0, at: 1000 }, { ns: 500e6, at: 2000 }), 500e6);
  // Two full cores over 200 ms.
  assert.equal(nanoCores({ ns: 1e9, at: 0 }, { ns: 1e9 + 400e6, at: 200 }), 2e9);
  // A busy-looping sh for 1 s is ~1000m, never 1e6 m.
  assert.ok(nanoCores({ ns: 0, at: 0 }, { ns: 1.05e9, at: 1000 }) / 1e6 < 2000);
});

test('nanoCores: no earlier sample, clock going back or a counter reset give 0', () => {
  assert.equal(nanoCores(undefined, { ns: 5, at: 5 }), 0);
  assert.equal(nanoCores({ ns: 0, at: 10 }, { ns: 5, at: 10 }), 0);
  assert.equal(nanoCores({ ns: 10, at: 0 }, { ns: 5, at: 10 }), 0);
});

test('busyNs: busy jiffies of the cpu line at USER_HZ 100', () => {
  assert.equal(busyNs('cpu  1 2 3 100 7 4 5 6 0 0\ncpu0 1 1 1 1\n'), (1 + 2 + 3 + 4 + 5 + 6) * 1e7);
});
