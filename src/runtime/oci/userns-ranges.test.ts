import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { UserNamespaceRanges, USERNS_RANGE_BASE, USERNS_RANGE_SIZE, USERNS_SLOTS } from './userns-ranges.js';

let dir: string;
const podDir = (uid: string) => path.join(dir, 'pods', uid);

before(async () => {
  dir = await fs.mkdtemp(path.join(tmpdir(), 'nubis-userns-'));
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

test('pods get distinct ranges, even when asking at once; a released range is reused', async () => {
  const ranges = new UserNamespaceRanges(path.join(dir, 'claims'), podDir);
  const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((uid) => ranges.allocate(uid)));
  assert.deepEqual(new Set([a!.hostId, b!.hostId, c!.hostId]).size, 3);
  for (const m of [a!, b!, c!]) {
    assert.equal(m.size, USERNS_RANGE_SIZE);
    assert.ok(m.hostId >= USERNS_RANGE_BASE && (m.hostId - USERNS_RANGE_BASE) % USERNS_RANGE_SIZE === 0);
  }
  await ranges.release('b', b!);
  await ranges.release('a', c!); // not a's: left alone
  assert.deepEqual((await ranges.allocate('d')).hostId, b!.hostId);
  assert.equal((await fs.readdir(path.join(dir, 'claims'))).length, 3);
  await ranges.release('x', { hostId: 100_000, size: 65536 }); // not one of ours: nothing happens
});

test('when every range is claimed, one whose pod is gone is taken over; otherwise Unavailable', async () => {
  const claims = path.join(dir, 'full');
  await fs.mkdir(claims);
  for (let slot = 0; slot < USERNS_SLOTS; slot++) await fs.writeFile(path.join(claims, String(slot)), `pod-${slot}`);
  for (let slot = 0; slot < USERNS_SLOTS; slot++) if (slot !== 7) await fs.mkdir(podDir(`pod-${slot}`), { recursive: true });
  const ranges = new UserNamespaceRanges(claims, podDir);
  assert.deepEqual(await ranges.allocate('new'), UserNamespaceRanges.mapping(7));
  assert.equal(await fs.readFile(path.join(claims, '7'), 'utf8'), 'new');
  await fs.mkdir(podDir('new'), { recursive: true });
  await assert.rejects(ranges.allocate('another'), /no free user namespace range/);
});
