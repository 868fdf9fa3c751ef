/**
 * The "newc" cpio format (SVR4 without checksums), the one the Linux kernel unpacks as an initramfs.
 * Each entry is a 110-byte ASCII header ("070701" and thirteen 8-digit hex fields), the NUL-terminated
 * name padded to 4 bytes, then the data padded to 4 bytes; the archive ends with "TRAILER!!!".
 * Directories must come before what they contain: the kernel does not make missing parents.
 */
import { invalid } from '../../lib/errors.js';

/** One entry of an archive. Paths are relative ("bin/sh"), without a leading slash. */
export type CpioEntry =
  | { type: 'dir'; path: string; mode?: number }
  | { type: 'file'; path: string; data: Uint8Array; mode?: number }
  | { type: 'symlink'; path: string; target: string }
  | { type: 'char'; path: string; major: number; minor: number; mode?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;
const TRAILER = 'TRAILER!!!';

function hex8(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw invalid(`cpio field out of range: ${n}`);
  return n.toString(16).padStart(8, '0');
}

const pad4 = (n: number) => (4 - (n % 4)) % 4;

interface Header {
  ino: number;
  mode: number;
  nlink: number;
  size: number;
  rdevMajor: number;
  rdevMinor: number;
  name: string;
}

function header(h: Header): Buffer {
  const name = Buffer.from(h.name + '\0', 'utf8');
  const fields = [h.ino, h.mode, 0, 0, h.nlink, 0, h.size, 0, 0, h.rdevMajor, h.rdevMinor, name.length, 0];
  const head = Buffer.from('070701' + fields.map(hex8).join(''), 'ascii');
  return Buffer.concat([head, name, Buffer.alloc(pad4(head.length + name.length))]);
}

function checkPath(p: string): void {
  if (!p || p.startsWith('/') || p.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    throw invalid(`cpio entry path must be relative and normal: "${p}"`);
  }
}

/** The mode bits, data and device numbers of one entry. */
function describe(e: CpioEntry): { mode: number; data: Uint8Array; major: number; minor: number } {
  switch (e.type) {
    case 'dir':
      return { mode: S_IFDIR | (e.mode ?? 0o755), data: new Uint8Array(0), major: 0, minor: 0 };
    case 'file':
      return { mode: S_IFREG | (e.mode ?? 0o644), data: e.data, major: 0, minor: 0 };
    case 'symlink':
      return { mode: S_IFLNK | 0o777, data: Buffer.from(e.target, 'utf8'), major: 0, minor: 0 };
    case 'char':
      return { mode: S_IFCHR | (e.mode ?? 0o600), data: new Uint8Array(0), major: e.major, minor: e.minor };
  }
}

/**
 * Writes `entries` as one newc archive, in the order given, with owner root, time 0 and inode numbers
 * counted from 1: the same entries always give the same bytes.
 */
export function writeCpio(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  const seen = new Set<string>();
  let ino = 1;
  for (const e of entries) {
    checkPath(e.path);
    if (seen.has(e.path)) throw invalid(`cpio entry "${e.path}" appears twice`);
    seen.add(e.path);
    const d = describe(e);
    const nlink = e.type === 'dir' ? 2 : 1;
    parts.push(header({ ino: ino++, mode: d.mode, nlink, size: d.data.length, rdevMajor: d.major, rdevMinor: d.minor, name: e.path }));
    parts.push(Buffer.from(d.data.buffer, d.data.byteOffset, d.data.byteLength), Buffer.alloc(pad4(d.data.length)));
  }
  parts.push(header({ ino: 0, mode: 0, nlink: 1, size: 0, rdevMajor: 0, rdevMinor: 0, name: TRAILER }));
  return Buffer.concat(parts);
}

/**
 * Puts every directory before what it contains: parents that `entries` lacks are added (mode 0755), and a
 * directory listed after its children moves up to before the first of them. Other entries keep their order.
 */
export function withParents(entries: readonly CpioEntry[]): CpioEntry[] {
  const dirs = new Map(entries.filter((e) => e.type === 'dir').map((e) => [e.path, e]));
  const out: CpioEntry[] = [];
  const made = new Set<string>();
  const addDir = (dir: string) => {
    if (made.has(dir)) return;
    made.add(dir);
    out.push(dirs.get(dir) ?? { type: 'dir', path: dir });
  };
  for (const e of entries) {
    const parts = e.path.split('/');
    for (let i = 1; i < parts.length; i++) addDir(parts.slice(0, i).join('/'));
    if (e.type === 'dir') addDir(e.path);
    else out.push(e);
  }
  return out;
}
