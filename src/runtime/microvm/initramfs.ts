/**
 * The initramfs of a micro-VM: Debian's static busybox with its applet links, the kernel modules the guest
 * needs (dependencies first, decompressed), an /init script and the caller's extra files (the guest
 * agent), as one newc cpio archive written in TS. Images are cached by a digest of everything that goes
 * in, so a second build with the same inputs costs a few stats and one hash.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { errno, invalid, unavailable } from '../../lib/errors.js';
import type { Host } from '../../host/host.js';
import { DEFAULT_BUSYBOX, isDynamicElf } from '../../image/builtin-busybox.js';
import { MODULE_ORDER_FILE } from './guest-init.js';
import { withParents, writeCpio, type CpioEntry } from './cpio.js';
import { readModule, resolveModules, type KernelModule } from './kernel-modules.js';
import { pipeThroughTool } from './tool-pipe.js';

/** How the archive is compressed; the kernel unpacks all three (CONFIG_RD_GZIP, CONFIG_RD_LZ4). */
export type InitramfsCompression = 'none' | 'gzip' | 'lz4';

/** A file the caller adds (the guest agent, its configuration): from memory or from a host file. */
export interface ExtraFile {
  /** Absolute path in the guest, e.g. /sbin/nubis-guest. */
  path: string;
  data?: Uint8Array;
  /** A host file to copy, when `data` is not given. */
  source?: string;
  mode?: number;
}

export interface InitramfsSpec {
  /** The guest kernel's modules directory (/lib/modules/<release>). */
  modulesDir: string;
  /** Module names to include, with their dependencies (built-in ones are skipped). */
  modules: readonly string[];
  /** The /init script (see guest-init.ts). */
  init: string;
  files?: readonly ExtraFile[];
  /** A statically linked busybox (default /bin/busybox, Debian's busybox-static). */
  busybox?: string;
  compression?: InitramfsCompression;
}

export interface BuiltInitramfs {
  /** The image file (in the cache directory; do not modify). */
  path: string;
  /** The digest of the inputs (hex), also in the file name. */
  key: string;
  /** The modules in the image, in load order: /lib/modules/<name>.ko. */
  modules: KernelModule[];
  /** The size of the image file in bytes. */
  size: number;
}

export interface InitramfsOptions {
  cacheDir: string;
  host: Host;
  signal?: AbortSignal;
}

const FORMAT_VERSION = 1;
const EXTENSIONS: Record<InitramfsCompression, string> = { none: '.cpio', gzip: '.cpio.gz', lz4: '.cpio.lz4' };
const LZ4_LEGACY = { cmd: 'lz4', args: ['-l', '-9', '-c', '-q'], debianPackage: 'lz4' };
const BASE_DIRS = ['bin', 'dev', 'etc', 'lib', 'lib/modules', 'mnt', 'proc', 'root', 'run', 'sbin', 'sys', 'tmp', 'usr', 'usr/bin', 'usr/sbin', 'var'];

const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');

async function statKey(file: string): Promise<string> {
  const st = await fs.stat(file);
  return `${file}:${st.size}:${Math.floor(st.mtimeMs)}:${st.ino}`;
}

async function readBusybox(file: string): Promise<Buffer> {
  try {
    const bin = await fs.readFile(file);
    if (!isDynamicElf(bin)) return bin;
  } catch (err) {
    if (errno(err) !== 'ENOENT') throw err;
    throw unavailable(`the micro-VM initramfs needs ${file}: install Debian's busybox-static`, err);
  }
  throw unavailable(`${file} is dynamically linked: the micro-VM initramfs needs Debian's busybox-static`);
}

/** The digest of everything an image is made from. */
async function inputKey(spec: InitramfsSpec, modules: KernelModule[]): Promise<string> {
  for (const f of spec.files ?? []) {
    if (!f.data && !f.source) throw invalid(`extra initramfs file ${f.path} has neither data nor a source`);
  }
  const files = await Promise.all(
    (spec.files ?? []).map(async (f) => [f.path, f.mode ?? 0o755, f.data ? sha256(f.data) : await statKey(f.source ?? '')]),
  );
  const parts = {
    v: FORMAT_VERSION,
    compression: spec.compression ?? 'none',
    busybox: await statKey(spec.busybox ?? DEFAULT_BUSYBOX),
    modules: await Promise.all(modules.map(async (m) => statKey(path.join(spec.modulesDir, m.file)))),
    init: sha256(spec.init),
    files,
  };
  return sha256(JSON.stringify(parts));
}

/** The archive's entries, parents before children. */
async function entries(spec: InitramfsSpec, modules: KernelModule[], opts: InitramfsOptions): Promise<CpioEntry[]> {
  const busybox = spec.busybox ?? DEFAULT_BUSYBOX;
  const bin = await readBusybox(busybox);
  const list = await opts.host.run(busybox, ['--list-full'], { timeoutMs: 10_000, signal: opts.signal });
  const applets = [...new Set(list.stdout.split('\n').map((s) => s.trim().replace(/^\/+/, '')))]
    .filter((a) => a && a !== 'bin/busybox' && !a.split('/').includes('..'))
    .sort();
  const out: CpioEntry[] = BASE_DIRS.map((p) => ({ type: 'dir', path: p, mode: p === 'tmp' ? 0o1777 : 0o755 }));
  out.push({ type: 'char', path: 'dev/console', major: 5, minor: 1 }, { type: 'char', path: 'dev/null', major: 1, minor: 3, mode: 0o666 });
  out.push({ type: 'file', path: 'bin/busybox', data: bin, mode: 0o755 });
  for (const a of applets) out.push({ type: 'symlink', path: a, target: '/bin/busybox' });
  out.push({ type: 'file', path: MODULE_ORDER_FILE, data: Buffer.from(modules.map((m) => `${m.name}\n`).join('')) });
  for (const m of modules) {
    out.push({ type: 'file', path: `lib/modules/${m.name}.ko`, data: await readModule(opts.host, path.join(spec.modulesDir, m.file), opts.signal) });
  }
  out.push({ type: 'file', path: 'init', data: Buffer.from(spec.init), mode: 0o755 });
  const own = new Set(out.map((e) => e.path));
  for (const f of spec.files ?? []) {
    const rel = path.posix.normalize(f.path).replace(/^\/+/, '');
    const data = f.data ?? (await fs.readFile(f.source ?? ''));
    const entry: CpioEntry = { type: 'file', path: rel, data, mode: f.mode ?? 0o755 };
    if (own.has(rel)) out[out.findIndex((e) => e.path === rel)] = entry;
    else out.push(entry);
    own.add(rel);
  }
  return withParents(out);
}

async function writeImage(archive: Buffer, compression: InitramfsCompression, file: string, opts: InitramfsOptions): Promise<void> {
  if (compression === 'lz4') return pipeThroughTool(opts.host, LZ4_LEGACY, archive, file, opts.signal);
  const data = compression === 'gzip' ? await promisify(zlib.gzip)(archive, { level: 9 }) : archive;
  await fs.writeFile(file, data);
}

/**
 * Builds the initramfs for `spec`, or returns the cached one with the same inputs. Fails with Unavailable
 * without a static busybox, Invalid for a module the kernel lacks.
 */
export async function buildInitramfs(spec: InitramfsSpec, opts: InitramfsOptions): Promise<BuiltInitramfs> {
  const modules = await resolveModules(spec.modulesDir, spec.modules);
  const key = await inputKey(spec, modules);
  const compression = spec.compression ?? 'none';
  const file = path.join(opts.cacheDir, `initramfs-${key.slice(0, 32)}${EXTENSIONS[compression]}`);
  try {
    return { path: file, key, modules, size: (await fs.stat(file)).size };
  } catch (err) {
    if (errno(err) !== 'ENOENT') throw err;
  }
  await fs.mkdir(opts.cacheDir, { recursive: true });
  const archive = writeCpio(await entries(spec, modules, opts));
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeImage(archive, compression, tmp, opts);
    await fs.rename(tmp, file);
  } finally {
    await fs.rm(tmp, { force: true });
  }
  return { path: file, key, modules, size: (await fs.stat(file)).size };
}
