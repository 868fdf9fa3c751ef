/**
 * Pulls from a real docker-registry on loopback: OCI and Docker manifests, gzip and plain layers,
 * indexes and manifest lists with several platforms, by tag and by digest.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { RealHost } from '../../../src/host/real-host.js';
import { chainIds } from '../../../src/image/chain-id.js';
import { Images } from '../../../src/image/images.js';
import type { OverlaySnapshotStore } from '../../../src/image/snapshots.js';
import { makeImage, makeIndex, makeLayer, pushBlob, pushImage, pushManifest, sha } from './image-builder.js';
import { startRegistry, tempDir, type TestRegistry } from './registry-fixture.js';

let reg: TestRegistry;
const dirs: string[] = [];

async function images(): Promise<Images> {
  const d = await tempDir('nubis-pull-');
  dirs.push(d);
  return new Images(d, new RealHost());
}

before(async () => {
  reg = await startRegistry();
});
after(async () => {
  await reg?.stop();
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
});

test('OCI manifest with gzip layers, by tag and by digest', async () => {
  const img = makeImage([await makeLayer({ 'a.txt': 'one' }), await makeLayer({ 'b.txt': 'two' })], { gzip: true });
  await pushImage(reg.base, 'oci/gz', 'v1', img);
  const im = await images();
  const res = await im.pull(`${reg.host}/oci/gz:v1`);
  assert.equal(res.name, `${reg.host}/oci/gz:v1`);
  assert.equal(res.image.digest, img.manifestDigest);
  assert.deepEqual(res.image.layers.map((l) => l.diffID), img.diffIDs);
  assert.deepEqual(res.image.layers.map((l) => l.digest), img.layerDigests);
  assert.ok(res.image.layers.every((l) => l.mediaType.endsWith('+gzip')));
  for (const d of [...img.blobs.keys(), img.manifestDigest]) assert.ok(await im.store.content.has(d), d);
  assert.equal((await im.resolve(`${reg.host}/oci/gz:v1`)).digest, img.manifestDigest);
  // layers were unpacked while they arrived
  const chain = chainIds(img.diffIDs);
  assert.deepEqual(await im.snapshots.list(), [...chain].sort());
  const snaps = im.snapshots as OverlaySnapshotStore;
  assert.equal(await fs.readFile(path.join(snaps.treeOf(chain[0]!), 'a.txt'), 'utf8'), 'one');
  assert.equal(await fs.readFile(path.join(snaps.treeOf(chain[1]!), 'b.txt'), 'utf8'), 'two');

  const byDigest = await im.pull(`${reg.host}/oci/gz@${img.manifestDigest}`);
  assert.equal(byDigest.name, `${reg.host}/oci/gz@${img.manifestDigest}`);
  assert.equal(byDigest.fetchedBytes, 0, 'blobs already stored are not fetched again');
  const names = (await im.list()).map((i) => `${i.repository}:${i.tag}`).sort();
  // image ls always lists the built-in busybox too
  assert.deepEqual(names, [`${reg.host}/oci/gz:<none>`, `${reg.host}/oci/gz:v1`, 'busybox:latest']);
});

test('Docker v2.2 manifest with uncompressed layers', async () => {
  const img = makeImage([await makeLayer({ 'etc/hello': 'docker' })], { format: 'docker' });
  await pushImage(reg.base, 'docker/plain', 'latest', img);
  const im = await images();
  const res = await im.pull(`${reg.host}/docker/plain`);
  assert.equal(res.image.digest, img.manifestDigest);
  assert.equal(res.image.layers[0]?.mediaType, 'application/vnd.docker.image.rootfs.diff.tar');
  assert.equal(res.image.layers[0]?.diffID, res.image.layers[0]?.digest);
  assert.deepEqual(res.image.config.config?.Cmd, ['sh']);
});

for (const format of ['oci', 'docker'] as const) {
  test(`${format} index with several platforms resolves to linux/amd64`, async () => {
    const arm = makeImage([await makeLayer({ arch: 'arm64' })], { format, arch: 'arm64', gzip: true });
    const amd = makeImage([await makeLayer({ arch: 'amd64' })], { format, gzip: true });
    const armv7 = makeImage([await makeLayer({ arch: 'arm' })], { format, arch: 'arm' });
    for (const i of [arm, amd, armv7]) {
      for (const b of i.blobs.values()) await pushBlob(reg.base, `multi/${format}`, b);
      await pushManifest(reg.base, `multi/${format}`, i.manifestDigest, i.manifest, i.mediaType);
    }
    const index = makeIndex(
      [
        { image: arm, os: 'linux', arch: 'arm64' },
        { image: armv7, os: 'linux', arch: 'arm', variant: 'v7' },
        { image: amd, os: 'linux', arch: 'amd64' },
      ],
      format,
    );
    await pushManifest(reg.base, `multi/${format}`, 'v2', index.data, index.mediaType);
    const im = await images();
    const res = await im.pull(`${reg.host}/multi/${format}:v2`);
    assert.equal(res.image.digest, amd.manifestDigest);
    assert.equal(res.indexDigest, index.digest);
    assert.equal(await im.store.content.has(arm.layerDigests[0]!), false, 'other platforms are not fetched');
    // the index is kept by gc while the ref lives
    const gc = await im.prune();
    assert.deepEqual(gc.removedBlobs, []);
    assert.ok(await im.store.content.has(index.digest));

    const only = makeIndex([{ image: arm, os: 'linux', arch: 'arm64' }], format);
    await pushManifest(reg.base, `multi/${format}`, 'armonly', only.data, only.mediaType);
    await assert.rejects(im.pull(`${reg.host}/multi/${format}:armonly`), /has no linux\/amd64 variant \(it has: linux\/arm64\)/);
  });
}

test('a missing image or tag fails with NotFound; a manifest with a lying digest is refused', async () => {
  const im = await images();
  await assert.rejects(im.pull(`${reg.host}/nothing/here:v1`), (e: Error & { code?: string }) => e.code === 'NotFound');
  await assert.rejects(im.pull(`${reg.host}/oci/gz@${sha('no such manifest')}`), (e: Error & { code?: string }) => e.code === 'NotFound');
  assert.deepEqual((await im.list()).map((i) => i.name), ['busybox:latest'], 'nothing but the built-in busybox');
});

test('pull and then remove collects every blob of the image', async () => {
  const img = makeImage([await makeLayer({ x: 'gc' })], { gzip: true });
  await pushImage(reg.base, 'gc/me', 'v1', img);
  const im = await images();
  await im.pull(`${reg.host}/gc/me:v1`);
  const res = await im.remove([`${reg.host}/gc/me:v1`]);
  assert.deepEqual(res.untagged, [`${reg.host}/gc/me:v1`]);
  assert.deepEqual(res.pruned.removedBlobs.sort(), [...img.blobs.keys(), img.manifestDigest].sort());
  assert.deepEqual(await im.store.content.list(), []);
  assert.deepEqual(res.pruned.removedSnapshots, chainIds(img.diffIDs));
  assert.deepEqual(await im.snapshots.list(), []);
});
