/**
 * Safe unpacking of one OCI layer into an empty private directory.
 *
 * Safety rests on two facts: the target starts empty and only this code writes into it, so an
 * in-memory map of every path it created (and of what kind) is the truth about the tree; and every
 * name is checked against that map before anything touches the disk. A name that is absolute, has a
 * ".." component, or whose parent is anything but a directory made by this layer (a symlink, a file, a
 * device) is rejected — never stripped or followed. Hardlinks may point only at regular files this
 * layer already made. Files are created with O_EXCL|O_NOFOLLOW and their owner, mode and times set
 * through the open descriptor; symlinks get lchown/lutimes and no chmod. Layers may not set
 * trusted.overlay.* or user.overlay.* xattrs (that would let an image forge overlay metadata such as
 * redirects): such a layer is rejected rather than silently trimmed.
 * OCI whiteouts become overlayfs whiteouts (`.wh.NAME` -> char device 0:0, `.wh..wh..opq` -> the
 * parent's trusted.overlay.opaque="y"); other `.wh..wh.*` names (aufs metadata) are ignored.
 *
 * The caller owns the directory and removes it when this fails (see OverlaySnapshotStore).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { errno, invalid, isNubisError, NubisError, internal, unavailable, messageOf } from '../lib/errors.js';
import type { Host } from '../host/host.js';
import { ChunkReader, TarReader, type TarHeader } from './unpack-tar.js';

export interface UnpackOptions {
  host: Host;
  /** The layer's diffID (sha256 of the uncompressed tar); a mismatch rejects the layer. */
  diffID?: string;
  signal?: AbortSignal;
}

export interface UnpackResult {
  /** sha256 of the uncompressed tar as read. */
  diffID: string;
  entries: number;
  /** Bytes of the uncompressed tar. */
  bytes: number;
}

type Kind = 'dir' | 'file' | 'symlink' | 'other';

const OPEN_FLAGS =
  fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW;
const MAX_ID = 0xfffffffe;

/** Yields the uncompressed bytes of a layer blob: gzip is detected by its magic bytes, not only its media type. */
export async function* decompress(blob: Readable, mediaType: string): AsyncGenerator<Buffer> {
  try {
    yield* decompressed(blob, mediaType);
  } finally {
    blob.destroy();
  }
}

async function* decompressed(blob: Readable, mediaType: string): AsyncGenerator<Buffer> {
  const it = blob[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let head: Buffer = Buffer.alloc(0);
  while (head.length < 4) {
    const r = await it.next();
    if (r.done) break;
    head = head.length === 0 ? r.value : Buffer.concat([head, r.value]);
  }
  const gzip = head[0] === 0x1f && head[1] === 0x8b;
  const zstd = (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) || (!gzip && /zstd/.test(mediaType));
  if (zstd) throw invalid('zstd layers are not supported yet');
  const rest = async function* () {
    if (head.length > 0) yield head;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  };
  if (!gzip) {
    if (/gzip/.test(mediaType) && head.length > 0) throw invalid(`layer has media type ${mediaType} but is not gzip data`);
    yield* rest();
    return;
  }
  // Let gunzip (on the thread pool) run up to 4 MiB ahead of the writer; ZlibOptions' type omits this.
  const gunzip = zlib.createGunzip({ chunkSize: 1 << 20, readableHighWaterMark: 4 << 20 } as zlib.ZlibOptions);
  const feed = (async () => {
    for await (const chunk of rest()) {
      if (gunzip.destroyed) return;
      if (!gunzip.write(chunk)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            gunzip.off('drain', done).off('close', done);
            resolve();
          };
          gunzip.on('drain', done).on('close', done);
        });
      }
    }
    gunzip.end();
  })().catch((err: unknown) => gunzip.destroy(err as Error));
  try {
    for await (const chunk of gunzip) yield chunk as Buffer;
    await feed;
  } catch (err) {
    if (isNubisError(err)) throw err;
    if (errno(err)?.startsWith('Z_') || /incorrect header|invalid|unexpected end/i.test(messageOf(err))) {
      throw invalid(`layer is not valid gzip data: ${messageOf(err)}`, err);
    }
    throw err;
  } finally {
    gunzip.destroy();
  }
}

/** Splits a tar name into checked components: rejects absolute names and any "..", drops "." and "". */
export function safeName(raw: string): string {
  if (raw.includes('\0')) throw invalid(`entry name ${JSON.stringify(raw)} contains NUL`);
  if (raw.startsWith('/')) throw invalid(`absolute entry name ${JSON.stringify(raw)} rejected`);
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw invalid(`entry name ${JSON.stringify(raw)} with ".." rejected`);
  return parts.join('/');
}

/** Writes the entries of one tar into `root`, keeping track of every path it made. */
class LayerWriter {
  private readonly kinds = new Map<string, Kind>([['', 'dir']]);
  private readonly dirTimes = new Map<string, number>();

  constructor(
    private readonly root: string,
    private readonly host: Host,
    private readonly tar: TarReader,
  ) {}

  private abs(rel: string): string {
    return rel === '' ? this.root : `${this.root}/${rel}`;
  }

  /** Makes sure every parent of `rel` is a directory this layer made (creating missing ones). */
  private parents(rel: string): void {
    let i = rel.indexOf('/');
    while (i !== -1) {
      const p = rel.slice(0, i);
      const kind = this.kinds.get(p);
      if (kind === undefined) {
        fs.mkdirSync(this.abs(p), 0o755);
        this.kinds.set(p, 'dir');
      } else if (kind !== 'dir') {
        throw invalid(`parent ${JSON.stringify(p)} of ${JSON.stringify(rel)} is a ${kind}, not a directory: rejected`);
      }
      i = rel.indexOf('/', i + 1);
    }
  }

  /** Removes what this layer made at `rel` (and below it), if anything. */
  private remove(rel: string): void {
    const kind = this.kinds.get(rel);
    if (kind === undefined) return;
    if (rel === '') throw invalid('an entry may not replace the layer root');
    if (kind === 'dir') {
      fs.rmSync(this.abs(rel), { recursive: true, force: true });
      const prefix = `${rel}/`;
      for (const k of this.kinds.keys()) if (k.startsWith(prefix)) this.kinds.delete(k);
      for (const k of this.dirTimes.keys()) if (k === rel || k.startsWith(prefix)) this.dirTimes.delete(k);
    } else {
      fs.unlinkSync(this.abs(rel));
    }
    this.kinds.delete(rel);
  }

  async entry(h: TarHeader): Promise<void> {
    const rel = safeName(h.name);
    if (h.uid > MAX_ID || h.gid > MAX_ID) throw invalid(`entry ${JSON.stringify(h.name)} has an out-of-range owner`);
    for (const name of h.xattrs.keys()) {
      if (name.startsWith('trusted.overlay.') || name.startsWith('user.overlay.')) {
        throw invalid(`entry ${JSON.stringify(h.name)} sets reserved xattr ${name}: rejected`);
      }
    }
    const base = rel.slice(rel.lastIndexOf('/') + 1);
    if (base.startsWith('.wh.')) return this.whiteout(rel, base);
    if (rel === '' && h.kind !== 'dir') throw invalid(`entry ${JSON.stringify(h.name)} names the layer root`);
    this.parents(rel);
    const p = this.abs(rel);
    switch (h.kind) {
      case 'dir':
        if (this.kinds.get(rel) !== 'dir') {
          this.remove(rel);
          fs.mkdirSync(p, 0o700);
          this.kinds.set(rel, 'dir');
        }
        fs.lchownSync(p, h.uid, h.gid);
        fs.chmodSync(p, h.mode); // a directory this layer made, never a symlink (checked above)
        this.dirTimes.set(rel, h.mtime);
        break;
      case 'file':
        this.remove(rel);
        await this.file(p, h);
        this.kinds.set(rel, 'file');
        break;
      case 'symlink':
        if (h.linkname === '') throw invalid(`symlink ${JSON.stringify(h.name)} has an empty target`);
        this.remove(rel);
        fs.symlinkSync(h.linkname, p);
        this.kinds.set(rel, 'symlink');
        fs.lchownSync(p, h.uid, h.gid);
        fs.lutimesSync(p, h.mtime, h.mtime);
        break;
      case 'hardlink':
        return this.hardlink(rel, h);
      case 'char':
      case 'block':
      case 'fifo':
        this.remove(rel);
        if (h.kind === 'fifo') await this.host.run('mkfifo', ['-m', (h.mode & 0o777).toString(8), p]);
        else await this.host.mknod(p, h.kind === 'char' ? 'c' : 'b', h.devmajor, h.devminor, h.mode & 0o777);
        this.kinds.set(rel, 'other');
        fs.lchownSync(p, h.uid, h.gid);
        fs.lutimesSync(p, h.mtime, h.mtime);
        break;
    }
    for (const [name, value] of h.xattrs) await this.host.setXattr(p, name, value);
  }

  private async file(p: string, h: TarHeader): Promise<void> {
    const fd = fs.openSync(p, OPEN_FLAGS, 0o600);
    try {
      for await (const piece of this.tar.reader.pieces(h.size)) {
        for (let off = 0; off < piece.length; ) off += fs.writeSync(fd, piece, off, piece.length - off);
      }
      this.tar.consumed(h.size);
      fs.fchownSync(fd, h.uid, h.gid);
      fs.fchmodSync(fd, h.mode); // after chown, which clears setuid/setgid
      fs.futimesSync(fd, h.mtime, h.mtime);
    } finally {
      fs.closeSync(fd);
    }
  }

  private hardlink(rel: string, h: TarHeader): void {
    const target = safeName(h.linkname);
    if (this.kinds.get(target) !== 'file') {
      throw invalid(
        `hardlink ${JSON.stringify(h.name)} -> ${JSON.stringify(h.linkname)}: target is not a regular file of this layer`,
      );
    }
    if (target === rel) return;
    this.remove(rel);
    fs.linkSync(this.abs(target), this.abs(rel));
    this.kinds.set(rel, 'file');
  }

  private async whiteout(rel: string, base: string): Promise<void> {
    this.parents(rel);
    const parent = rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '';
    if (base === '.wh..wh..opq') {
      await this.host.setXattr(this.abs(parent), 'trusted.overlay.opaque', Buffer.from('y'));
      return;
    }
    if (base.startsWith('.wh..wh.')) return; // aufs bookkeeping, meaningless here
    const name = base.slice('.wh.'.length);
    if (name === '' || name === '.' || name === '..') throw invalid(`whiteout ${JSON.stringify(rel)} rejected`);
    const victim = parent === '' ? name : `${parent}/${name}`;
    this.remove(victim);
    await this.host.mknod(this.abs(victim), 'c', 0, 0, 0);
    this.kinds.set(victim, 'other');
  }

  /** Directory times last: creating their contents changed them. */
  finish(): void {
    for (const [rel, t] of this.dirTimes) if (this.kinds.get(rel) === 'dir') fs.lutimesSync(this.abs(rel), t, t);
  }
}

/**
 * Unpacks the layer blob `blob` into `root`, an existing EMPTY directory, and checks its diffID. On
 * failure `root` may hold a partial tree: the caller removes it. Errors are one-line NubisErrors
 * (Invalid for a bad or hostile layer, Unavailable for a full disk).
 */
export async function unpackLayer(blob: Readable, mediaType: string, root: string, opts: UnpackOptions): Promise<UnpackResult> {
  const hash = createHash('sha256');
  let bytes = 0;
  let entries = 0;
  let current = '';
  const source = decompress(blob, mediaType);
  const hashed = (async function* () {
    for await (const chunk of source) {
      hash.update(chunk);
      bytes += chunk.length;
      yield chunk;
    }
  })();
  const reader = new ChunkReader(hashed);
  const tar = new TarReader(reader);
  const writer = new LayerWriter(root, opts.host, tar);
  try {
    for (;;) {
      opts.signal?.throwIfAborted();
      const h = await tar.next();
      if (h === null) break;
      current = h.name;
      await writer.entry(h);
      entries++;
    }
    current = '';
    writer.finish();
    await reader.drain();
  } catch (err) {
    await hashed.return(undefined).catch(() => {});
    blob.destroy();
    throw describe(err, current);
  }
  const diffID = `sha256:${hash.digest('hex')}`;
  if (opts.diffID !== undefined && diffID !== opts.diffID) {
    throw invalid(`layer content does not match its diffID: expected ${opts.diffID}, got ${diffID}`);
  }
  return { diffID, entries, bytes };
}

function describe(err: unknown, entry: string): unknown {
  const where = entry ? ` entry ${JSON.stringify(entry)}` : '';
  const code = errno(err);
  if (code === 'ENOSPC' || code === 'EDQUOT') return unavailable(`no space left on device while unpacking${where}`, err);
  if (err instanceof NubisError) return err;
  if (code === 'ENAMETOOLONG' || code?.startsWith('ERR_INVALID_ARG')) {
    return invalid(`cannot unpack${where}: ${messageOf(err)}`, err);
  }
  if ((err as Error)?.name === 'AbortError') return err;
  if (code !== undefined) return internal(`cannot unpack${where}: ${messageOf(err)}`, err);
  return err;
}
