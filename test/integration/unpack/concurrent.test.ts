/** Two processes preparing the same image at once: each layer is unpacked once, both get the same roots. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, test } from 'node:test';
import { chainIds } from '../../../src/image/chain-id.js';
import { imageOf, MemoryBlobs, tarOf } from '../../../src/image/unpack-fixtures.js';

const base = fs.mkdtempSync(path.join(os.tmpdir(), 'nubis-unpack-conc-'));
after(() => fs.rmSync(base, { recursive: true, force: true }));

test('concurrent prepare of one image from two processes', async () => {
  const blobs = new MemoryBlobs();
  const layers = [];
  for (let i = 0; i < 3; i++) {
    const files = Array.from({ length: 300 }, (_, j) => ({ name: `l${i}/f${j}`, body: `${i}:${j}`.repeat(100) }));
    layers.push(blobs.add(await tarOf(files)));
  }
  const image = imageOf(layers);
  const dir = path.join(base, 'blobs');
  fs.mkdirSync(dir);
  for (const [digest, b] of blobs.blobs) fs.writeFileSync(path.join(dir, digest.slice(7)), b);
  fs.writeFileSync(path.join(dir, 'image.json'), JSON.stringify(image));
  const root = path.join(base, 'snapshots');
  const child = path.join(import.meta.dirname, 'prepare-child.ts');
  const run = () => promisify(execFile)(process.execPath, ['--import', 'tsx', child, root, dir], { encoding: 'utf8' });
  const [a, b] = await Promise.all([run(), run()]);
  const ra = JSON.parse(a.stdout) as { lowers: string[]; opened: string[] };
  const rb = JSON.parse(b.stdout) as { lowers: string[]; opened: string[] };
  assert.deepEqual(ra.lowers, rb.lowers);
  assert.deepEqual([...ra.opened, ...rb.opened].sort(), layers.map((l) => l.digest).sort(), 'each layer unpacked once');
  const chain = chainIds(layers.map((l) => l.diffID));
  assert.deepEqual(fs.readdirSync(root).sort(), [...chain.map((c) => c.slice(7)), 'l', 'locks'].sort());
  assert.deepEqual(fs.readdirSync(path.join(root, 'locks')), []);
  assert.equal(fs.readFileSync(path.join(ra.lowers[0]!, 'l2/f299'), 'utf8'), '2:299'.repeat(100));
});
