/**
 * Lets an unpacker read a blob while it is still being downloaded: the reader follows the ingest's
 * partial file as the download reports completed writes (no bytes are held in memory, and a slow
 * reader never slows the download), and ends only when the ingest has verified the whole blob, failing
 * if the ingest failed. A blob that was already stored, or finished before the reader came, is read
 * (verified) from the content store. Readers in other threads get the file itself (blobFile).
 */
import { promises as fs } from 'node:fs';
import { Readable } from 'node:stream';
import { errno } from '../lib/errors.js';
import type { BlobFile, BlobGrowth, FileBlobSource } from './blob-file.js';
import type { ContentStore } from './content-store.js';

const CHUNK = 256 * 1024;

/** The state of one blob's download, as its followers see it. */
export class BlobProgress implements BlobGrowth {
  file?: string;
  written = 0;
  finished = false;
  error?: unknown;
  private readonly watchers = new Set<() => void>();

  /** A promise settled at the next change (more bytes, writing started, finished). */
  next(): Promise<void> {
    return new Promise((resolve) => {
      const stop = this.watch(() => {
        stop();
        resolve();
      });
    });
  }

  watch(fn: () => void): () => void {
    const entry = () => fn();
    this.watchers.add(entry);
    return () => this.watchers.delete(entry);
  }

  private notify(): void {
    for (const w of [...this.watchers]) w();
  }

  writing(file: string): void {
    this.file = file;
    this.notify();
  }

  /** The partial file now holds the blob's first `bytes` bytes. */
  wrote(bytes: number): void {
    this.written = bytes;
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
      const finished = p.finished;
      if (finished && p.error) throw p.error;
      if (pos < p.written || finished) {
        const want = finished ? CHUNK : Math.min(CHUNK, p.written - pos);
        const buf = Buffer.allocUnsafe(want);
        const { bytesRead } = await fh.read(buf, 0, want, pos);
        if (bytesRead > 0) {
          pos += bytesRead;
          yield buf.subarray(0, bytesRead);
          continue;
        }
        if (finished) return;
      }
      // checked again with no await before waiting, so no change can slip in between
      if (!p.finished && pos >= p.written) await p.next();
    }
  } finally {
    await fh.close();
  }
}

/** A BlobSource over blobs being downloaded: `progress(digest)` says how each one stands. */
export function followingBlobs(content: ContentStore, progress: (digest: string) => BlobProgress | undefined): FileBlobSource {
  return {
    openBlob(digest: string): Readable {
      const p = progress(digest);
      return p ? Readable.from(follow(content, digest, p), { objectMode: false }) : content.openBlob(digest);
    },
    async blobFile(digest: string): Promise<BlobFile> {
      const p = progress(digest);
      if (!p) return content.blobFile(digest);
      while (!p.file && !p.finished) await p.next();
      if (p.error) throw p.error;
      if (!p.file) return content.blobFile(digest); // it was already stored
      return { path: p.file, fallback: content.blobPath(digest), growth: p };
    },
  };
}
