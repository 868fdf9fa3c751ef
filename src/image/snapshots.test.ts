import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { FakeHost } from '../host/fake-host.js';
import { isNubisError, invalid } from '../lib/errors.js';
import { chainIds } from './chain-id.js';
import { OverlaySnapshotStore } from './snapshots.js';
import { imageOf, MemoryBlobs, sha256, tarOf } from './unpack-fixtures.js';

let base: string;
before(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'nubis-snap-'));
});
after(() => fs.rmSync(base, { recursive: true, force: true }));

function fresh() {
  const root = fs.mkdtempSync(path.join(base, 's-'));
  return { root, store: new OverlaySnapshotStore(root, new FakeHost()), blobs: new MemoryBlobs() };
}

const noTemps = (root: string) => assert.deepEqual(fs.readdirSync(root).filter((n) => n.startsWith('tmp-')), []);

test('prepare unpacks each layer once, keyed by chain ID, and returns lowerdirs topmost first', async () => {
  const { root, store, blobs } = fresh();
  const l1 = blobs.add(await tarOf([{ name: 'one', body: '1' }]));
  const l2 = blobs.add(await tarOf([{ name: 'two', body: '2' }]), { gzip: false });
  const image = imageOf([l1, l2]);
  const lowers = await store.prepare(image, blobs);
  assert.equal(lowers.length, 2);
  assert.equal(fs.readFileSync(path.join(lowers[0]!, 'two'), 'utf8'), '2');
  assert.equal(fs.readFileSync(path.join(lowers[1]!, 'one'), 'utf8'), '1');
  const chain = chainIds([l1.diffID, l2.diffID]);
  assert.deepEqual(await store.list(), [...chain].sort());
  assert.equal(fs.realpathSync(lowers[0]!), fs.realpathSync(store.treeOf(chain[1]!)));
  for (const l of lowers) assert.ok(l.length < root.length + 25, `lowerdir ${l} is short`);
  const meta = JSON.parse(fs.readFileSync(path.join(root, chain[1]!.slice(7), 'meta.json'), 'utf8'));
  assert.equal(meta.diffID, l2.diffID);
  assert.equal(meta.digest, l2.digest);

  blobs.opened = [];
  assert.deepEqual(await store.prepare(image, blobs), lowers);
  assert.deepEqual(blobs.opened, [], 'nothing unpacked again');

  const other = imageOf([l1, blobs.add(await tarOf([{ name: 'three', body: '3' }]))], 'other:1');
  await store.prepare(other, blobs);
  assert.equal(blobs.opened.length, 1, 'the shared base layer is reused');
  assert.equal((await store.list()).length, 3);
  noTemps(root);
});

test('the same layer at another position (another chain) gets its own snapshot', async () => {
  const { store, blobs } = fresh();
  const a = blobs.add(await tarOf([{ name: 'a', body: 'a' }]));
  const b = blobs.add(await tarOf([{ name: 'b', body: 'b' }]));
  await store.prepare(imageOf([a, b]), blobs);
  await store.prepare(imageOf([b]), blobs);
  assert.equal((await store.list()).length, 3);
});

test('prune removes snapshots not kept, with their links, and reports them', async () => {
  const { root, store, blobs } = fresh();
  const a = blobs.add(await tarOf([{ name: 'a', body: 'a' }]));
  const b = blobs.add(await tarOf([{ name: 'b', body: 'b' }]));
  const lowers = await store.prepare(imageOf([a, b]), blobs);
  const [ca, cb] = chainIds([a.diffID, b.diffID]);
  assert.deepEqual(await store.prune(new Set([ca!])), [cb]);
  assert.deepEqual(await store.list(), [ca]);
  assert.ok(!fs.existsSync(path.join(root, cb!.slice(7))));
  assert.throws(() => fs.lstatSync(lowers[0]!), /ENOENT/);
  assert.ok(fs.existsSync(path.join(lowers[1]!, 'a')));
  assert.deepEqual(await store.prune(new Set()), [ca]);
  assert.deepEqual(await store.list(), []);
  assert.deepEqual(fs.readdirSync(path.join(root, 'l')), []);
  noTemps(root);
});

test('temp dirs of dead processes are removed at the next prepare; live ones are kept', async () => {
  const { root, store, blobs } = fresh();
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const deadDir = path.join(root, `tmp-${dead.stdout}-abcd`);
  const liveDir = path.join(root, `tmp-${process.ppid}-abcd`);
  fs.mkdirSync(path.join(deadDir, 'fs'), { recursive: true });
  fs.writeFileSync(path.join(deadDir, 'fs', 'half'), 'x');
  fs.mkdirSync(liveDir);
  await store.prepare(imageOf([blobs.add(await tarOf([{ name: 'a', body: 'a' }]))]), blobs);
  assert.ok(!fs.existsSync(deadDir));
  assert.ok(fs.existsSync(liveDir));
  fs.rmSync(liveDir, { recursive: true });
});

test('a failing layer leaves the layers below it and nothing of itself', async () => {
  const { root, store, blobs } = fresh();
  const good = blobs.add(await tarOf([{ name: 'a', body: 'a' }]));
  const tar = await tarOf([{ name: 'b', body: 'b' }]);
  const bad = blobs.add(tar, { diffID: sha256(Buffer.from('lie')) });
  await assert.rejects(store.prepare(imageOf([good, bad]), blobs), (e) => {
    return isNubisError(e, 'Invalid') && /^layer 2\/2 \(sha256:[0-9a-f]{12}\): layer content does not match/.test(e.message);
  });
  assert.deepEqual(await store.list(), [good.diffID]);
  noTemps(root);
});

test('a blob that fails its digest at the end leaves nothing behind', async () => {
  const { root, store, blobs } = fresh();
  const layer = blobs.add(await tarOf([{ name: 'big', body: Buffer.alloc(200_000, 7) }]));
  const failing = {
    openBlob: (d: string) => {
      const good = blobs.openBlob(d);
      return Readable.from(
        (async function* () {
          yield* good;
          throw invalid(`blob ${d} does not match its digest`);
        })(),
      );
    },
  };
  await assert.rejects(store.prepare(imageOf([layer]), failing), (e) => isNubisError(e, 'Invalid') && /does not match its digest/.test(e.message));
  assert.deepEqual(await store.list(), []);
  noTemps(root);
});

test('a missing blob and an aborted prepare leave nothing behind', async () => {
  const { root, store, blobs } = fresh();
  const layer = blobs.add(await tarOf([{ name: 'a', body: 'a' }]));
  blobs.blobs.clear();
  await assert.rejects(store.prepare(imageOf([layer]), blobs), (e) => isNubisError(e, 'NotFound'));
  const big = new MemoryBlobs();
  const many = await tarOf(Array.from({ length: 400 }, (_, i) => ({ name: `f${i}`, body: 'x'.repeat(1000) })));
  const l = big.add(many, { gzip: false });
  const ac = new AbortController();
  const slow = {
    openBlob: (d: string) => {
      const inner = big.openBlob(d);
      return Readable.from(
        (async function* () {
          let n = 0;
          for await (const c of inner) {
            if (++n === 2) ac.abort(new Error('stop now'));
            yield c as Buffer;
          }
        })(),
      );
    },
  };
  await assert.rejects(store.prepare(imageOf([l]), slow, ac.signal), /stop now/);
  assert.deepEqual(await store.list(), []);
  noTemps(root);
});

test('concurrent prepares of one image unpack each layer once', async () => {
  const { root, store, blobs } = fresh();
  const layers = [];
  for (let i = 0; i < 3; i++) layers.push(blobs.add(await tarOf([{ name: `f${i}`, body: String(i) }])));
  const image = imageOf(layers);
  const other = new OverlaySnapshotStore(root, new FakeHost());
  const [x, y] = await Promise.all([store.prepare(image, blobs), other.prepare(image, blobs)]);
  assert.deepEqual(x, y);
  assert.equal(blobs.opened.length, 3);
  noTemps(root);
});

test('an image too deep for one overlay mount fails clearly before unpacking anything', async () => {
  const { store, blobs } = fresh();
  const layers = [];
  for (let i = 0; i < 80; i++) layers.push(blobs.add(await tarOf([{ name: `f${i}`, body: String(i) }])));
  await assert.rejects(store.prepare(imageOf(layers), blobs), (e) => isNubisError(e, 'Invalid') && /80 layers: too many/.test(e.message));
  assert.deepEqual(blobs.opened, []);
});
