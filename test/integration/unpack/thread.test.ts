/**
 * Layers whose blobs are files (the content store, a download) unpack on an unpack thread; its host
 * calls (whiteout devices, the opaque xattr, device nodes, fifos, binary xattrs) run on the main
 * thread against the real kernel. The result must be what an in-thread unpack makes.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { RealHost } from '../../../src/host/real-host.js';
import { ContentStore } from '../../../src/image/content-store.js';
import { OverlaySnapshotStore } from '../../../src/image/snapshots.js';
import { imageOf, sha256, tarOf } from '../../../src/image/unpack-fixtures.js';
import type { LayerRef } from '../../../src/image/types.js';

const host = new RealHost();
let base: string;

before(() => {
  assert.equal(process.getuid?.(), 0, 'integration tests need root');
  for (const tool of ['getfattr', 'mkfifo']) {
    assert.doesNotThrow(() => execFileSync('which', [tool]), `${tool} is needed (apt-get install attr coreutils)`);
  }
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'nubis-unpack-thread-'));
});

after(async () => {
  const mounts = fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => p.startsWith(`${base}/`))
    .reverse();
  for (const m of mounts) await host.unmount(m);
  fs.rmSync(base, { recursive: true, force: true });
});

async function stored(cs: ContentStore, tar: Buffer): Promise<LayerRef> {
  const blob = gzipSync(tar);
  const digest = await cs.putBlob(blob);
  return { digest, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', size: blob.length, diffID: sha256(tar) };
}

test('an unpack thread makes whiteouts, opaque dirs, devices, fifos, xattrs and owners on the real kernel', async () => {
  const cs = new ContentStore(path.join(base, 'content'));
  const lower = await stored(
    cs,
    await tarOf([
      { name: 'old', body: 'hidden by a whiteout' },
      { name: 'dir/', type: 'directory' },
      { name: 'dir/below', body: 'hidden by the opaque dir' },
    ]),
  );
  const upper = await stored(
    cs,
    await tarOf([
      { name: '.wh.old' },
      { name: 'dir/', type: 'directory' },
      { name: 'dir/.wh..wh..opq' },
      { name: 'dir/above', body: 'kept' },
      { name: 'dev/zero', type: 'character-device', devmajor: 1, devminor: 5, mode: 0o666 },
      { name: 'pipe', type: 'fifo', mode: 0o600 },
      { name: 'tagged', body: 't', pax: { 'SCHILY.xattr.user.tag': 'v1' } },
      { name: 'sbin/tool', body: 'x', mode: 0o4750, uid: 0, gid: 7 },
      { name: 'big', body: Buffer.alloc(5 << 20, 1), uid: 1000, gid: 1000 },
    ]),
  );
  const store = new OverlaySnapshotStore(path.join(base, 'snapshots'), host);
  const lowers = await store.prepare(imageOf([lower, upper]), cs);

  const [merged, up, work] = ['merged', 'upper', 'work'].map((d) => path.join(base, d)) as [string, string, string];
  for (const d of [merged, up, work]) fs.mkdirSync(d);
  await host.mountOverlay(lowers, up, work, merged);
  try {
    assert.ok(!fs.existsSync(path.join(merged, 'old')), 'the whiteout hides the lower file');
    assert.deepEqual(fs.readdirSync(path.join(merged, 'dir')), ['above'], 'the opaque dir hides the lower one');
    const zero = fs.statSync(path.join(merged, 'dev/zero'));
    assert.ok(zero.isCharacterDevice() && zero.rdev === ((1 << 8) | 5));
    assert.ok(fs.statSync(path.join(merged, 'pipe')).isFIFO());
    const tag = execFileSync('getfattr', ['--only-values', '-n', 'user.tag', path.join(merged, 'tagged')], { encoding: 'utf8' });
    assert.equal(tag, 'v1');
    const tool = fs.statSync(path.join(merged, 'sbin/tool'));
    assert.deepEqual([tool.mode & 0o7777, tool.uid, tool.gid], [0o4750, 0, 7]);
    const big = fs.statSync(path.join(merged, 'big'));
    assert.deepEqual([big.size, big.uid, big.gid], [5 << 20, 1000, 1000]);
  } finally {
    await host.unmount(merged);
  }
});
