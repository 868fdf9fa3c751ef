import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { isNubisError } from './errors.js';
import { withLock } from './lock.js';

const dir = await mkdtemp(path.join(tmpdir(), 'nubis-lock-'));
after(() => rm(dir, { recursive: true, force: true }));

test('withLock serializes critical sections', async () => {
  const file = path.join(dir, 'a.lock');
  const events: string[] = [];
  const section = (name: string) =>
    withLock(file, async () => {
      events.push(`${name}:in`);
      await new Promise((r) => setTimeout(r, 20));
      events.push(`${name}:out`);
    });
  await Promise.all([section('x'), section('y')]);
  assert.deepEqual(events.map((e) => e.split(':')[1]), ['in', 'out', 'in', 'out']);
});

test('withLock takes over a lock whose holder died', async () => {
  const file = path.join(dir, 'b.lock');
  await writeFile(file, '999999999'); // no such pid
  assert.equal(await withLock(file, async () => 42), 42);
});

test('withLock times out on a live holder', async () => {
  const file = path.join(dir, 'c.lock');
  await writeFile(file, String(process.pid));
  await assert.rejects(withLock(file, async () => 1, 50), (e) => isNubisError(e, 'Timeout'));
  await rm(file);
});
