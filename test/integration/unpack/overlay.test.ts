/**
 * Unpacking on the real machine (root): layers with whiteouts, an opaque dir, owners, setuid, xattrs and
 * devices become snapshots that a real overlay mount merges as the OCI spec says.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { RealHost } from '../../../src/host/real-host.js';
import { OverlaySnapshotStore } from '../../../src/image/snapshots.js';
import { imageOf, MemoryBlobs, tarOf } from '../../../src/image/unpack-fixtures.js';
import { isNubisError } from '../../../src/lib/errors.js';

const host = new RealHost();
let base: string;

function mountsUnder(dir: string): string[] {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => p === dir || p.startsWith(dir + '/'));
}

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let len = body.length + String(body.length).length;
  if (String(len).length + body.length !== len) len = String(len).length + 1 + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

/** A ustar header block for a PAX record set (tar-stream cannot write binary PAX values). */
function paxHeader(records: Buffer): Buffer {
  const h = Buffer.alloc(512);
  h.write('PaxHeader/cap', 0);
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(records.length.toString(8).padStart(11, '0') + '\0', 124);
  h.write('00000000000\0', 136);
  h.write('x', 156);
  h.write('ustar\0', 257, 'latin1');
  h.write('00', 263);
  h.fill(32, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
  const pad = Buffer.alloc((512 - (records.length % 512)) % 512);
  return Buffer.concat([h, records, pad]);
}

// cap_net_raw=ep as a VFS_CAP_REVISION_2 value: binary, with NUL and high bytes.
const CAP = Buffer.from('0100000200200000000000000000000000000000', 'hex');

before(() => {
  assert.equal(process.getuid?.(), 0, 'integration tests need root');
  for (const tool of ['getfattr', 'setfattr', 'mknod', 'mkfifo']) {
    assert.doesNotThrow(() => execFileSync('which', [tool]), `${tool} is needed (apt-get install attr coreutils)`);
  }
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'nubis-unpack-it-'));
});

after(async () => {
  for (const m of mountsUnder(base).reverse()) await host.unmount(m);
  fs.rmSync(base, { recursive: true, force: true });
});

test('whiteouts, opaque dirs, owners, setuid, xattrs and devices survive into a real overlay', async () => {
  const root = path.join(base, 'snapshots');
  const store = new OverlaySnapshotStore(root, host);
  const blobs = new MemoryBlobs();
  const lower = blobs.add(
    await tarOf([
      { name: 'keep/', type: 'directory' },
      { name: 'keep/a', body: 'a' },
      { name: 'gone', body: 'should be hidden' },
      { name: 'opq/', type: 'directory' },
      { name: 'opq/lower-only', body: 'hidden by opaque' },
    ]),
  );
  const plain = await tarOf([
    { name: '.wh.gone' },
    { name: 'opq/', type: 'directory' },
    { name: 'opq/.wh..wh..opq' },
    { name: 'opq/upper-only', body: 'u' },
    { name: 'home/user/', type: 'directory', uid: 1000, gid: 1000, mode: 0o700 },
    { name: 'home/user/owned', body: 'o', uid: 1000, gid: 1000 },
    { name: 'bin/suid', body: '#!/bin/sh\n', mode: 0o4755, uid: 0, gid: 0 },
    { name: 'bin/sgid', body: '#!/bin/sh\n', mode: 0o2755, uid: 1000, gid: 50 },
    { name: 'note', body: 'n', pax: { 'SCHILY.xattr.user.demo': 'hello' } },
    { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
    { name: 'run/fifo', type: 'fifo', mode: 0o620 },
    { name: 'lib', type: 'symlink', linkname: '/usr/lib' },
  ]);
  // Append a file with a binary security.capability xattr before the end-of-archive blocks.
  const capEntry = await tarOf([{ name: 'bin/ping', body: 'ping', mode: 0o755 }]);
  const upperTar = Buffer.concat([
    plain.subarray(0, lastEntryEnd(plain)),
    paxHeader(paxRecord('SCHILY.xattr.security.capability', CAP)),
    capEntry,
  ]);
  const upper = blobs.add(upperTar);
  const lowers = await store.prepare(imageOf([lower, upper]), blobs);

  const merged = path.join(base, 'merged');
  const up = path.join(base, 'upper');
  const work = path.join(base, 'work');
  for (const d of [merged, up, work]) fs.mkdirSync(d);
  await host.mountOverlay(lowers, up, work, merged);
  try {
    assert.ok(!fs.existsSync(path.join(merged, 'gone')), 'whited-out file is hidden');
    assert.deepEqual(fs.readdirSync(path.join(merged, 'opq')), ['upper-only'], 'opaque dir hides lower contents');
    assert.equal(fs.readFileSync(path.join(merged, 'keep/a'), 'utf8'), 'a');
    const owned = fs.statSync(path.join(merged, 'home/user/owned'));
    assert.deepEqual([owned.uid, owned.gid], [1000, 1000]);
    const home = fs.statSync(path.join(merged, 'home/user'));
    assert.deepEqual([home.uid, home.gid, home.mode & 0o7777], [1000, 1000, 0o700]);
    assert.equal(fs.statSync(path.join(merged, 'bin/suid')).mode & 0o7777, 0o4755);
    const sgid = fs.statSync(path.join(merged, 'bin/sgid'));
    assert.deepEqual([sgid.mode & 0o7777, sgid.uid, sgid.gid], [0o2755, 1000, 50]);
    const demo = execFileSync('getfattr', ['--only-values', '-n', 'user.demo', path.join(merged, 'note')], { encoding: 'utf8' });
    assert.equal(demo, 'hello');
    const cap = execFileSync('getfattr', ['-e', 'hex', '-n', 'security.capability', path.join(merged, 'bin/ping')], {
      encoding: 'utf8',
    });
    assert.match(cap, new RegExp(`security.capability=0x${CAP.toString('hex')}`));
    const dev = fs.statSync(path.join(merged, 'dev/null'));
    assert.ok(dev.isCharacterDevice());
    assert.equal(dev.rdev, (1 << 8) | 3);
    const fifo = fs.statSync(path.join(merged, 'run/fifo'));
    assert.ok(fifo.isFIFO());
    assert.equal(fifo.mode & 0o777, 0o620);
    assert.equal(fs.readlinkSync(path.join(merged, 'lib')), '/usr/lib');
    // The snapshot itself holds a real overlay whiteout and opaque xattr.
    const wh = fs.statSync(path.join(lowers[0]!, 'gone'));
    assert.ok(wh.isCharacterDevice() && wh.rdev === 0);
    const opq = execFileSync('getfattr', ['--only-values', '-n', 'trusted.overlay.opaque', path.join(lowers[0]!, 'opq')], {
      encoding: 'utf8',
    });
    assert.equal(opq, 'y');
  } finally {
    await host.unmount(merged);
  }
  assert.deepEqual(mountsUnder(base), [], 'no mount left');
  assert.equal((await store.prune(new Set())).length, 2);
  assert.deepEqual(fs.readdirSync(root).sort(), ['l', 'locks']);
});

/** The offset where a tar-stream archive's end-of-archive zero blocks start. */
function lastEntryEnd(tar: Buffer): number {
  let end = tar.length;
  while (end >= 512 && tar.subarray(end - 512, end).every((b) => b === 0)) end -= 512;
  return end;
}

test('a full disk fails with one clear line and leaves nothing behind', async () => {
  const small = path.join(base, 'small');
  fs.mkdirSync(small);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', small]);
  try {
    const store = new OverlaySnapshotStore(path.join(small, 'snapshots'), host);
    const blobs = new MemoryBlobs();
    const layer = blobs.add(await tarOf([{ name: 'big', body: Buffer.alloc(3 * 1024 * 1024, 1) }]));
    await assert.rejects(store.prepare(imageOf([layer]), blobs), (e) => {
      assert.ok(isNubisError(e, 'Unavailable'), String(e));
      assert.match(e.message, /no space left on device/);
      assert.doesNotMatch(e.message, /\n/);
      return true;
    });
    assert.deepEqual(await store.list(), []);
    assert.deepEqual(fs.readdirSync(path.join(small, 'snapshots')).sort(), ['l', 'locks']);
  } finally {
    await host.unmount(small);
  }
  assert.deepEqual(mountsUnder(small), []);
});
