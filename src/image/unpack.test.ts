import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { FakeHost } from '../host/fake-host.js';
import { isNubisError } from '../lib/errors.js';
import { sha256, tarOf, type FixtureEntry } from './unpack-fixtures.js';
import { parsePax } from './unpack-tar.js';
import { unpackLayer } from './unpack.js';

let base: string;
before(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'nubis-unpack-'));
});
after(() => fs.rmSync(base, { recursive: true, force: true }));

async function unpack(entries: FixtureEntry[] | Buffer, opts: { gzip?: boolean; mediaType?: string; diffID?: string } = {}) {
  const tar = Buffer.isBuffer(entries) ? entries : await tarOf(entries);
  const blob = opts.gzip === false ? tar : gzipSync(tar);
  const root = fs.mkdtempSync(path.join(base, 'layer-'));
  const host = new FakeHost();
  host.responders.push((cmd, args) => {
    if (cmd !== 'mkfifo') return undefined;
    fs.writeFileSync(args[2]!, ''); // stands in for the fifo
    return { code: 0, signal: null, stdout: '', stderr: '' };
  });
  const chunks: Buffer[] = [];
  for (let i = 0; i < blob.length; i += 3_000) chunks.push(blob.subarray(i, i + 3_000));
  const mediaType = opts.mediaType ?? `application/vnd.oci.image.layer.v1.tar${opts.gzip === false ? '' : '+gzip'}`;
  const result = await unpackLayer(Readable.from(chunks), mediaType, root, { host, diffID: opts.diffID ?? sha256(tar) });
  return { root, host, result, tar };
}

const T = new Date(1_500_000_000_000);

test('files, directories, symlinks, hardlinks keep content, owner, mode and times', async () => {
  const { root, result } = await unpack([
    { name: './', type: 'directory', mode: 0o755 },
    { name: './etc/', type: 'directory', mode: 0o750, uid: 0, gid: 42, mtime: T },
    { name: './etc/hello', body: 'hello\n', mode: 0o640, uid: 1000, gid: 1000, mtime: T },
    { name: 'usr/bin/su', body: 'su', mode: 0o4755, uid: 0, gid: 0 },
    { name: 'usr/bin/wall', body: 'wall', mode: 0o2755, uid: 0, gid: 5 },
    { name: 'tmp/', type: 'directory', mode: 0o1777 },
    { name: 'lib', type: 'symlink', linkname: 'usr/lib', uid: 7, gid: 8, mtime: T },
    { name: 'abs', type: 'symlink', linkname: '/etc/passwd' },
    { name: 'etc/hello-again', type: 'link', linkname: 'etc/hello' },
  ]);
  const hello = fs.statSync(path.join(root, 'etc/hello'));
  assert.equal(fs.readFileSync(path.join(root, 'etc/hello'), 'utf8'), 'hello\n');
  assert.equal(hello.mode & 0o7777, 0o640);
  assert.deepEqual([hello.uid, hello.gid], [1000, 1000]);
  assert.equal(hello.mtimeMs, T.getTime());
  assert.equal(hello.nlink, 2);
  assert.equal(fs.statSync(path.join(root, 'etc/hello-again')).ino, hello.ino);
  const etc = fs.statSync(path.join(root, 'etc'));
  assert.equal(etc.mode & 0o7777, 0o750);
  assert.equal(etc.gid, 42);
  assert.equal(etc.mtimeMs, T.getTime(), 'directory times are set after their contents');
  assert.equal(fs.statSync(path.join(root, 'usr/bin/su')).mode & 0o7777, 0o4755);
  assert.equal(fs.statSync(path.join(root, 'usr/bin/wall')).mode & 0o7777, 0o2755);
  assert.equal(fs.statSync(path.join(root, 'tmp')).mode & 0o7777, 0o1777);
  assert.equal(fs.statSync(path.join(root, 'usr')).mode & 0o7777, 0o755, 'missing parents are made 0755');
  const lib = fs.lstatSync(path.join(root, 'lib'));
  assert.ok(lib.isSymbolicLink());
  assert.equal(fs.readlinkSync(path.join(root, 'lib')), 'usr/lib');
  assert.deepEqual([lib.uid, lib.gid, lib.mtimeMs], [7, 8, T.getTime()]);
  assert.equal(fs.readlinkSync(path.join(root, 'abs')), '/etc/passwd');
  assert.equal(result.entries, 9);
});

test('whiteouts become character devices 0:0 and opaque markers an xattr, via the host', async () => {
  const { root, host } = await unpack([
    { name: 'a/', type: 'directory' },
    { name: 'a/.wh.gone' },
    { name: 'b/', type: 'directory' },
    { name: 'b/kept', body: 'k' },
    { name: 'b/.wh..wh..opq' },
    { name: '.wh..wh.plnk', type: 'directory' },
    { name: 'c/.wh.mine' },
  ]);
  assert.deepEqual(host.devices.get(path.join(root, 'a/gone')), { type: 'c', major: 0, minor: 0 });
  assert.deepEqual(host.devices.get(path.join(root, 'c/mine')), { type: 'c', major: 0, minor: 0 });
  assert.equal(host.xattrs.get(path.join(root, 'b'))?.get('trusted.overlay.opaque')?.toString(), 'y');
  assert.equal(fs.readFileSync(path.join(root, 'b/kept'), 'utf8'), 'k', 'opaque hides only lower layers');
  assert.deepEqual(fs.readdirSync(root).sort(), ['a', 'b', 'c'], 'no .wh. file and no aufs bookkeeping');
  assert.deepEqual(fs.readdirSync(path.join(root, 'a')), ['gone']);
});

test('a whiteout removes an earlier entry of the same layer', async () => {
  const { root, host } = await unpack([
    { name: 'd/sub/file', body: 'x' },
    { name: '.wh.d' },
  ]);
  assert.deepEqual(fs.readdirSync(root), ['d']);
  assert.ok(host.devices.has(path.join(root, 'd')));
  assert.ok(!fs.statSync(path.join(root, 'd')).isDirectory());
});

test('PAX xattrs are set through the host; devices and fifos are made through the host', async () => {
  const { root, host } = await unpack([
    { name: 'bin/ping', body: 'p', pax: { 'SCHILY.xattr.user.note': 'hi' } },
    { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
    { name: 'run/fifo', type: 'fifo', mode: 0o600 },
  ]);
  assert.equal(host.xattrs.get(path.join(root, 'bin/ping'))?.get('user.note')?.toString(), 'hi');
  assert.deepEqual(host.devices.get(path.join(root, 'dev/null')), { type: 'c', major: 1, minor: 3 });
  const mk = host.calls.find((c) => c.op === 'run' && c.cmd === 'mkfifo');
  assert.deepEqual(mk, { op: 'run', cmd: 'mkfifo', args: ['-m', '600', path.join(root, 'run/fifo')] });
});

test('entries listed twice replace earlier ones; a directory over a directory keeps its contents', async () => {
  const { root } = await unpack([
    { name: 'd/', type: 'directory', mode: 0o700 },
    { name: 'd/inside', body: 'i' },
    { name: 'd/', type: 'directory', mode: 0o711 },
    { name: 'f', body: 'old' },
    { name: 'f', body: 'new' },
    { name: 'x/y', body: 'gone' },
    { name: 'x', body: 'now a file' },
    { name: 's', type: 'symlink', linkname: 'somewhere' },
    { name: 's/', type: 'directory' },
    { name: 's/ok', body: 'ok' },
  ]);
  assert.equal(fs.readFileSync(path.join(root, 'd/inside'), 'utf8'), 'i');
  assert.equal(fs.statSync(path.join(root, 'd')).mode & 0o777, 0o711);
  assert.equal(fs.readFileSync(path.join(root, 'f'), 'utf8'), 'new');
  assert.equal(fs.readFileSync(path.join(root, 'x'), 'utf8'), 'now a file');
  assert.ok(fs.lstatSync(path.join(root, 's')).isDirectory());
  assert.equal(fs.readFileSync(path.join(root, 's/ok'), 'utf8'), 'ok');
});

test('big files stream intact; plain tar is accepted; long names work', async () => {
  const big = randomBytes(3 * 1024 * 1024 + 123);
  const long = `${'d'.repeat(120)}/${'f'.repeat(150)}`;
  const { root, result } = await unpack(
    [
      { name: 'big', body: big },
      { name: long, body: 'long' },
    ],
    { gzip: false, mediaType: 'application/vnd.oci.image.layer.v1.tar' },
  );
  assert.ok(fs.readFileSync(path.join(root, 'big')).equals(big));
  assert.equal(fs.readFileSync(path.join(root, long), 'utf8'), 'long');
  assert.ok(result.bytes > big.length);
});

test('a big gzipped layer streams with backpressure and without piling up listeners', async () => {
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.name);
  process.on('warning', onWarning);
  try {
    const big = Buffer.from(randomBytes(6 * 1024 * 1024).toString('base64'));
    const { root } = await unpack([{ name: 'big', body: big }]);
    assert.ok(fs.readFileSync(path.join(root, 'big')).equals(big));
    await new Promise((r) => setImmediate(r));
  } finally {
    process.off('warning', onWarning);
  }
  assert.deepEqual(warnings, []);
});

test('gzip is detected by its magic bytes even under a plain tar media type', async () => {
  const { root } = await unpack([{ name: 'f', body: 'x' }], { mediaType: 'application/vnd.docker.image.rootfs.diff.tar' });
  assert.equal(fs.readFileSync(path.join(root, 'f'), 'utf8'), 'x');
});

test('a diffID mismatch is rejected as Invalid', async () => {
  await assert.rejects(
    unpack([{ name: 'f', body: 'x' }], { diffID: sha256(Buffer.from('other')) }),
    (e) => isNubisError(e, 'Invalid') && /does not match its diffID/.test(e.message),
  );
});

test('zstd, corrupt gzip, truncated tars and unsupported entry kinds fail as Invalid', async () => {
  const tar = await tarOf([{ name: 'f', body: 'x'.repeat(5000) }]);
  const zstd = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), randomBytes(50)]);
  await assert.rejects(unpack(zstd, { gzip: false }), (e) => isNubisError(e, 'Invalid') && /zstd layers are not supported yet/.test(e.message));
  const gz = gzipSync(tar);
  await assert.rejects(unpack(gz.subarray(0, gz.length - 20), { gzip: false }), (e) => isNubisError(e, 'Invalid'));
  await assert.rejects(unpack(tar.subarray(0, 1024), { gzip: false }), (e) => isNubisError(e, 'Invalid') && /truncated/.test(e.message));
  await assert.rejects(unpack(tar, { gzip: false, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' }), (e) =>
    isNubisError(e, 'Invalid') && /not gzip/.test(e.message));
  const sparse = Buffer.from(tar);
  sparse[156] = 'S'.charCodeAt(0);
  let sum = 0;
  sparse.fill(32, 148, 156);
  for (let i = 0; i < 512; i++) sum += sparse[i]!;
  sparse.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
  await assert.rejects(unpack(sparse, { gzip: false }), (e) => isNubisError(e, 'Invalid') && /sparse/.test(e.message));
  const badSum = Buffer.from(tar);
  badSum[0] = badSum[0]! ^ 1;
  await assert.rejects(unpack(badSum, { gzip: false }), (e) => isNubisError(e, 'Invalid') && /checksum/.test(e.message));
});

test('PAX values stay bytes, so binary xattrs survive', () => {
  const value = Buffer.from([0x01, 0x00, 0x00, 0x02, 0xff, 0xfe, 0x80]);
  const rec = (k: string, v: Buffer) => {
    const body = Buffer.concat([Buffer.from(` ${k}=`), v, Buffer.from('\n')]);
    let len = body.length + 1;
    if (String(len).length + body.length !== len) len = String(len + 1).length + body.length;
    return Buffer.concat([Buffer.from(String(len)), body]);
  };
  const pax = parsePax(Buffer.concat([rec('SCHILY.xattr.security.capability', value), rec('path', Buffer.from('a/b'))]));
  assert.ok(pax.get('SCHILY.xattr.security.capability')?.equals(value));
  assert.equal(pax.get('path')?.toString(), 'a/b');
});
