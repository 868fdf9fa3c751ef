/**
 * Kernel modules for the guest: which files a list of module names needs, in the order busybox's insmod
 * must load them (dependencies first, from modules.dep), skipping those built into the kernel
 * (modules.builtin). Compressed modules (.ko.xz, .ko.zst, .ko.gz) are decompressed at build time, since
 * busybox insmod reads only plain ones.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { errno, invalid } from '../../lib/errors.js';
import type { Host } from '../../host/host.js';
import { DECOMPRESSORS, toolOutput } from './tool-pipe.js';

/** One module to load: its name (underscores, as the kernel spells it) and its file under modulesDir. */
export interface KernelModule {
  name: string;
  file: string;
}

/** The modules a micro-VM guest usually needs: virtio-mmio transport, agent channel, network, shares. */
export const GUEST_MODULES = {
  /** virtio itself and the virtio-mmio transport microvm's devices sit on. */
  transport: ['virtio_mmio'],
  /** virtio-serial: the guest agent's channel. */
  channel: ['virtio_console'],
  network: ['virtio_net'],
  '9p': ['9pnet_virtio', '9p'],
  virtiofs: ['virtiofs'],
  overlay: ['overlay'],
  /** Free page reporting to the host (see MicrovmSpec.freePageReporting). */
  balloon: ['virtio_balloon'],
} as const;

/** "kernel/fs/9p/9p.ko.xz" -> "9p"; dashes become underscores as the kernel treats them alike. */
export function moduleName(file: string): string {
  return path.basename(file).replace(/\.ko(\.(xz|zst|gz))?$/, '').replace(/-/g, '_');
}

/** Parses modules.dep ("file: dep dep ...") into name -> file and name -> dependency names. */
export function parseModulesDep(text: string): Map<string, { file: string; deps: string[] }> {
  const out = new Map<string, { file: string; deps: string[] }>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const file = line.slice(0, colon).trim();
    const deps = line.slice(colon + 1).trim().split(/\s+/).filter(Boolean).map(moduleName);
    out.set(moduleName(file), { file, deps });
  }
  return out;
}

/**
 * The modules to load for `wanted`, dependencies first, each once. Names in `builtin` are skipped; an
 * unknown name fails with Invalid.
 */
export function loadOrder(dep: Map<string, { file: string; deps: string[] }>, builtin: Set<string>, wanted: readonly string[]): KernelModule[] {
  const order: KernelModule[] = [];
  const done = new Set<string>();
  const visit = (name: string, chain: string[]) => {
    if (done.has(name) || builtin.has(name)) return;
    const entry = dep.get(name);
    if (!entry) throw invalid(`the guest kernel has no module "${name}"${chain.length ? ` (needed by ${chain.join(' <- ')})` : ''}`);
    if (chain.includes(name)) throw invalid(`module dependency cycle: ${[...chain, name].join(' -> ')}`);
    for (const d of entry.deps) visit(d, [name, ...chain]);
    done.add(name);
    order.push({ name, file: entry.file });
  };
  for (const w of wanted) visit(w.replace(/-/g, '_'), []);
  return order;
}

async function readOptional(file: string): Promise<string> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if (errno(err) === 'ENOENT') return '';
    throw err;
  }
}

/** Resolves `wanted` against a kernel's modules directory (see loadOrder). */
export async function resolveModules(modulesDir: string, wanted: readonly string[]): Promise<KernelModule[]> {
  const dep = parseModulesDep(await fs.readFile(path.join(modulesDir, 'modules.dep'), 'utf8'));
  const builtin = new Set((await readOptional(path.join(modulesDir, 'modules.builtin'))).split('\n').filter(Boolean).map(moduleName));
  return loadOrder(dep, builtin, wanted);
}

/** The plain ELF bytes of a module file, decompressing .ko.xz, .ko.zst and .ko.gz. */
export async function readModule(host: Host, file: string, signal?: AbortSignal): Promise<Buffer> {
  const data = await fs.readFile(file);
  if (file.endsWith('.ko')) return data;
  if (file.endsWith('.ko.gz')) return promisify(zlib.gunzip)(data);
  if (file.endsWith('.ko.xz')) return toolOutput(host, DECOMPRESSORS.xz, data, signal);
  if (file.endsWith('.ko.zst')) return toolOutput(host, DECOMPRESSORS.zstd, data, signal);
  throw invalid(`unknown kernel module file type: ${file}`);
}
