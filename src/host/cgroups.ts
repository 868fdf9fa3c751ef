/**
 * Reading the cgroups runc makes for containers, on all three layouts a host may have:
 *  - v1: one hierarchy per controller (or a few co-mounted, e.g. cpu,cpuacct) under /sys/fs/cgroup/<name>;
 *  - v2: one unified hierarchy at /sys/fs/cgroup;
 *  - hybrid: the v1 controllers plus an (often empty) v2 tree at /sys/fs/cgroup/unified.
 * A `cgroupsPath` is the path runc was given (cgroupfs driver), e.g. "/nubis/<id>": the same relative path
 * inside every hierarchy. Nothing here writes except removeCgroupTree, which only removes empty cgroups.
 */
import { existsSync, promises as fs, readdirSync } from 'node:fs';
import path from 'node:path';
import { errno, internal, invalid, notFound } from '../lib/errors.js';

export type CgroupMode = 'v1' | 'v2' | 'hybrid';

export const CGROUP_ROOT = '/sys/fs/cgroup';

/** Which layout the host uses. */
export function detectCgroupMode(root = CGROUP_ROOT): CgroupMode {
  if (existsSync(path.join(root, 'cgroup.controllers'))) return 'v2';
  if (existsSync(path.join(root, 'unified', 'cgroup.controllers'))) return 'hybrid';
  return 'v1';
}

/** Usage numbers of one container's cgroup. */
export interface CgroupStats {
  /** CPU time consumed by all its processes, in nanoseconds. */
  cpuUsageNs: number;
  /** Memory in use without the inactive page cache (what `docker stats` shows). */
  memoryBytes: number;
  /** Undefined when unlimited. */
  memoryLimitBytes?: number;
  pids: number;
  /** Undefined when unlimited. */
  pidsLimit?: number;
}

/** The v1 hierarchy directories (not cgroup2, not named ones) that carry `controller`. */
function v1ControllerDir(root: string, controller: string): string | undefined {
  const direct = path.join(root, controller);
  if (existsSync(direct)) return direct;
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return undefined;
  }
  const joint = names.find((n) => n.split(',').includes(controller));
  return joint ? path.join(root, joint) : undefined;
}

function checkCgroupsPath(cgroupsPath: string): string {
  const norm = path.posix.normalize(cgroupsPath);
  if (!path.posix.isAbsolute(cgroupsPath) || norm === '/' || norm.split('/').includes('..')) {
    throw invalid(`cgroups path must be absolute and below the root: ${cgroupsPath}`);
  }
  return norm;
}

async function readText(file: string): Promise<string | undefined> {
  try {
    return (await fs.readFile(file, 'utf8')).trim();
  } catch (err) {
    if (errno(err) === 'ENOENT') return undefined;
    throw internal(`cannot read ${file}`, err);
  }
}

async function readNumber(file: string): Promise<number | undefined> {
  const text = await readText(file);
  if (text === undefined || text === 'max') return undefined;
  const n = Number(text);
  if (!Number.isFinite(n)) throw internal(`unexpected content in ${file}: ${text.slice(0, 40)}`);
  return n;
}

/** Parses "key value" lines (memory.stat, cpu.stat, memory.events, memory.oom_control). */
export function parseFlatKeyed(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^-?\d+$/.test(v)) out.set(k, Number(v));
  }
  return out;
}

async function readKeyed(file: string): Promise<Map<string, number>> {
  return parseFlatKeyed((await readText(file)) ?? '');
}

/** v1 reports "no limit" as a huge page-aligned number close to 2^63. */
const V1_UNLIMITED = 2 ** 62;

function limitOrUndefined(n: number | undefined): number | undefined {
  return n === undefined || n >= V1_UNLIMITED ? undefined : n;
}

/** Directory of `cgroupsPath` in the hierarchy that carries memory stats (the one runc always creates). */
function memoryDir(root: string, mode: CgroupMode, rel: string): string | undefined {
  if (mode === 'v2') return path.join(root, rel);
  const d = v1ControllerDir(root, 'memory');
  return d && path.join(d, rel);
}

/** Reads CPU, memory and pids usage of the cgroup at `cgroupsPath`; NotFound if it does not exist. */
export async function readCgroupStats(cgroupsPath: string, root = CGROUP_ROOT): Promise<CgroupStats> {
  const rel = checkCgroupsPath(cgroupsPath);
  const mode = detectCgroupMode(root);
  if (mode === 'v2') {
    const dir = path.join(root, rel);
    if (!existsSync(dir)) throw notFound(`cgroup ${cgroupsPath} does not exist`);
    const cpu = await readKeyed(path.join(dir, 'cpu.stat'));
    const mem = await readKeyed(path.join(dir, 'memory.stat'));
    const current = (await readNumber(path.join(dir, 'memory.current'))) ?? 0;
    return {
      cpuUsageNs: (cpu.get('usage_usec') ?? 0) * 1000,
      memoryBytes: withoutInactiveFile(current, mem.get('inactive_file')),
      memoryLimitBytes: await readNumber(path.join(dir, 'memory.max')),
      pids: (await readNumber(path.join(dir, 'pids.current'))) ?? 0,
      pidsLimit: await readNumber(path.join(dir, 'pids.max')),
    };
  }
  const memDir = memoryDir(root, mode, rel);
  const cpuDir = v1ControllerDir(root, 'cpuacct');
  const pidsDir = v1ControllerDir(root, 'pids');
  if (!memDir || !existsSync(memDir)) throw notFound(`cgroup ${cgroupsPath} does not exist`);
  const mem = await readKeyed(path.join(memDir, 'memory.stat'));
  const usage = (await readNumber(path.join(memDir, 'memory.usage_in_bytes'))) ?? 0;
  return {
    cpuUsageNs: (cpuDir && (await readNumber(path.join(cpuDir, rel, 'cpuacct.usage')))) || 0,
    memoryBytes: withoutInactiveFile(usage, mem.get('total_inactive_file')),
    memoryLimitBytes: limitOrUndefined(await readNumber(path.join(memDir, 'memory.limit_in_bytes'))),
    pids: (pidsDir && (await readNumber(path.join(pidsDir, rel, 'pids.current')))) || 0,
    pidsLimit: pidsDir ? await readNumber(path.join(pidsDir, rel, 'pids.max')) : undefined,
  };
}

/** Page cache that is not in active use can be reclaimed at once, so it is not counted (as Docker does). */
function withoutInactiveFile(usage: number, inactiveFile: number | undefined): number {
  return inactiveFile !== undefined && inactiveFile < usage ? usage - inactiveFile : usage;
}

/**
 * How many times the kernel's OOM killer killed a process of this cgroup (v1 memory.oom_control oom_kill,
 * v2 memory.events oom_kill). Read it before the cgroup is deleted: the count dies with the cgroup.
 * Undefined when the cgroup does not exist or the kernel does not report it.
 */
export async function oomKillCount(cgroupsPath: string, root = CGROUP_ROOT): Promise<number | undefined> {
  const rel = checkCgroupsPath(cgroupsPath);
  const mode = detectCgroupMode(root);
  const dir = memoryDir(root, mode, rel);
  if (!dir) return undefined;
  const file = path.join(dir, mode === 'v2' ? 'memory.events' : 'memory.oom_control');
  const text = await readText(file);
  return text === undefined ? undefined : parseFlatKeyed(text).get('oom_kill');
}

/** True when the OOM killer killed at least one process of the cgroup. */
export async function oomKilled(cgroupsPath: string, root = CGROUP_ROOT): Promise<boolean> {
  return ((await oomKillCount(cgroupsPath, root)) ?? 0) > 0;
}

/** Every hierarchy directory under the root: v1 controllers, named v1 hierarchies, the unified tree. */
async function hierarchies(root: string, mode: CgroupMode): Promise<{ name: string; dir: string }[]> {
  if (mode === 'v2') return [{ name: 'unified', dir: root }];
  const entries = await fs.readdir(root, { withFileTypes: true });
  // Co-mounted controllers often appear twice: the real mount "cpu,cpuacct" and symlinks "cpu", "cpuacct".
  return entries.filter((e) => e.isDirectory()).map((e) => ({ name: e.name, dir: path.join(root, e.name) }));
}

/**
 * All cgroups at or below `prefix` (e.g. "/nubis") in every hierarchy, as "<hierarchy>:<path>" strings,
 * sorted, deepest last; empty when nothing exists. Used to prove that nothing leaked.
 */
export async function listCgroups(prefix: string, root = CGROUP_ROOT): Promise<string[]> {
  const rel = checkCgroupsPath(prefix);
  const found: string[] = [];
  for (const h of await hierarchies(root, detectCgroupMode(root))) {
    const walk = async (cg: string): Promise<void> => {
      let entries;
      try {
        entries = await fs.readdir(path.join(h.dir, cg), { withFileTypes: true });
      } catch (err) {
        if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') return;
        throw internal(`cannot list cgroup ${h.name}:${cg}`, err);
      }
      found.push(`${h.name}:${cg}`);
      for (const e of entries) if (e.isDirectory()) await walk(path.posix.join(cg, e.name));
    };
    await walk(rel);
  }
  return found.sort();
}

/**
 * Removes the cgroups at and below `prefix` in every hierarchy, deepest first. A cgroup that still has
 * processes cannot be removed: that fails with an Internal error naming it. Missing ones are fine.
 */
export async function removeCgroupTree(prefix: string, root = CGROUP_ROOT): Promise<void> {
  const all = await listCgroups(prefix, root);
  const mode = detectCgroupMode(root);
  const dirs = new Map((await hierarchies(root, mode)).map((h) => [h.name, h.dir]));
  // Deepest first, so children go before their parents.
  all.sort((a, b) => b.split('/').length - a.split('/').length);
  for (const entry of all) {
    const colon = entry.indexOf(':');
    const dir = path.join(dirs.get(entry.slice(0, colon))!, entry.slice(colon + 1));
    try {
      await fs.rmdir(dir);
    } catch (err) {
      if (errno(err) === 'ENOENT') continue;
      throw internal(`cannot remove cgroup ${entry}: ${errno(err) ?? 'error'}`, err);
    }
  }
}

/** The hierarchy dirs of the machine's cgroups (fixed while we run): looked up once. */
let hierarchyDirs: Promise<string[]> | undefined;

/**
 * Removes the cgroup `path` if it is empty, then each parent up to `stopAt` that is now empty, in every
 * hierarchy (a pod's cgroup goes with its last container). rmdir fails on a cgroup that still has children
 * or processes: that one and those above it stay, rightly. Only this chain is touched: no walk over other
 * cgroups. Best effort: nothing is thrown.
 */
export async function removeEmptyCgroupChain(cgroupsPath: string, stopAt: string): Promise<void> {
  const chain: string[] = [];
  for (let p = cgroupsPath; p.length >= stopAt.length && p !== '/'; p = path.posix.dirname(p)) chain.push(p);
  hierarchyDirs ??= hierarchies(CGROUP_ROOT, detectCgroupMode()).then((hs) => hs.map((h) => h.dir));
  let roots: string[];
  try {
    roots = await hierarchyDirs;
  } catch {
    hierarchyDirs = undefined;
    return;
  }
  await Promise.all(
    roots.map(async (root) => {
      for (const p of chain) {
        try {
          await fs.rmdir(path.join(root, p));
        } catch (err) {
          if (errno(err) !== 'ENOENT') return;
        }
      }
    }),
  );
}

/**
 * Whether a memory limit can include swap (so a container over its limit is killed instead of swapping):
 * on v1 that needs memory.memsw.* (swap accounting); on v2 runc simply skips memory.swap.max when absent.
 */
export function swapLimitSupported(root = CGROUP_ROOT): boolean {
  const mode = detectCgroupMode(root);
  if (mode === 'v2') return true;
  const mem = v1ControllerDir(root, 'memory');
  return mem !== undefined && existsSync(path.join(mem, 'memory.memsw.limit_in_bytes'));
}

/** Limits for a cgroup this program makes itself (not through runc): see placeInCgroup. */
export interface CgroupLimits {
  /** CPU time per period, in CPUs (e.g. 1.05). */
  cpus?: number;
  memoryBytes?: number;
}

const CPU_PERIOD_US = 100_000;

/**
 * Makes the cgroup `cgroupsPath` (e.g. /nubis/microvm/<id>) with `limits` and moves process `pid` (all its
 * threads) into it: in the unified hierarchy on v2, in the cpu and memory hierarchies on v1 and hybrid
 * hosts. Fails with Internal naming the file it could not write. Remove it with removeEmptyCgroupChain
 * once the process is gone.
 */
export async function placeInCgroup(cgroupsPath: string, pid: number, limits: CgroupLimits, root = CGROUP_ROOT): Promise<void> {
  const rel = checkCgroupsPath(cgroupsPath);
  const write = async (file: string, value: string) => {
    try {
      await fs.writeFile(file, value);
    } catch (err) {
      throw internal(`cannot write ${value} to ${file}: ${errno(err) ?? 'error'}`, err);
    }
  };
  const quota = limits.cpus !== undefined ? Math.max(1000, Math.ceil(limits.cpus * CPU_PERIOD_US)) : undefined;
  if (detectCgroupMode(root) === 'v2') {
    // Controllers reach a cgroup only through its parents' subtree_control.
    let dir = root;
    for (const part of rel.split('/').filter(Boolean)) {
      await write(path.join(dir, 'cgroup.subtree_control'), '+cpu +memory');
      dir = path.join(dir, part);
      await fs.mkdir(dir, { recursive: true });
    }
    if (quota !== undefined) await write(path.join(dir, 'cpu.max'), `${quota} ${CPU_PERIOD_US}`);
    if (limits.memoryBytes !== undefined) await write(path.join(dir, 'memory.max'), String(limits.memoryBytes));
    await write(path.join(dir, 'cgroup.procs'), String(pid));
    return;
  }
  for (const controller of ['cpu', 'memory']) {
    const base = v1ControllerDir(root, controller);
    if (!base) throw internal(`no ${controller} cgroup hierarchy under ${root}`);
    const dir = path.join(base, rel);
    await fs.mkdir(dir, { recursive: true });
    if (controller === 'cpu' && quota !== undefined) {
      await write(path.join(dir, 'cpu.cfs_period_us'), String(CPU_PERIOD_US));
      await write(path.join(dir, 'cpu.cfs_quota_us'), String(quota));
    }
    if (controller === 'memory' && limits.memoryBytes !== undefined) await write(path.join(dir, 'memory.limit_in_bytes'), String(limits.memoryBytes));
    await write(path.join(dir, 'cgroup.procs'), String(pid));
  }
}

/**
 * removeEmptyCgroupChain, tried again until `cgroupsPath` is gone from every hierarchy or `timeoutMs`
 * passed: a process that was just killed leaves its cgroup only once all its threads have exited, a
 * moment after its main thread shows as a zombie. Says whether the cgroup is gone.
 */
export async function removeCgroupWhenEmpty(cgroupsPath: string, stopAt: string, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await removeEmptyCgroupChain(cgroupsPath, stopAt);
    if ((await listCgroups(cgroupsPath)).length === 0) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
}
