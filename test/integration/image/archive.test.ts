/**
 * Import and export of image archives, checked against a real podman (with its own temp storage):
 * what nubis exports podman loads, what podman saves nubis imports, and round trips keep digests.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createGzip } from 'node:zlib';
import { after, before, test } from 'node:test';
import { RealHost } from '../../../src/host/real-host.js';
import { Images } from '../../../src/image/images.js';
import { makeImage, makeLayer, type BuiltImage } from './image-builder.js';
import { requireTool, tempDir } from './registry-fixture.js';

const run = promisify(execFile);
let work: string;
let podmanN = 0;

before(async () => {
  requireTool('podman', 'podman');
  work = await tempDir('nubis-archive-');
});
after(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

async function images(): Promise<Images> {
  return new Images(await fs.mkdtemp(path.join(work, 'data-')), new RealHost());
}

/** podman with a storage of its own (vfs: no mounts to leave behind). */
function podman() {
  const dir = path.join(work, `podman-${podmanN++}`);
  const base = ['--root', path.join(dir, 'root'), '--runroot', path.join(dir, 'run'), '--storage-driver', 'vfs'];
  return async (...args: string[]) => (await run('podman', [...base, ...args], { maxBuffer: 1 << 24 })).stdout;
}

/** Stores a built image directly in the store under `name`. */
async function store(im: Images, name: string, img: BuiltImage): Promise<void> {
  for (const [d, b] of img.blobs) await im.store.content.putBlob(b, d);
  await im.store.content.putBlob(img.manifest, img.manifestDigest);
  await im.store.setRef(name, img.manifestDigest);
}

async function exportTo(im: Images, refs: string[], format: 'docker' | 'oci'): Promise<string> {
  const file = path.join(work, `export-${Date.now()}-${Math.random().toString(36).slice(2)}.tar`);
  await im.export(refs, createWriteStream(file), format);
  return file;
}

test('podman loads the built-in busybox in both formats, under its full name and ID', async () => {
  const im = await images();
  const bb = await im.resolve('busybox');
  for (const format of ['docker', 'oci'] as const) {
    const p = podman();
    await p('load', '-i', await exportTo(im, ['busybox'], format));
    const out = await p('images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}');
    assert.equal(out.trim(), `docker.io/library/busybox:latest ${bb.configDigest.slice(7, 19)}`, format);
  }
});

test('a gzip multi-layer image exports with uncompressed layers podman accepts', async () => {
  const im = await images();
  const img = makeImage([await makeLayer({ a: 'layer one' }), await makeLayer({ b: 'layer two' })], { gzip: true, format: 'docker' });
  await store(im, '127.0.0.1:5000/team/app:v3', img);
  const p = podman();
  await p('load', '-i', await exportTo(im, ['127.0.0.1:5000/team/app:v3'], 'docker'));
  const inspect = JSON.parse(await p('image', 'inspect', '127.0.0.1:5000/team/app:v3')) as { RootFS: { Layers: string[] }; Id: string }[];
  assert.deepEqual(inspect[0]?.RootFS.Layers, img.diffIDs);
  assert.equal(inspect[0]?.Id, img.configDigest.slice(7));
});

test('round trips through docker and OCI archives keep config, layers and names', async () => {
  const src = await images();
  const img = makeImage([await makeLayer({ x: '1' }), await makeLayer({ y: '2' })], { gzip: true });
  await store(src, 'docker.io/library/app:1', img);
  await src.store.setRef('docker.io/me/other:2', img.manifestDigest);
  for (const format of ['docker', 'oci'] as const) {
    const file = await exportTo(src, [img.configDigest.slice(7, 19)], format);
    const dst = await images();
    const res = await dst.import(createReadStream(file));
    assert.deepEqual(res.names.sort(), ['docker.io/library/app:1', 'docker.io/me/other:2'], format);
    const got = await dst.resolve('app:1');
    assert.equal(got.configDigest, img.configDigest);
    assert.deepEqual(got.layers.map((l) => l.diffID), img.diffIDs);
    if (format === 'oci') assert.equal(got.digest, img.manifestDigest, 'OCI keeps the very manifest');
    else assert.ok(got.layers.every((l) => l.digest === l.diffID), 'docker archives carry uncompressed layers');
  }
});

test('imports what podman saves (docker-archive and oci-archive) and gzip-compressed archives', async () => {
  const im = await images();
  const bb = await im.resolve('busybox');
  const p = podman();
  await p('load', '-i', await exportTo(im, ['busybox'], 'docker'));
  for (const format of ['docker-archive', 'oci-archive']) {
    const file = path.join(work, `podman-${format}.tar`);
    await p('save', '--format', format, '-o', file, 'docker.io/library/busybox:latest');
    const dst = await images();
    const res = await dst.import(createReadStream(file), format === 'oci-archive' ? { tag: 'saved/by-podman:1' } : {});
    // podman may re-serialize the config; the layers are what must survive
    assert.deepEqual(res.images[0]?.layers.map((l) => l.diffID), bb.layers.map((l) => l.diffID), format);
    assert.deepEqual(res.images[0]?.config.config?.Cmd, ['sh']);
    assert.ok(res.names.length >= 1);
  }
  const gz = path.join(work, 'bb.tar.gz');
  await pipeline(createReadStream(await exportTo(im, ['busybox'], 'docker')), createGzip(), createWriteStream(gz));
  const dst = await images();
  const res = await dst.import(createReadStream(gz));
  assert.deepEqual(res.names, ['docker.io/library/busybox:latest']);
  assert.equal((await dst.resolve('docker.io/library/busybox')).configDigest, bb.configDigest);
  // the registry name does not shadow the built-in busybox, and listing tells them apart
  assert.equal((await dst.resolve('busybox')).name, 'busybox:latest');
  assert.deepEqual((await dst.list()).map((i) => i.repository).sort(), ['busybox', 'docker.io/library/busybox']);
});

test('bad archives are refused and leave no image behind', async () => {
  const im = await images();
  const junk = path.join(work, 'junk.tar');
  await fs.writeFile(junk, 'this is not a tar archive at all'.repeat(40));
  await assert.rejects(im.import(createReadStream(junk)), (e: Error & { code?: string }) => e.code === 'Invalid');

  // a docker archive whose layer does not match its config's diffID
  const good = await exportTo(await images().then(async (s) => (await s.resolve('busybox'), s)), ['busybox'], 'docker');
  const dir = path.join(work, 'tamper');
  await fs.mkdir(dir);
  await run('tar', ['-xf', good, '-C', dir]);
  const manifest = JSON.parse(await fs.readFile(path.join(dir, 'manifest.json'), 'utf8')) as { Layers: string[] }[];
  await fs.appendFile(path.join(dir, manifest[0]!.Layers[0]!), Buffer.alloc(1024));
  const bad = path.join(work, 'tampered.tar');
  await run('tar', ['-cf', bad, '-C', dir, '.']);
  await assert.rejects(im.import(createReadStream(bad)), /diffID/);
  assert.deepEqual(
    (await im.list()).map((i) => i.name),
    ['busybox:latest'],
    'only the built-in image is listed, nothing of the refused archives',
  );
  const gc = await im.prune();
  assert.ok(gc.removedBlobs.length >= 1, 'the stored blobs of the refused archive are collected');
  const busybox = await im.resolve('busybox');
  const kept = [busybox.digest, busybox.configDigest, ...busybox.layers.map((l) => l.digest)].sort();
  assert.deepEqual((await im.store.content.list()).sort(), kept, "only the built-in image's blobs remain");
});
