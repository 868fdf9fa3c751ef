import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeyedMutex } from './keyed-mutex.js';

const tick = () => new Promise((r) => setImmediate(r));

test('sections of one key run one at a time in arrival order, other keys alongside, and failures release the key', async () => {
  const m = new KeyedMutex();
  const log: string[] = [];
  const section = (key: string, name: string, fail = false) =>
    m.run(key, async () => {
      log.push(`${name}+`);
      await tick();
      await tick();
      log.push(`${name}-`);
      if (fail) throw new Error(name);
      return name;
    });
  const runs = [section('a', 'a1', true).catch((e: Error) => `failed ${e.message}`), section('a', 'a2'), section('b', 'b1'), section('a', 'a3')];
  assert.deepEqual(await Promise.all(runs), ['failed a1', 'a2', 'b1', 'a3']);
  const a = log.filter((l) => l.startsWith('a'));
  assert.deepEqual(a, ['a1+', 'a1-', 'a2+', 'a2-', 'a3+', 'a3-']);
  assert.ok(log.indexOf('b1+') < log.indexOf('a1-'), 'b runs while a1 holds a');
  assert.equal(m.size, 0);
});
