/**
 * An interrupted pull resumes: a `nubis ctr image pull` is killed while one layer is half-way (a proxy
 * stalls it), and the next pull fetches neither the finished layers again nor the bytes already there.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { RealHost } from '../../../src/host/real-host.js';
import { Images } from '../../../src/image/images.js';
import { makeImage, makeLayer, pushImage } from './image-builder.js';
import { startCountingProxy, startRegistry, tempDir } from './registry-fixture.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function waitFor(what: () => Promise<string>, cond: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${await what()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const size = (f: string) => fs.stat(f).then((s) => s.size, () => -1);

test('an interrupted pull resumes without fetching finished blobs again', async () => {
  const reg = await startRegistry();
  cleanups.push(reg.stop);
  const proxy = await startCountingProxy(reg.base);
  cleanups.push(proxy.stop);
  const data = await tempDir('nubis-resume-');
  cleanups.push(() => fs.rm(data, { recursive: true, force: true }));

  const layers = [
    await makeLayer({ a: randomBytes(1 << 20) }),
    await makeLayer({ b: randomBytes(1 << 20) }),
    await makeLayer({ c: randomBytes(3 << 20) }),
  ];
  const img = makeImage(layers);
  await pushImage(reg.base, 'resume/img', 'v1', img);
  const [done1, done2, stalled] = img.layerDigests as [string, string, string];
  proxy.stall.digest = stalled;
  proxy.stall.afterBytes = 1 << 20;

  const ref = `${proxy.host}/resume/img:v1`;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cmd/nubis.ts', '--data-dir', data, 'ctr', 'image', 'pull', ref], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise((r) => child.once('exit', r));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  const blobs = path.join(data, 'images', 'blobs', 'sha256');
  const partial = path.join(data, 'images', 'ingest', `${stalled.slice(7)}.partial`);
  const state = async () =>
    `the first layers and half of the last: sizes ${await size(path.join(blobs, done1.slice(7)))}, ` +
    `${await size(path.join(blobs, done2.slice(7)))}, partial ${await size(partial)}; proxy sent ${proxy.stall.sent}; ` +
    `GETs ${JSON.stringify(proxy.gets)}; stderr: ${stderr}`;
  await waitFor(state, async () => {
    if (child.exitCode !== null) throw new Error(`nubis pull exited ${child.exitCode}: ${stderr}`);
    return (await size(path.join(blobs, done1.slice(7)))) > 0 && (await size(path.join(blobs, done2.slice(7)))) > 0 && (await size(partial)) === 1 << 20;
  });
  child.kill('SIGKILL');
  await exited;
  assert.equal(await size(path.join(blobs, stalled.slice(7))), -1, 'the stalled layer is not complete');

  proxy.stall.digest = '';
  const im = new Images(data, new RealHost());
  const res = await im.pull(ref);
  assert.equal(res.image.digest, img.manifestDigest);
  assert.equal(proxy.blobGets(done1).length, 1, 'finished layer 1 fetched once');
  assert.equal(proxy.blobGets(done2).length, 1, 'finished layer 2 fetched once');
  assert.equal(proxy.blobGets(img.configDigest).length, 1, 'config fetched once');
  const again = proxy.blobGets(stalled);
  assert.equal(again.length, 2);
  assert.equal(again[1]?.range, `bytes=${1 << 20}-`);
  assert.equal(again[1]?.status, 206);
  assert.equal(res.fetchedBytes, (layers[2] as Buffer).length - (1 << 20));
  assert.deepEqual(await fs.readdir(path.join(data, 'images', 'ingest')).then((n) => n.filter((x) => x.endsWith('.partial'))), []);
});
