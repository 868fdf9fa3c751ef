/**
 * The guest kernel of micro-VMs: the distribution's own (Debian's linux-image-amd64), found in /boot. Its
 * bzImage carries the kernel as a compressed ELF (xz on Debian 12); QEMU boots that ELF (vmlinux) directly
 * through its PVH entry point, which skips the decompressor: about twice as fast under TCG. The ELF is
 * extracted once and cached, keyed by the kernel's release, size and mtime.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { errno, internal, invalid, unavailable } from '../../lib/errors.js';
import type { Host } from '../../host/host.js';
import { DECOMPRESSORS, pipeThroughTool } from './tool-pipe.js';

/** A kernel micro-VMs can boot. */
export interface GuestKernel {
  /** The uncompressed ELF image (cached): what QEMU boots. */
  vmlinux: string;
  /** The distribution's compressed image it came from. */
  bzImage: string;
  /** The kernel release, e.g. "6.1.0-57-amd64": also the name of its modules directory. */
  version: string;
  /** /lib/modules/<version>. */
  modulesDir: string;
}

export interface GuestKernelOptions {
  /** Where the extracted vmlinux is kept. */
  cacheDir: string;
  host: Host;
  /** Where vmlinuz-* are looked for (default /boot). */
  bootDir?: string;
  /** Where the modules directories are (default /lib/modules). */
  modulesRoot?: string;
  signal?: AbortSignal;
}

/** The compression formats a bzImage payload may use, by their leading bytes. */
const MAGICS: { format: PayloadFormat; magic: Buffer }[] = [
  { format: 'xz', magic: Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) },
  { format: 'gzip', magic: Buffer.from([0x1f, 0x8b, 0x08]) },
  { format: 'zstd', magic: Buffer.from([0x28, 0xb5, 0x2f, 0xfd]) },
  { format: 'lz4', magic: Buffer.from([0x02, 0x21, 0x4c, 0x18]) },
];

export type PayloadFormat = 'xz' | 'gzip' | 'zstd' | 'lz4';

/** What the x86 boot protocol header of a bzImage says (Documentation/arch/x86/boot.rst). */
export interface BzImageInfo {
  /** The first word of the kernel_version string: the release. */
  release: string;
  /** Offset and length of the compressed kernel in the file (without the 4-byte size the build appends). */
  payloadOffset: number;
  payloadLength: number;
  format: PayloadFormat;
}

/** Reads the boot header of a bzImage (protocol 2.08 or later, for the payload fields). */
export function parseBzImage(image: Buffer): BzImageInfo {
  if (image.length < 0x250 || image.toString('latin1', 0x202, 0x206) !== 'HdrS') throw invalid('not a bzImage: no "HdrS" boot header');
  const protocol = image.readUInt16LE(0x206);
  if (protocol < 0x208) throw invalid(`bzImage boot protocol ${protocol.toString(16)} is older than 2.08`);
  const setupSects = image[0x1f1] || 4;
  const versionAt = image.readUInt16LE(0x20e) + 0x200;
  const end = image.indexOf(0, versionAt);
  const release = image.toString('latin1', versionAt, end < 0 ? versionAt + 256 : end).split(' ')[0] ?? '';
  const payloadOffset = (setupSects + 1) * 512 + image.readUInt32LE(0x248);
  const payloadLength = image.readUInt32LE(0x24c) - 4;
  if (!release || payloadLength <= 0 || payloadOffset + payloadLength + 4 > image.length) throw invalid('bzImage header is inconsistent');
  const head = image.subarray(payloadOffset, payloadOffset + 8);
  const format = MAGICS.find((m) => head.subarray(0, m.magic.length).equals(m.magic))?.format;
  if (!format) throw invalid(`bzImage payload starts with ${head.toString('hex')}: an unsupported compression`);
  return { release, payloadOffset, payloadLength, format };
}

/** Compares kernel releases so that 6.1.10 sorts after 6.1.9. */
export function compareReleases(a: string, b: string): number {
  const pa = a.split(/(\d+)/);
  const pb = b.split(/(\d+)/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? '';
    const y = pb[i] ?? '';
    if (x === y) continue;
    const nx = Number(x);
    const ny = Number(y);
    if (x !== '' && y !== '' && !Number.isNaN(nx) && !Number.isNaN(ny)) return nx - ny;
    return x < y ? -1 : 1;
  }
  return 0;
}

/** The newest /boot/vmlinuz-<release>, or Unavailable naming the package to install. */
async function newestBzImage(bootDir: string): Promise<string> {
  let names: string[] = [];
  try {
    names = await fs.readdir(bootDir);
  } catch (err) {
    if (errno(err) !== 'ENOENT') throw err;
  }
  const kernels = names.filter((n) => n.startsWith('vmlinuz-')).sort((a, b) => compareReleases(b.slice(8), a.slice(8)));
  if (kernels.length === 0) {
    throw unavailable(`no guest kernel: ${bootDir} has no vmlinuz-*; install Debian's linux-image-amd64 (micro-VM guests boot it)`);
  }
  return path.join(bootDir, kernels[0]!);
}

async function decompressPayload(host: Host, info: BzImageInfo, image: Buffer, out: string, signal?: AbortSignal): Promise<void> {
  const payload = image.subarray(info.payloadOffset, info.payloadOffset + info.payloadLength);
  if (info.format === 'gzip') {
    const elf = await promisify(zlib.gunzip)(payload);
    await fs.writeFile(out, elf);
    return;
  }
  await pipeThroughTool(host, DECOMPRESSORS[info.format], payload, out, signal);
}

async function isElf(file: string): Promise<boolean> {
  const fh = await fs.open(file, 'r');
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(4), 0, 4, 0);
    return bytesRead === 4 && buffer.readUInt32BE(0) === 0x7f454c46;
  } finally {
    await fh.close();
  }
}

/** Removes vmlinux files of other kernels (or older builds of this one) from the cache; not extractions under way. */
async function pruneCache(cacheDir: string, keep: string): Promise<void> {
  for (const name of await fs.readdir(cacheDir)) {
    if (name.startsWith('vmlinux-') && !name.endsWith('.tmp') && name !== keep) await fs.rm(path.join(cacheDir, name), { force: true });
  }
}

/**
 * Finds the newest installed kernel and returns it with its vmlinux, extracting that on first use. Fails
 * with Unavailable when no kernel (or none of its modules) is installed, Invalid when the image is not
 * one this code can unpack.
 */
export async function findGuestKernel(opts: GuestKernelOptions): Promise<GuestKernel> {
  const bzImage = await newestBzImage(opts.bootDir ?? '/boot');
  const st = await fs.stat(bzImage);
  const image = await fs.readFile(bzImage);
  const info = parseBzImage(image);
  const modulesDir = path.join(opts.modulesRoot ?? '/lib/modules', info.release);
  try {
    await fs.access(path.join(modulesDir, 'modules.dep'));
  } catch (err) {
    throw unavailable(`kernel ${info.release} has no ${modulesDir}/modules.dep: reinstall Debian's linux-image-${info.release}`, err);
  }
  const name = `vmlinux-${info.release}-${st.size}-${Math.floor(st.mtimeMs)}`;
  const vmlinux = path.join(opts.cacheDir, name);
  const found = { vmlinux, bzImage, version: info.release, modulesDir };
  if (await fs.access(vmlinux).then(() => true, () => false)) return found;

  await fs.mkdir(opts.cacheDir, { recursive: true });
  const tmp = `${vmlinux}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await decompressPayload(opts.host, info, image, tmp, opts.signal);
    if (!(await isElf(tmp))) throw internal(`the ${info.format} payload of ${bzImage} did not decompress to an ELF image`);
    await fs.rename(tmp, vmlinux);
  } finally {
    await fs.rm(tmp, { force: true });
  }
  await pruneCache(opts.cacheDir, name);
  return found;
}
