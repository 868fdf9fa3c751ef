/**
 * A small pull-based tar reader (ustar, GNU long names, PAX) for layer unpacking. It keeps PAX values
 * as bytes, so binary xattrs such as security.capability survive, and hands small file bodies over as
 * one buffer, so unpacking needs no stream per entry.
 */
import { invalid } from '../lib/errors.js';

/** The kinds of tar entries a layer may hold. */
export type TarKind = 'file' | 'hardlink' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

/** One entry, with all extended headers (PAX, GNU long names) applied. */
export interface TarHeader {
  kind: TarKind;
  /** The raw name as stored; not yet normalized or checked. */
  name: string;
  linkname: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Seconds since the epoch, may have a fraction (PAX). */
  mtime: number;
  devmajor: number;
  devminor: number;
  /** From PAX SCHILY.xattr.* records, values as bytes. */
  xattrs: Map<string, Buffer>;
}

const BLOCK = 512;

const KINDS: Record<string, TarKind> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'dir',
  '6': 'fifo',
};

/** Buffered reading of exact byte counts from an async source of chunks. */
export class ChunkReader {
  private chunks: Buffer[] = [];
  private head = 0;
  private buffered = 0;
  private done = false;
  private readonly it: AsyncIterator<Buffer>;

  constructor(source: AsyncIterable<Buffer>) {
    this.it = source[Symbol.asyncIterator]();
  }

  private async fill(): Promise<boolean> {
    if (this.done) return false;
    const r = await this.it.next();
    if (r.done) {
      this.done = true;
      return false;
    }
    if (r.value.length > 0) {
      this.chunks.push(r.value);
      this.buffered += r.value.length;
    }
    return true;
  }

  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length - this.head >= n) {
      const out = first.subarray(this.head, this.head + n);
      this.advance(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const c = this.chunks[0]!;
      const len = Math.min(c.length - this.head, n - off);
      c.copy(out, off, this.head, this.head + len);
      off += len;
      this.advance(len);
    }
    return out;
  }

  private advance(n: number): void {
    this.head += n;
    this.buffered -= n;
    if (this.head === this.chunks[0]!.length) {
      this.chunks.shift();
      this.head = 0;
    }
  }

  /** Exactly `n` bytes, or null at a clean end of input; a short read fails as a truncated tar. */
  async read(n: number): Promise<Buffer | null> {
    while (this.buffered < n) {
      if (!(await this.fill())) {
        if (this.buffered === 0) return null;
        throw invalid('truncated tar stream');
      }
    }
    return n === 0 ? Buffer.alloc(0) : this.take(n);
  }

  /** Yields the next `n` bytes in pieces as they arrive. */
  async *pieces(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.buffered === 0 && !(await this.fill())) throw invalid('truncated tar stream');
      if (this.buffered === 0) continue;
      const c = this.chunks[0]!;
      const len = Math.min(c.length - this.head, left);
      const out = c.subarray(this.head, this.head + len);
      this.advance(len);
      left -= len;
      yield out;
    }
  }

  async skip(n: number): Promise<void> {
    for await (const _ of this.pieces(n)) {
      // discarded
    }
  }

  /** Reads everything left; returns how many bytes there were. */
  async drain(): Promise<number> {
    let total = this.buffered;
    this.chunks = [];
    this.head = 0;
    this.buffered = 0;
    while (await this.fill()) {
      total += this.buffered;
      this.chunks = [];
      this.buffered = 0;
    }
    return total;
  }
}

function cstring(buf: Buffer, start: number, end: number): string {
  const nul = buf.indexOf(0, start);
  return buf.toString('utf8', start, nul === -1 || nul > end ? end : nul);
}

/** A numeric header field: octal text, or GNU base-256 when the high bit is set. */
function num(buf: Buffer, start: number, end: number): number {
  if ((buf[start]! & 0x80) !== 0) {
    if (buf[start] === 0xff) throw invalid('negative number in tar header');
    let v = buf[start]! & 0x7f;
    for (let i = start + 1; i < end; i++) v = v * 256 + buf[i]!;
    if (!Number.isSafeInteger(v)) throw invalid('number too large in tar header');
    return v;
  }
  const text = buf.toString('latin1', start, end).replace(/[\0 ]+$/g, '').trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw invalid(`bad octal number ${JSON.stringify(text)} in tar header`);
  return Number.parseInt(text, 8);
}

function checksumOk(block: Buffer): boolean {
  const stored = num(block, 148, 156);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 32 : block[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

/** PAX records "<len> <key>=<value>\n"; values stay bytes. */
export function parsePax(buf: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let pos = 0;
  while (pos < buf.length) {
    const sp = buf.indexOf(0x20, pos);
    if (sp === -1) break;
    const lenText = buf.toString('latin1', pos, sp);
    if (!/^\d+$/.test(lenText)) {
      if (buf.subarray(pos).every((b) => b === 0)) break;
      throw invalid('bad PAX record length');
    }
    const len = Number.parseInt(lenText, 10);
    const end = pos + len;
    if (len <= sp - pos + 1 || end > buf.length || buf[end - 1] !== 0x0a) throw invalid('bad PAX record');
    const eq = buf.indexOf(0x3d, sp + 1);
    if (eq === -1 || eq >= end) throw invalid('bad PAX record: no "="');
    out.set(buf.toString('utf8', sp + 1, eq), buf.subarray(eq + 1, end - 1));
    pos = end;
  }
  return out;
}

function paxNumber(v: Buffer, key: string): number {
  const text = v.toString('latin1');
  if (!/^-?\d+(\.\d+)?$/.test(text)) throw invalid(`bad PAX ${key} ${JSON.stringify(text)}`);
  return Number(text);
}

async function body(reader: ChunkReader, size: number): Promise<Buffer> {
  const b = await reader.read(size);
  if (b === null) throw invalid('truncated tar stream');
  await reader.skip((BLOCK - (size % BLOCK)) % BLOCK);
  return Buffer.from(b);
}

/**
 * Reads tar entries one by one. After each header the caller either consumes the body with
 * `reader.read`/`reader.pieces` (exactly `size` bytes) or leaves it; `finishEntry` skips what is left
 * and the padding.
 */
export class TarReader {
  private pending = 0;
  private pad = 0;

  constructor(readonly reader: ChunkReader) {}

  /** Marks `n` bytes of the current body as consumed by the caller. */
  consumed(n: number): void {
    this.pending -= n;
  }

  private async finishEntry(): Promise<void> {
    if (this.pending < 0) throw invalid('tar body over-read');
    await this.reader.skip(this.pending + this.pad);
    this.pending = 0;
    this.pad = 0;
  }

  /** The next entry header, or null at the end of the archive. */
  async next(): Promise<TarHeader | null> {
    await this.finishEntry();
    let pax: Map<string, Buffer> | undefined;
    let longName: string | undefined;
    let longLink: string | undefined;
    for (;;) {
      const block = await this.reader.read(BLOCK);
      if (block === null) {
        if (pax || longName || longLink) throw invalid('truncated tar stream: extended header without entry');
        return null;
      }
      if (block.every((b) => b === 0)) return null;
      if (!checksumOk(block)) throw invalid('bad tar header checksum');
      const flag = String.fromCharCode(block[156]!);
      const size = num(block, 124, 136);
      if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
        if (size > 16 * 1024 * 1024) throw invalid('tar extended header too large');
        const data = await body(this.reader, size);
        if (flag === 'x') pax = parsePax(data);
        else if (flag === 'L') longName = cstring(data, 0, data.length);
        else if (flag === 'K') longLink = cstring(data, 0, data.length);
        continue; // global PAX headers ('g') are ignored, as most engines do
      }
      const kind = KINDS[flag];
      if (!kind) {
        const what = flag === 'S' ? 'sparse file' : `entry type ${JSON.stringify(flag)}`;
        throw invalid(`unsupported tar ${what}`);
      }
      const magic = block.toString('latin1', 257, 263);
      let name = cstring(block, 0, 100);
      if (magic === 'ustar\0') {
        const prefix = cstring(block, 345, 500);
        if (prefix) name = `${prefix}/${name}`;
      }
      const h: TarHeader = {
        kind,
        name: longName ?? name,
        linkname: longLink ?? cstring(block, 157, 257),
        mode: num(block, 100, 108) & 0o7777,
        uid: num(block, 108, 116),
        gid: num(block, 116, 124),
        size,
        mtime: num(block, 136, 148),
        devmajor: magic.startsWith('ustar') ? num(block, 329, 337) : 0,
        devminor: magic.startsWith('ustar') ? num(block, 337, 345) : 0,
        xattrs: new Map(),
      };
      if (pax) applyPax(h, pax);
      // Only regular files carry a body; like Go's archive/tar, any size on other kinds is ignored.
      if (h.kind !== 'file') h.size = 0;
      this.pending = h.size;
      this.pad = (BLOCK - (h.size % BLOCK)) % BLOCK;
      return h;
    }
  }
}

function applyPax(h: TarHeader, pax: Map<string, Buffer>): void {
  for (const [key, v] of pax) {
    if (key === 'path') h.name = v.toString('utf8');
    else if (key === 'linkpath') h.linkname = v.toString('utf8');
    else if (key === 'size') h.size = paxNumber(v, key);
    else if (key === 'uid') h.uid = paxNumber(v, key);
    else if (key === 'gid') h.gid = paxNumber(v, key);
    else if (key === 'mtime') h.mtime = paxNumber(v, key);
    else if (key.startsWith('SCHILY.xattr.')) h.xattrs.set(key.slice('SCHILY.xattr.'.length), v);
    else if (key.startsWith('GNU.sparse.')) throw invalid('unsupported tar sparse file (PAX)');
  }
  if (!Number.isSafeInteger(h.size) || h.size < 0) throw invalid('bad tar entry size');
}
