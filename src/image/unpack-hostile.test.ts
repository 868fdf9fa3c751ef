/**
 * Hostile layers: each must be rejected as Invalid, leave no snapshot and no temp dir behind, and write
 * nothing outside the snapshot root (a canary directory beside it must stay untouched). These are the
 * classes behind CVE-2021-32760, CVE-2018-15664 and the tar-extraction bugs of other engines.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { FakeHost } from '../host/fake-host.js';
import { isNubisError } from '../lib/errors.js';
import { OverlaySnapshotStore } from './snapshots.js';
import { imageOf, MemoryBlobs, tarOf, type FixtureEntry } from './unpack-fixtures.js';

let base: string;
let canary: string;

before(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'nubis-hostile-'));
  canary = path.join(base, 'canary');
  fs.mkdirSync(path.join(canary, 'etc'), { recursive: true });
  fs.writeFileSync(path.join(canary, 'secret'), 'untouched');
  fs.chmodSync(path.join(canary, 'secret'), 0o600);
});
after(() => fs.rmSync(base, { recursive: true, force: true }));

function canaryState(): string {
  const walk = (d: string): string[] =>
    fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => {
      const p = path.join(d, e.name);
      const st = fs.lstatSync(p);
      const line = `${path.relative(canary, p)} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.nlink}`;
      return e.isDirectory() ? [line, ...walk(p)] : [line + ' ' + fs.readFileSync(p, 'utf8')];
    });
  return walk(canary).join('\n');
}

async function assertRejected(entries: FixtureEntry[], why: RegExp, lower: FixtureEntry[] = []) {
  const root = fs.mkdtempSync(path.join(base, 'snapshots-'));
  const host = new FakeHost();
  const store = new OverlaySnapshotStore(root, host);
  const blobs = new MemoryBlobs();
  const before = canaryState();
  const baseDir = fs.readdirSync(base).sort();
  const layers = [...(lower.length ? [blobs.add(await tarOf(lower))] : []), blobs.add(await tarOf(entries))];
  await assert.rejects(store.prepare(imageOf(layers), blobs), (e) => {
    assert.ok(isNubisError(e, 'Invalid'), `expected Invalid, got ${String(e)}`);
    assert.match(e.message, why);
    assert.doesNotMatch(e.message, /\n/);
    return true;
  });
  assert.deepEqual(await store.list(), lower.length ? [layers[0]!.diffID] : [], 'no snapshot of the hostile layer');
  const leftovers = fs.readdirSync(root).filter((n) => n.startsWith('tmp-'));
  assert.deepEqual(leftovers, [], 'no temp dir left');
  assert.equal(canaryState(), before, 'nothing outside the snapshot root changed');
  assert.deepEqual(fs.readdirSync(base).sort(), baseDir, 'nothing new beside the snapshot root');
  for (const c of host.calls) {
    if ('path' in c) assert.ok(c.path.startsWith(root + '/'), `host effect outside the root: ${c.path}`);
  }
}

test('"../evil" is rejected', () => assertRejected([{ name: '../evil', body: 'x' }], /"\.\."/));

test('an absolute name is rejected', () =>
  assertRejected([{ name: 'ok', body: 'fine' }, { name: `${canary}/evil`, body: 'x' }], /absolute/));

test('"a/../../evil" is rejected', () => assertRejected([{ name: 'a/../../evil', body: 'x' }], /"\.\."/));

test('a write through a symlink to an absolute dir is rejected', () =>
  assertRejected(
    [
      { name: 'link', type: 'symlink', linkname: canary },
      { name: 'link/evil', body: 'x' },
    ],
    /parent "link".*symlink/,
  ));

test('a write through "link -> /" is rejected', () =>
  assertRejected(
    [
      { name: 'link', type: 'symlink', linkname: '/' },
      { name: `link${canary}/evil`, body: 'x' },
    ],
    /symlink/,
  ));

test('a write through "link -> .." is rejected', () =>
  assertRejected(
    [
      { name: 'link', type: 'symlink', linkname: '..' },
      { name: 'link/evil', body: 'x' },
    ],
    /symlink/,
  ));

test('a symlink chain is not followed', () =>
  assertRejected(
    [
      { name: 'a', type: 'symlink', linkname: canary },
      { name: 'b', type: 'symlink', linkname: 'a' },
      { name: 'c/', type: 'directory' },
      { name: 'c/d', type: 'symlink', linkname: '../b' },
      { name: 'c/d/secret', body: 'overwritten' },
    ],
    /parent "c\/d".*symlink/,
  ));

test('a directory entry through a symlink does not chmod/chown the target', () =>
  assertRejected(
    [
      { name: 'link', type: 'symlink', linkname: canary },
      { name: 'link/etc/', type: 'directory', mode: 0o777, uid: 1234 },
    ],
    /symlink/,
  ));

test('a hardlink to /etc/passwd is rejected', () =>
  assertRejected([{ name: 'passwd', type: 'link', linkname: '/etc/passwd' }], /absolute/));

test('a hardlink to "../outside" is rejected', () =>
  assertRejected([{ name: 'x', type: 'link', linkname: '../canary/secret' }], /"\.\."/));

test('a hardlink through a symlinked dir is rejected', () =>
  assertRejected(
    [
      { name: 'dir', type: 'symlink', linkname: canary },
      { name: 'x', type: 'link', linkname: 'dir/secret' },
    ],
    /not a regular file of this layer/,
  ));

test('a hardlink to a file of a lower layer (or any path not made here) is rejected', () =>
  assertRejected([{ name: 'x', type: 'link', linkname: 'base' }], /not a regular file of this layer/, [{ name: 'base', body: 'b' }]));

test('a hardlink to a symlink is rejected', () =>
  assertRejected(
    [
      { name: 's', type: 'symlink', linkname: canary + '/secret' },
      { name: 'x', type: 'link', linkname: 's' },
    ],
    /not a regular file/,
  ));

test('a whiteout "../.wh.x" is rejected', () => assertRejected([{ name: '../.wh.canary' }], /"\.\."/));

test('whiteout trick names ".wh.." and ".wh..." are rejected', async () => {
  await assertRejected([{ name: 'a/.wh...' }], /whiteout/);
  await assertRejected([{ name: 'a/.wh..' }], /whiteout/);
  await assertRejected([{ name: '.wh.' }], /whiteout/);
});

test('a whiteout under a symlinked parent is rejected', () =>
  assertRejected(
    [
      { name: 'link', type: 'symlink', linkname: canary },
      { name: 'link/.wh.secret' },
    ],
    /symlink/,
  ));

test('an opaque marker under a symlinked parent is rejected', () =>
  assertRejected(
    [
      { name: 'link', type: 'symlink', linkname: canary },
      { name: 'link/.wh..wh..opq' },
    ],
    /symlink/,
  ));

test('a dir replaced by a symlink, then written through, is rejected (CVE-2021-32760-like)', () =>
  assertRejected(
    [
      { name: 'etc/', type: 'directory', mode: 0o755 },
      { name: 'etc/conf', body: 'c' },
      { name: 'etc', type: 'symlink', linkname: canary },
      { name: 'etc/secret', body: 'x', mode: 0o4777 },
    ],
    /parent "etc".*symlink/,
  ));

test('a PAX long name with ".." is rejected', () =>
  assertRejected([{ name: `${'a'.repeat(120)}/../../../${'b'.repeat(100)}`, body: 'x' }], /"\.\."/));

test('a layer that sets trusted.overlay.* xattrs is rejected', () =>
  assertRejected(
    [{ name: 'd/', type: 'directory', pax: { 'SCHILY.xattr.trusted.overlay.redirect': '/etc' } }],
    /reserved xattr trusted\.overlay\.redirect/,
  ));

test('a layer that sets user.overlay.* xattrs is rejected', () =>
  assertRejected([{ name: 'f', body: 'x', pax: { 'SCHILY.xattr.user.overlay.origin': 'x' } }], /reserved xattr user\.overlay/));

test('a name component too long for the filesystem is Invalid', () =>
  assertRejected([{ name: `d/${'n'.repeat(300)}`, body: 'x' }], /too long/i));

test('a symlink replaced by a file does not write through the old link', async () => {
  // Allowed, but the file must replace the link, not follow it.
  const root = fs.mkdtempSync(path.join(base, 'snapshots-'));
  const store = new OverlaySnapshotStore(root, new FakeHost());
  const blobs = new MemoryBlobs();
  const before = canaryState();
  const layer = blobs.add(
    await tarOf([
      { name: 'secret', type: 'symlink', linkname: path.join(canary, 'secret') },
      { name: 'secret', body: 'mine', mode: 0o644 },
    ]),
  );
  const [lower] = await store.prepare(imageOf([layer]), blobs);
  assert.equal(fs.readFileSync(path.join(lower!, 'secret'), 'utf8'), 'mine');
  assert.equal(canaryState(), before);
});
