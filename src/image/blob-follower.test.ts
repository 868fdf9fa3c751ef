import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { after, test } from 'node:test';
import { BlobProgress, followingBlobs } from './blob-follower.js';
import { ContentStore, sha256Digest } from './content-store.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
});

async function store(): Promise<ContentStore> {
  const d = await fs.mkdtemp(path.join(os.tmpdir(), 'nubis-follow-'));
  dirs.push(d);
  return new ContentStore(d);
}

/** An ingest fed in slices with pauses, so the reader must wait for the file to grow. */
function slowSource(data: Buffer, fail = false) {
  return async () => ({
    offset: 0,
    stream: Readable.from(
      (async function* () {
        for (let i = 0; i < data.length; i += 1000) {
          yield data.subarray(i, i + 1000);
          await new Promise((r) => setTimeout(r, 2));
        }
        if (fail) yield Buffer.from('garbage');
      })(),
    ),
  });
}

test('a reader follows a blob while it downloads and gets every byte', async () => {
  const cs = await store();
  const data = Buffer.from(Array.from({ length: 20_000 }, (_, i) => i % 251));
  const digest = sha256Digest(data);
  const p = new BlobProgress();
  const reading = buffer(followingBlobs(cs, () => p).openBlob(digest));
  await cs
    .ingest(digest, slowSource(data), { onWriting: (f) => p.writing(f), onWritten: (b) => p.wrote(b) })
    .then(() => p.finish(), (e: unknown) => p.finish(e));
  assert.deepEqual(await reading, data);
  // a reader that comes after the download reads the stored blob
  assert.deepEqual(await buffer(followingBlobs(cs, () => p).openBlob(digest)), data);
});

test('a download that fails verification fails its reader at the end', async () => {
  const cs = await store();
  const data = Buffer.alloc(5000, 1);
  const digest = sha256Digest(data);
  const p = new BlobProgress();
  const reading = buffer(followingBlobs(cs, () => p).openBlob(digest));
  await assert.rejects(
    cs.ingest(digest, slowSource(data, true), { onWriting: (f) => p.writing(f), onWritten: (b) => p.wrote(b) }).catch((e: unknown) => {
      p.finish(e);
      throw e;
    }),
  );
  await assert.rejects(reading, /larger than|failed verification/);
});
