import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { FakeHost } from '../host/fake-host.js';
import { chainIds } from './chain-id.js';
import { Images } from './images.js';
import { MediaType } from './manifest.js';
import type { ImageRecord, SnapshotStore } from './types.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
});

/** A FakeHost that answers `busybox --list-full` like the real one (the binary itself is only read). */
function host(): FakeHost {
  const h = new FakeHost();
  h.responders.push((cmd, args) =>
    args[0] === '--list-full' ? { code: 0, signal: null, stdout: 'bin/sh\nbin/ls\nusr/bin/[\n', stderr: '' } : undefined,
  );
  return h;
}

/** A record-keeping snapshot store. */
class MemSnapshots implements SnapshotStore {
  ids = new Set<string>();
  async prepare(image: ImageRecord): Promise<string[]> {
    const ids = chainIds(image.layers.map((l) => l.diffID));
    for (const id of ids) this.ids.add(id);
    return ids.reverse().map((id) => `/snap/${id}`);
  }
  async list(): Promise<string[]> {
    return [...this.ids];
  }
  async prune(keep: Set<string>): Promise<string[]> {
    const gone = [...this.ids].filter((id) => !keep.has(id));
    for (const id of gone) this.ids.delete(id);
    return gone;
  }
}

async function images(opts: ConstructorParameters<typeof Images>[2] = {}): Promise<Images> {
  const d = await fs.mkdtemp(path.join(os.tmpdir(), 'nubis-images-'));
  dirs.push(d);
  return new Images(d, host(), opts);
}

/** Stores a one-layer image with the given layer content under `name`. */
async function addImage(im: Images, name: string, layerText: string, created = '2020-01-01T00:00:00Z'): Promise<ImageRecord> {
  const cs = im.store.content;
  const layer = await cs.putBlob(layerText);
  const config = JSON.stringify({ created, architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layer] } });
  const cd = await cs.putBlob(config);
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: cd, size: config.length },
    layers: [{ mediaType: MediaType.ociLayer, digest: layer, size: layerText.length }],
  };
  const md = await cs.putBlob(JSON.stringify(manifest));
  await im.store.setRef(name, md);
  return im.resolve(name);
}

test('busybox resolves to the built-in image, made once and deterministically', async () => {
  const a = await images();
  const b = await images();
  const ra = await a.resolve('busybox');
  const rb = await b.resolve('busybox:latest');
  assert.equal(ra.name, 'busybox:latest');
  assert.equal(ra.digest, rb.digest);
  assert.equal(ra.layers.length, 1);
  assert.deepEqual(ra.config.config?.Cmd, ['sh']);
  assert.equal((await a.resolve('busybox')).digest, ra.digest);
  const list = await a.list();
  assert.deepEqual(
    list.map((i) => [i.repository, i.tag]),
    [['busybox', 'latest']],
  );
  const tarList = execFileSync('tar', ['tf', a.store.content.blobPath(ra.layers[0]!.digest)], { encoding: 'utf8' });
  assert.match(tarList, /^bin\/busybox$/m);
  assert.match(tarList, /^usr\/bin\/\[$/m);
  assert.match(tarList, /^etc\/passwd$/m);
});

test('unknown images fail with NotFound and a pull hint; IDs and digests resolve', async () => {
  const im = await images();
  await assert.rejects(im.resolve('foo'), {
    message: 'image "foo:latest" not found locally: pull it with "nubis ctr image pull foo"',
  });
  const r = await addImage(im, 'docker.io/library/foo:latest', 'layer-foo');
  assert.equal((await im.resolve('foo')).digest, r.digest);
  assert.equal((await im.resolve(r.configDigest.slice(7, 19))).digest, r.digest);
  assert.equal((await im.resolve(r.digest)).digest, r.digest);
});

test('rm untags, removes by ID with --force for several names, and gc frees blobs and snapshots', async () => {
  const snaps = new MemSnapshots();
  const im = await images({ snapshots: snaps });
  const a = await addImage(im, 'docker.io/library/a:latest', 'layer-a');
  await im.store.setRef('docker.io/library/a:v2', a.digest);
  const b = await addImage(im, 'docker.io/library/b:latest', 'layer-b');
  await im.prepareRootfs('a');
  await im.prepareRootfs('b');
  assert.equal(snaps.ids.size, 2);

  await assert.rejects(im.remove([a.configDigest.slice(7, 19)]), (e: Error & { code?: string }) => e.code === 'Conflict');
  const r1 = await im.remove(['a']);
  assert.deepEqual(r1.untagged, ['docker.io/library/a:latest']);
  assert.deepEqual(r1.pruned.removedBlobs, []);
  const r2 = await im.remove(['a:v2']);
  assert.equal(r2.pruned.removedBlobs.length, 3);
  assert.equal(r2.pruned.removedSnapshots.length, 1);
  assert.equal(await im.store.content.has(a.digest), false);
  assert.equal(await im.store.content.has(b.digest), true);
  assert.equal((await im.resolve('b')).digest, b.digest);
});

test('an image a container uses is kept by gc and needs --force to remove', async () => {
  const inUse: string[] = [];
  const im = await images({ inUse: async () => inUse });
  const a = await addImage(im, 'docker.io/library/a:latest', 'layer-a');
  inUse.push(a.digest);
  await assert.rejects(im.remove(['a']), /used by a container/);
  const res = await im.remove(['a'], { force: true });
  assert.deepEqual(res.untagged, ['docker.io/library/a:latest']);
  assert.deepEqual(res.pruned.removedBlobs, []);
  inUse.length = 0;
  assert.equal((await im.prune()).removedBlobs.length, 3);
});
