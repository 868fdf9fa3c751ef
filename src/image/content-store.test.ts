import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { after, test } from 'node:test';
import { ContentStore, sha256Digest } from './content-store.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
});
async function store(): Promise<ContentStore> {
  const d = await fs.mkdtemp(path.join(os.tmpdir(), 'nubis-cs-'));
  dirs.push(d);
  return new ContentStore(d);
}

test('put and read verify content', async () => {
  const cs = await store();
  const d = await cs.putBlob('hello');
  assert.equal(d, sha256Digest('hello'));
  assert.equal((await cs.readBlob(d)).toString(), 'hello');
  assert.equal(await text(cs.openBlob(d)), 'hello');
  await assert.rejects(cs.putBlob('x', sha256Digest('y')), /does not match/);
});

test('a corrupt blob fails on read, and the stream errors at the end', async () => {
  const cs = await store();
  const d = await cs.putBlob('good content');
  await fs.writeFile(cs.blobPath(d), 'evil content');
  await assert.rejects(cs.readBlob(d), /corrupt/);
  await assert.rejects(text(cs.openBlob(d)), /corrupt/);
});

test('a missing blob stream errors with NotFound', async () => {
  const cs = await store();
  await assert.rejects(text(cs.openBlob(sha256Digest('none'))), (e: Error & { code?: string }) => e.code === 'NotFound');
});

test('ingest verifies, and a wrong stream leaves nothing behind', async () => {
  const cs = await store();
  const d = sha256Digest('abcdef');
  await assert.rejects(cs.ingest(d, async () => ({ stream: Readable.from([Buffer.from('abcdeX')]), offset: 0 })), /failed verification/);
  assert.equal(await cs.has(d), false);
  assert.deepEqual(await fs.readdir(cs.ingestDir), []);
  assert.equal(await cs.ingest(d, async () => ({ stream: Readable.from([Buffer.from('abcdef')]), offset: 0 }), { size: 6 }), 6);
  assert.equal(await cs.has(d), true);
});

test('an interrupted ingest resumes from the partial file', async () => {
  const cs = await store();
  const data = Buffer.from('0123456789'.repeat(1000));
  const d = sha256Digest(data);
  const broken = Readable.from(
    (async function* () {
      yield data.subarray(0, 4000);
      await new Promise((r) => setTimeout(r, 50));
      throw new Error('connection reset');
    })(),
  );
  await assert.rejects(cs.ingest(d, async () => ({ stream: broken, offset: 0 })), /connection reset/);
  assert.equal(await cs.has(d), false);
  const offsets: number[] = [];
  const fetched = await cs.ingest(d, async (offset) => {
    offsets.push(offset);
    return { stream: Readable.from([data.subarray(offset)]), offset };
  });
  assert.deepEqual(offsets, [4000]);
  assert.equal(fetched, data.length - 4000);
  assert.deepEqual(await cs.readBlob(d), data);
  // a source that ignores the range restarts from zero and still verifies
  await cs.delete(d);
  await fs.writeFile(path.join(cs.ingestDir, `${d.slice(7)}.partial`), data.subarray(0, 10));
  assert.equal(await cs.ingest(d, async () => ({ stream: Readable.from([data]), offset: 0 })), data.length);
  assert.deepEqual(await cs.readBlob(d), data);
});

test('putStream stores under the computed digest; list and delete', async () => {
  const cs = await store();
  const r = await cs.putStream(Readable.from([Buffer.from('a'), Buffer.from('b')]));
  assert.deepEqual(r, { digest: sha256Digest('ab'), size: 2 });
  assert.deepEqual(await cs.list(), [r.digest]);
  await cs.delete(r.digest);
  assert.deepEqual(await cs.list(), []);
});
