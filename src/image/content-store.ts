/**
 * The content-addressed blob store of an OCI image layout: <root>/blobs/sha256/<hex>. Every blob is
 * verified against its sha256 as it is written (streamed) and as it is read. Writes go through ingest
 * files (<root>/ingest/<hex>.partial) that survive an interruption, so a later write of the same digest
 * continues where the last one stopped, then move into place with an atomic rename.
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { Readable, Transform, Writable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { errno, invalid, isNubisError, notFound } from '../lib/errors.js';
import { withLock } from '../lib/lock.js';
import { isDigest } from './reference.js';
import type { BlobFile, FileBlobSource } from './blob-file.js';

/** What an ingest's source returns: the bytes from `offset` on (0 if it could not start further in). */
export interface BlobFetch {
  stream: Readable;
  offset: number;
}

export interface IngestOptions {
  /** The expected size; a blob of another size fails. */
  size?: number;
  signal?: AbortSignal;
  /** Called with the number of bytes of the blob now on disk (including resumed ones). */
  onProgress?: (bytes: number) => void;
  /**
   * Called once the partial file is open for writing and holds the blob's first bytes (resumed ones
   * included), so a reader may follow it as it grows (see blob-follower.ts).
   */
  onWriting?: (partialFile: string) => void;
  /** Called whenever more of the blob is in the partial file: the bytes from 0 to `bytes` are there. */
  onWritten?: (bytes: number) => void;
}

/** Writes `bufs` at `pos` in one writev call where it can, looping over short writes. */
async function writeAll(fh: fs.FileHandle, bufs: Buffer[], pos: number): Promise<void> {
  while (bufs.length > 0) {
    let { bytesWritten: n } = await fh.writev(bufs, pos);
    pos += n;
    while (bufs.length > 0 && n >= (bufs[0] as Buffer).length) n -= (bufs.shift() as Buffer).length;
    if (n > 0) bufs[0] = (bufs[0] as Buffer).subarray(n);
  }
}

/**
 * The sink of an ingest: writes the chunks that piled up during the last write with one writev (fewer
 * system calls and thread-pool trips than one write per network chunk) and reports each completed
 * write, so readers know how far the file holds the blob. It takes up to 8 MiB while a write waits for
 * the thread pool (busy with gunzip during a pull) before it holds back the network.
 */
class PartialFileSink extends Writable {
  constructor(
    private readonly fh: fs.FileHandle,
    private pos: number,
    private readonly onWritten?: (bytes: number) => void,
  ) {
    super({ highWaterMark: 8 << 20 });
  }

  private put(bufs: Buffer[], cb: (err?: Error | null) => void): void {
    const len = bufs.reduce((n, b) => n + b.length, 0);
    writeAll(this.fh, bufs, this.pos).then(() => {
      this.pos += len;
      this.onWritten?.(this.pos);
      cb();
    }, cb);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.put([chunk], cb);
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    this.put(chunks.map((c) => c.chunk), cb);
  }
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function sha256Digest(data: string | Uint8Array): string {
  return `sha256:${sha256Hex(data)}`;
}

function hexOf(digest: string): string {
  if (!isDigest(digest)) throw invalid(`unsupported or malformed digest "${digest}"`);
  return digest.slice('sha256:'.length);
}

/** Passes bytes through, hashing them; fails at the end if they do not match `digest`. */
export class VerifyStream extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private bytes = 0;

  constructor(
    private readonly digest: string,
    private readonly what = 'blob',
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    const got = `sha256:${this.hash.digest('hex')}`;
    if (got !== this.digest) cb(invalid(`${this.what} ${this.digest} is corrupt: its content hashes to ${got}`));
    else cb();
  }
}

/** Passes bytes through, counting and hashing them: digest() once the stream has ended. */
export class DigestCounter extends Transform {
  private readonly hash: Hash = createHash('sha256');
  size = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    cb(null, chunk);
  }

  digest(): string {
    return `sha256:${this.hash.digest('hex')}`;
  }
}

export class ContentStore implements FileBlobSource {
  readonly blobsDir: string;
  readonly ingestDir: string;

  constructor(readonly root: string) {
    this.blobsDir = path.join(root, 'blobs', 'sha256');
    this.ingestDir = path.join(root, 'ingest');
  }

  blobPath(digest: string): string {
    return path.join(this.blobsDir, hexOf(digest));
  }

  async has(digest: string): Promise<boolean> {
    try {
      await fs.access(this.blobPath(digest));
      return true;
    } catch (err) {
      if (errno(err) === 'ENOENT') return false;
      throw err;
    }
  }

  async size(digest: string): Promise<number> {
    try {
      return (await fs.stat(this.blobPath(digest))).size;
    } catch (err) {
      if (errno(err) === 'ENOENT') throw notFound(`blob ${digest} is not in the content store`, err);
      throw err;
    }
  }

  /**
   * Marks an existing blob as just written (so gc under a lease spares it, see ImageStore.withLease);
   * false if the blob is not there.
   */
  async touch(digest: string): Promise<boolean> {
    const now = new Date();
    try {
      await fs.utimes(this.blobPath(digest), now, now);
      return true;
    } catch (err) {
      if (errno(err) === 'ENOENT') return false;
      throw err;
    }
  }

  /** A stream of the blob's bytes, verified as it is read: it errors at the end if the content is corrupt. */
  openBlob(digest: string): Readable {
    let file: string;
    try {
      file = this.blobPath(digest);
    } catch (err) {
      return new Readable({ read() { this.destroy(err as Error); } });
    }
    const verify = new VerifyStream(digest);
    const src = createReadStream(file);
    src.on('error', (err) =>
      verify.destroy(errno(err) === 'ENOENT' ? notFound(`blob ${digest} is not in the content store`, err) : err),
    );
    return src.pipe(verify);
  }

  /** Where a stored blob is on disk; a reader must verify it. */
  async blobFile(digest: string): Promise<BlobFile> {
    if (!(await this.has(digest))) throw notFound(`blob ${digest} is not in the content store`);
    return { path: this.blobPath(digest), verify: digest };
  }

  /** The whole blob, verified. */
  async readBlob(digest: string): Promise<Buffer> {
    let data: Buffer;
    try {
      data = await fs.readFile(this.blobPath(digest));
    } catch (err) {
      if (errno(err) === 'ENOENT') throw notFound(`blob ${digest} is not in the content store`, err);
      throw err;
    }
    const got = sha256Digest(data);
    if (got !== digest) throw invalid(`blob ${digest} is corrupt: its content hashes to ${got}`);
    return data;
  }

  async readJsonBlob<T>(digest: string): Promise<T> {
    const data = await this.readBlob(digest);
    try {
      return JSON.parse(data.toString('utf8')) as T;
    } catch (err) {
      throw invalid(`blob ${digest} is not valid JSON`, err);
    }
  }

  /** Stores bytes under their own digest (a no-op if present); returns the digest. */
  async putBlob(data: string | Uint8Array, expected?: string): Promise<string> {
    const digest = sha256Digest(data);
    if (expected && expected !== digest) throw invalid(`content does not match digest ${expected} (got ${digest})`);
    if (await this.touch(digest)) return digest;
    await this.ensureDirs();
    const tmp = path.join(this.ingestDir, `put-${randomBytes(8).toString('hex')}.tmp`);
    try {
      await fs.writeFile(tmp, data);
      await fs.rename(tmp, this.blobPath(digest));
    } finally {
      await fs.rm(tmp, { force: true });
    }
    return digest;
  }

  /** Stores a stream of unknown digest; returns its digest and size. */
  async putStream(src: Readable | AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<{ digest: string; size: number }> {
    await this.ensureDirs();
    const tmp = path.join(this.ingestDir, `put-${randomBytes(8).toString('hex')}.tmp`);
    const counter = new DigestCounter();
    try {
      await pipeline(src, counter, createWriteStream(tmp), { signal });
      const digest = counter.digest();
      await fs.rename(tmp, this.blobPath(digest));
      return { digest, size: counter.size };
    } finally {
      await fs.rm(tmp, { force: true });
    }
  }

  /**
   * Writes the blob `digest` from `fetch(offset)`, continuing an earlier interrupted ingest of the same
   * digest if its partial file is there, and verifying the whole content before moving it into place.
   * Concurrent ingests of one digest (in any process) wait for each other. Returns the bytes fetched now.
   */
  async ingest(digest: string, fetch: (offset: number) => Promise<BlobFetch>, opts: IngestOptions = {}): Promise<number> {
    const hex = hexOf(digest);
    if (await this.touch(digest)) return 0;
    await this.ensureDirs();
    const partial = path.join(this.ingestDir, `${hex}.partial`);
    return withLock(
      path.join(this.ingestDir, `${hex}.lock`),
      async () => {
        if (await this.has(digest)) return 0;
        const hash = createHash('sha256');
        const offset = await this.hashPartial(partial, hash, opts.size);
        opts.onProgress?.(offset);
        const got = await fetch(offset);
        if (got.offset !== offset) {
          if (got.offset !== 0) {
            got.stream.destroy();
            throw invalid(`the source of ${digest} answered from byte ${got.offset}, not ${offset} or 0`);
          }
          return this.writeFrom(digest, partial, createHash('sha256'), 0, got.stream, opts);
        }
        return this.writeFrom(digest, partial, hash, offset, got.stream, opts);
      },
      24 * 3600_000,
    );
  }

  private async writeFrom(
    digest: string,
    partial: string,
    hash: Hash,
    offset: number,
    src: Readable,
    opts: IngestOptions,
  ): Promise<number> {
    let written = offset;
    let fetched = 0;
    const count = new Transform({
      transform(chunk: Buffer, _e, cb) {
        hash.update(chunk);
        written += chunk.length;
        fetched += chunk.length;
        if (opts.size !== undefined && written > opts.size) {
          cb(invalid(`blob ${digest} is larger than the expected ${opts.size} bytes`));
          return;
        }
        opts.onProgress?.(written);
        cb(null, chunk);
      },
    });
    let fh: fs.FileHandle;
    try {
      fh = await fs.open(partial, offset > 0 ? 'r+' : 'w');
    } catch (err) {
      src.destroy();
      throw err;
    }
    try {
      opts.onWriting?.(partial);
      await pipeline(src, count, new PartialFileSink(fh, offset, opts.onWritten), { signal: opts.signal });
    } finally {
      await fh.close();
    }
    const got = `sha256:${hash.digest('hex')}`;
    if (got !== digest || (opts.size !== undefined && written !== opts.size)) {
      await fs.rm(partial, { force: true });
      throw invalid(
        got !== digest
          ? `blob ${digest} failed verification: its content hashes to ${got}`
          : `blob ${digest} has ${written} bytes, expected ${opts.size}`,
      );
    }
    await fs.rename(partial, this.blobPath(digest));
    return fetched;
  }

  /** Feeds an existing partial file into `hash`; returns its length (0 if none, or if it is too long). */
  private async hashPartial(partial: string, hash: Hash, size?: number): Promise<number> {
    let len: number;
    try {
      len = (await fs.stat(partial)).size;
    } catch (err) {
      if (errno(err) === 'ENOENT') return 0;
      throw err;
    }
    if (len === 0 || (size !== undefined && len >= size)) {
      await fs.rm(partial, { force: true });
      return 0;
    }
    await pipeline(createReadStream(partial), async function* (chunks: AsyncIterable<Buffer>) {
      for await (const c of chunks) hash.update(c);
    });
    return len;
  }

  /** Every blob digest in the store. */
  async list(): Promise<string[]> {
    try {
      const names = await fs.readdir(this.blobsDir);
      return names.filter((n) => /^[a-f0-9]{64}$/.test(n)).map((n) => `sha256:${n}`);
    } catch (err) {
      if (errno(err) === 'ENOENT') return [];
      throw err;
    }
  }

  async delete(digest: string): Promise<void> {
    await fs.rm(this.blobPath(digest), { force: true });
  }

  /** Removes ingest files no running ingest holds; returns how many. */
  async cleanIngest(): Promise<number> {
    let names: string[];
    try {
      names = await fs.readdir(this.ingestDir);
    } catch (err) {
      if (errno(err) === 'ENOENT') return 0;
      throw err;
    }
    let n = 0;
    for (const name of names) {
      const m = /^([a-f0-9]{64})\.partial$/.exec(name);
      if (!m) continue;
      try {
        await withLock(path.join(this.ingestDir, `${m[1]}.lock`), () => fs.rm(path.join(this.ingestDir, name), { force: true }), 0);
        n++;
      } catch (err) {
        if (!isNubisError(err, 'Timeout')) throw err;
      }
    }
    return n;
  }

  private async ensureDirs(): Promise<void> {
    await fs.mkdir(this.blobsDir, { recursive: true });
    await fs.mkdir(this.ingestDir, { recursive: true });
  }
}
