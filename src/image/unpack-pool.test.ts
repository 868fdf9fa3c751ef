import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { FakeHost } from '../host/fake-host.js';
import { internal, isNubisError } from '../lib/errors.js';
import { BlobProgress } from './blob-follower.js';
import { ContentStore, sha256Digest } from './content-store.js';
import { sha256, tarOf } from './unpack-fixtures.js';
import { UnpackPool } from './unpack-pool.js';

const GZ = 'application/vnd.oci.image.layer.v1.tar+gzip';
let base: string;
const pool = new UnpackPool(2);
before(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'nubis-unpack-pool-'));
});
after(async () => {
  await pool.close();
  fs.rmSync(base, { recursive: true, force: true });
});

const root = () => fs.mkdtempSync(path.join(base, 'layer-'));
const T = new Date(1_500_000_000_000);

test('a stored layer unpacks on a thread: content, owner, mode, times, and host calls made here', async () => {
  const cs = new ContentStore(path.join(base, 'store-1'));
  const tar = await tarOf([
    { name: 'etc/', type: 'directory', mode: 0o750, uid: 0, gid: 42, mtime: T },
    { name: 'etc/hello', body: 'hello\n', mode: 0o4755, uid: 1000, gid: 1001, mtime: T },
    { name: 'big', body: Buffer.alloc(3 << 20, 9) },
    { name: 'gone/.wh.old' },
    { name: 'opaque/.wh..wh..opq' },
    { name: 'cap', body: 'x', pax: { 'SCHILY.xattr.security.capability': 'ABC' } },
  ]);
  const digest = await cs.putBlob(gzipSync(tar));
  const dir = root();
  const host = new FakeHost();
  const r = await pool.unpack(await cs.blobFile(digest), GZ, dir, { host, diffID: sha256(tar) });
  assert.equal(r.diffID, sha256(tar));
  assert.equal(r.entries, 6);
  const hello = fs.statSync(path.join(dir, 'etc/hello'));
  assert.equal(fs.readFileSync(path.join(dir, 'etc/hello'), 'utf8'), 'hello\n');
  assert.equal(hello.mode & 0o7777, 0o4755);
  assert.deepEqual([hello.uid, hello.gid, hello.mtimeMs], [1000, 1001, T.getTime()]);
  assert.equal(fs.statSync(path.join(dir, 'etc')).mtimeMs, T.getTime());
  assert.equal(fs.statSync(path.join(dir, 'big')).size, 3 << 20);
  assert.deepEqual(host.devices.get(path.join(dir, 'gone/old')), { type: 'c', major: 0, minor: 0 });
  assert.equal(host.xattrs.get(path.join(dir, 'opaque'))?.get('trusted.overlay.opaque')?.toString(), 'y');
  const cap = host.xattrs.get(path.join(dir, 'cap'))?.get('security.capability');
  assert.ok(Buffer.isBuffer(cap) && cap.toString() === 'ABC', 'xattr values arrive as Buffers');
});

test('a corrupt stored blob, a hostile layer and a wrong diffID fail with the in-thread errors', async () => {
  const cs = new ContentStore(path.join(base, 'store-2'));
  const tar = await tarOf([{ name: 'a', body: 'a' }]);
  const digest = await cs.putBlob(gzipSync(tar));
  fs.appendFileSync(cs.blobPath(digest), 'x');
  await assert.rejects(
    pool.unpack(await cs.blobFile(digest), GZ, root(), { host: new FakeHost() }),
    (e) => isNubisError(e, 'Invalid') && /is corrupt: its content hashes to/.test(e.message),
  );
  const hostile = await tarOf([{ name: 'link', type: 'symlink', linkname: '/etc' }, { name: 'link/passwd', body: 'x' }]);
  const h = await cs.putBlob(gzipSync(hostile));
  await assert.rejects(
    pool.unpack(await cs.blobFile(h), GZ, root(), { host: new FakeHost() }),
    (e) => isNubisError(e, 'Invalid') && /parent "link" of "link\/passwd" is a symlink/.test(e.message),
  );
  const ok = await cs.putBlob(gzipSync(await tarOf([{ name: 'b', body: 'b' }])));
  await assert.rejects(
    pool.unpack(await cs.blobFile(ok), GZ, root(), { host: new FakeHost(), diffID: sha256(Buffer.from('lie')) }),
    (e) => isNubisError(e, 'Invalid') && /does not match its diffID/.test(e.message),
  );
  await assert.rejects(cs.blobFile(sha256Digest('none')), (e) => isNubisError(e, 'NotFound'));
});

/** A partial file written in steps, as a download would, reporting each completed write. */
async function grow(file: string, data: Buffer, p: BlobProgress, end: (p: BlobProgress) => void): Promise<void> {
  fs.writeFileSync(file, '');
  p.writing(file);
  for (let i = 0; i < data.length; i += 100_000) {
    fs.appendFileSync(file, data.subarray(i, i + 100_000));
    p.wrote(Math.min(data.length, i + 100_000));
    await new Promise((r) => setTimeout(r, 2));
  }
  end(p);
}

test('a thread follows a file while it is written, and ends only when the download does', async () => {
  const tar = await tarOf([{ name: 'f', body: Buffer.alloc(1 << 20, 3) }, { name: 'g', body: 'g' }]);
  const blob = gzipSync(tar, { level: 0 });
  const file = path.join(base, 'partial-ok');
  const p = new BlobProgress();
  const writing = grow(file, blob, p, (x) => x.finish());
  const dir = root();
  const r = await pool.unpack({ path: file, growth: p }, GZ, dir, { host: new FakeHost(), diffID: sha256(tar) });
  await writing;
  assert.equal(r.diffID, sha256(tar));
  assert.equal(fs.readFileSync(path.join(dir, 'g'), 'utf8'), 'g');

  const failed = new BlobProgress();
  const file2 = path.join(base, 'partial-bad');
  const writing2 = grow(file2, blob, failed, (x) => x.finish(internal('the download broke')));
  await assert.rejects(
    pool.unpack({ path: file2, growth: failed }, GZ, root(), { host: new FakeHost(), diffID: sha256(tar) }),
    (e) => isNubisError(e, 'Internal') && /the download broke/.test(e.message),
  );
  await writing2;
});

test('an aborted unpack settles with the abort reason once the thread has stopped writing', async () => {
  const tar = await tarOf(Array.from({ length: 300 }, (_, i) => ({ name: `f${i}`, body: 'x'.repeat(2000) })));
  const blob = gzipSync(tar);
  const file = path.join(base, 'partial-abort');
  const p = new BlobProgress();
  fs.writeFileSync(file, blob.subarray(0, blob.length >> 1));
  p.writing(file);
  p.wrote(blob.length >> 1);
  const dir = root();
  const ac = new AbortController();
  const job = pool.unpack({ path: file, growth: p }, GZ, dir, { host: new FakeHost(), signal: ac.signal });
  for (let i = 0; i < 500 && fs.readdirSync(dir).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  ac.abort(new Error('stop now'));
  await assert.rejects(job, /stop now/);
  const before = fs.readdirSync(dir).length;
  assert.ok(before > 0 && before < 300, `half the layer was unpacked before the abort (${before} files)`);
  fs.appendFileSync(file, blob.subarray(blob.length >> 1));
  p.wrote(blob.length);
  p.finish();
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(fs.readdirSync(dir).length, before, 'nothing was written after the job settled');
});

test('an idle thread stops after a while and a new one starts for the next job', async () => {
  const quick = new UnpackPool(1, 100);
  try {
    const cs = new ContentStore(path.join(base, 'store-3'));
    const tar = await tarOf([{ name: 'a', body: 'a' }]);
    const digest = await cs.putBlob(gzipSync(tar));
    await quick.unpack(await cs.blobFile(digest), GZ, root(), { host: new FakeHost(), diffID: sha256(tar) });
    assert.equal(quick.threadCount, 1);
    for (let i = 0; i < 100 && quick.threadCount > 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(quick.threadCount, 0, 'the idle thread stopped');
    const r = await quick.unpack(await cs.blobFile(digest), GZ, root(), { host: new FakeHost(), diffID: sha256(tar) });
    assert.equal(r.diffID, sha256(tar));
  } finally {
    await quick.close();
  }
});

test('a thread that dies fails its jobs as Internal', async () => {
  const doomed = new UnpackPool(1);
  const file = path.join(base, 'partial-never');
  fs.writeFileSync(file, '');
  const p = new BlobProgress();
  p.writing(file);
  const job = doomed.unpack({ path: file, growth: p }, GZ, root(), { host: new FakeHost() });
  await new Promise((r) => setTimeout(r, 50));
  await doomed.close();
  await assert.rejects(job, (e) => isNubisError(e, 'Internal') && /unpack thread failed/.test(e.message));
});
