/**
 * Lets an unpacker read a blob while it is still being downloaded: the reader follows the ingest's
 * partial file as it grows (no bytes are held in memory, and a slow reader never slows the download),
 * and ends only when the ingest has verified the whole blob, failing if the ingest failed. A blob that
 * was already stored, or finished before the reader came, is read (verified) from the content store.
 */
import { promises as fs } from 'node:fs';
import { Readable } from 'node:stream';
import { errno } from '../lib/errors.js';
import type { ContentStore } from './content-store.js';
import type { BlobSource } from './types.js';

const CHUNK = 256 * 1024;

/** The state of one blob's download, as its followers see it. */
export class BlobProgress {
  file?: string;
  finished = false;
  error?: unknown;
  private wake: (() => void)[] = [];

  /** A promise settled at the next change (more bytes, writing started, finished). */
  next(): Promise<void> {
    return new Promise((r) => this.wake.push(r));
  }

  private notify(): void {
    const w = this.wake;
    this.wake = [];
    for (const r of w) r();
  }

  writing(file: string): void {
    this.file = file;
    this.notify();
  }

  progressed(): void {
    this.notify();
  }

  finish(error?: unknown): void {
    this.finished = true;
    this.error = error;
    this.notify();
  }
}

async function* follow(content: ContentStore, digest: string, p: BlobProgress): AsyncGenerator<Buffer> {
  while (!p.file && !p.finished) await p.next();
  if (p.error) throw p.error;
  if (!p.file) {
    yield* content.openBlob(digest) as AsyncIterable<Buffer>;
    return;
  }
  let fh: fs.FileHandle;
  try {
    fh = await fs.open(p.file, 'r');
  } catch (err) {
    if (errno(err) !== 'ENOENT') throw err;
    // finished (and moved into the store) before we opened it
    while (!p.finished) await p.next();
    if (p.error) throw p.error;
    yield* content.openBlob(digest) as AsyncIterable<Buffer>;
    return;
  }
  try {
    let pos = 0;
    for (;;) {
      const wait = p.next();
      const wasFinished = p.finished;
      const buf = Buffer.allocUnsafe(CHUNK);
      const { bytesRead } = await fh.read(buf, 0, CHUNK, pos);
      if (bytesRead > 0) {
        pos += bytesRead;
        yield buf.subarray(0, bytesRead);
        continue;
      }
      if (wasFinished) {
        if (p.error) throw p.error;
        return;
      }
      await wait;
    }
  } finally {
    await fh.close();
  }
}

/** A BlobSource over blobs being downloaded: `progress(digest)` says how each one stands. */
export function followingBlobs(content: ContentStore, progress: (digest: string) => BlobProgress | undefined): BlobSource {
  return {
    openBlob(digest: string): Readable {
      const p = progress(digest);
      return p ? Readable.from(follow(content, digest, p), { objectMode: false }) : content.openBlob(digest);
    },
  };
}
