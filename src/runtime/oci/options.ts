/**
 * What a user may ask of a container (ContainerOptions), the parsers the CLI needs for its flags, and the
 * validation that runs before anything is created: every failure is an Invalid error with a one-line
 * message. The image-dependent check (a user name must exist in the image) happens in buildSpec.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { invalid } from '../../lib/errors.js';
import { detectCgroupMode, swapLimitSupported, type CgroupMode } from '../../host/cgroups.js';

/** A bind mount from the host, or a fresh tmpfs, at `destination` inside the container. */
export interface MountOption {
  /** Host path for a bind mount (absolute, must exist); ignored for tmpfs. */
  source: string;
  destination: string;
  readOnly?: boolean;
  type?: 'bind' | 'tmpfs';
}

/** Host files bind-mounted over the container's /etc/hosts, /etc/hostname and /etc/resolv.conf. */
export interface EtcFiles {
  hosts?: string;
  hostname?: string;
  resolvConf?: string;
}

/** What a user asks of one container, on top of the image's config. */
export interface ContainerOptions {
  /** Replaces the image's Cmd (Docker's CLI arguments); the Entrypoint stays unless `entrypoint` is given. */
  command?: string[];
  /** Replaces the image's Entrypoint; also drops the image's Cmd (as Docker does). */
  entrypoint?: string[];
  /** KEY=VALUE entries merged over the image's Env (later wins). Entries without '=' are refused. */
  env?: string[];
  /** Absolute; defaults to the image's WorkingDir, else "/". */
  workingDir?: string;
  /** "uid", "uid:gid", "name", "name:group" (names looked up in the image); defaults to the image's User. */
  user?: string;
  /** Defaults to the first 12 characters of the container id. */
  hostname?: string;
  mounts?: MountOption[];
  readOnlyRootfs?: boolean;
  tty?: boolean;
  resources?: ResourceOptions;
  /** Run in a user namespace: container uids 0..65535 map to host uids 100000..165535 (see USERNS_*). */
  userns?: boolean;
  /** The user namespace's mapping instead of USERNS_*; implies `userns`. */
  idMapping?: { hostId: number; size: number };
  /** Join this user namespace (it must have `idMapping`) instead of making one; implies `userns`. */
  userNamespacePath?: string;
  /** Capability names with or without the CAP_ prefix, or "ALL". */
  capAdd?: string[];
  capDrop?: string[];
  /** All capabilities and host devices, no seccomp filter, no masked paths, all devices allowed. */
  privileged?: boolean;
  /** Primary group id replacing the one of `user` (or of the image's user). */
  group?: number;
  /** Further group ids of the process. */
  supplementalGroups?: number[];
  /** Whether the image's /etc/group memberships of the user are added (default true). */
  imageGroups?: boolean;
  /** Refuse (Invalid) when the process would run as uid 0 or as a name the image cannot resolve. */
  runAsNonRoot?: boolean;
  /** Set no_new_privs (default: unless privileged). */
  noNewPrivileges?: boolean;
  /** Nubis's default filter (default), none, or an OCI/Docker seccomp JSON profile. */
  seccomp?: 'default' | 'unconfined' | { profile: unknown };
  /** Kernel parameters set in the container's namespaces (linux.sysctl). */
  sysctls?: Record<string, string>;
  /** No masked or read-only /proc and /sys paths. */
  unmaskedProc?: boolean;
  /**
   * Join this network namespace (e.g. /run/netns/<name>) instead of creating a fresh one that has only
   * loopback: the hook the networking layer uses to give a container interfaces.
   */
  networkNamespacePath?: string;
  /** Join this IPC namespace (e.g. /proc/<pid>/ns/ipc) instead of creating one: a pod's shared IPC. */
  ipcNamespacePath?: string;
  /** Join this UTS namespace (e.g. /proc/<pid>/ns/uts) instead of creating one: a pod's shared hostname. */
  utsNamespacePath?: string;
  /** Files the driver wrote for the container (see etcHostsContent), bind-mounted over /etc/*. */
  etcFiles?: EtcFiles;
}

export interface ResourceOptions {
  /** Hard memory limit in bytes (at least 6 MiB). Swap is limited to the same value, so exceeding it kills. */
  memoryBytes?: number;
  /** CPU quota in CPUs, e.g. 1.5 (period 100 ms), between 0.01 and the host's CPU count. */
  cpus?: number;
  /** Relative CPU weight, 2..262144 (Docker's default is 1024). */
  cpuShares?: number;
  /** Maximum number of processes and threads, at least 1. */
  pidsLimit?: number;
}

/** What buildSpec needs to know about the host; detectHostFacts() reads it from the machine. */
export interface HostFacts {
  cpuCount: number;
  cgroupMode: CgroupMode;
  /** Whether the memory controller can limit swap (v1 needs swap accounting: memory.memsw.*). */
  swapLimit: boolean;
}

export function detectHostFacts(cgroupRoot?: string): HostFacts {
  return {
    cpuCount: availableParallelism(),
    cgroupMode: detectCgroupMode(cgroupRoot),
    swapLimit: swapLimitSupported(cgroupRoot),
  };
}

export const MIN_MEMORY_BYTES = 6 * 1024 * 1024;
export const CPU_PERIOD_US = 100_000;

const UNITS: Record<string, number> = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** Parses a memory size like Docker: "512m", "1g", "1.5g", "64mb", "1024" (bytes); units are powers of 1024. */
export function parseMemory(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmgt])?(?:i?b)?$/i.exec(text.trim());
  if (!m) throw invalid(`invalid memory size "${text}": use a number with an optional unit b, k, m or g (e.g. 512m)`);
  const bytes = Math.floor(Number(m[1]) * UNITS[(m[2] ?? 'b').toLowerCase()]!);
  if (!Number.isSafeInteger(bytes)) throw invalid(`memory size "${text}" is too large`);
  return bytes;
}

/** Parses a CPU count like "1.5" or "0.25". The upper bound (host CPUs) is checked by validation. */
export function parseCpus(text: string): number {
  const t = text.trim();
  const n = Number(t);
  if (!/^\d*\.?\d+$/.test(t) || !Number.isFinite(n) || n <= 0) throw invalid(`invalid --cpus "${text}": expected a positive number such as 1.5`);
  return n;
}

/** Capabilities Docker gives a container by default. */
export const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
] as const;

/** Every capability the kernel defines, in number order (0..40). */
export const ALL_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN',
  'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
] as const;

function capName(raw: string): string {
  const up = raw.trim().toUpperCase();
  if (up === 'ALL') return up;
  const name = up.startsWith('CAP_') ? up : `CAP_${up}`;
  if (!(ALL_CAPABILITIES as readonly string[]).includes(name)) throw invalid(`unknown capability "${raw}"`);
  return name;
}

let ownCapabilities: string[] | undefined;

/**
 * The capabilities this process can hand on (its bounding set): what "ALL" and privileged mean, as in
 * containerd, since runc fails to grant one the runtime lacks (hosts that deny CAP_SYS_RESOURCE).
 */
export function hostCapabilities(): string[] {
  if (!ownCapabilities) {
    const hex = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    const mask = hex === undefined ? undefined : BigInt(`0x${hex}`);
    ownCapabilities = ALL_CAPABILITIES.filter((_, bit) => mask === undefined || ((mask >> BigInt(bit)) & 1n) === 1n);
  }
  return ownCapabilities;
}

/**
 * The container's capability set: Docker's defaults, then --cap-drop, then --cap-add ("ALL" allowed).
 * "ALL" and privileged mean every capability in `available` (the runtime's own by default).
 */
export function resolveCapabilities(opts: Pick<ContainerOptions, 'capAdd' | 'capDrop' | 'privileged'>, available: readonly string[] = hostCapabilities()): string[] {
  if (opts.privileged) return [...available];
  const add = (opts.capAdd ?? []).map(capName);
  const drop = (opts.capDrop ?? []).map(capName);
  let set = new Set<string>(drop.includes('ALL') ? [] : DEFAULT_CAPABILITIES);
  if (add.includes('ALL')) set = new Set(available);
  for (const d of drop) if (d !== 'ALL' && !add.includes(d)) set.delete(d);
  for (const a of add) if (a !== 'ALL') set.add(a);
  return ALL_CAPABILITIES.filter((c) => set.has(c));
}

const HOSTNAME_RE = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/;

function checkContainerPath(p: string, what: string): void {
  if (!path.posix.isAbsolute(p)) throw invalid(`${what} must be an absolute path: "${p}"`);
  if (p.split('/').includes('..')) throw invalid(`${what} must not contain "..": "${p}"`);
}

/**
 * Checks everything about `opts` that needs neither the image nor the rootfs. Call it before creating
 * anything; buildSpec calls it again.
 */
export function validateContainerOptions(opts: ContainerOptions, facts: Pick<HostFacts, 'cpuCount'>): void {
  const r = opts.resources ?? {};
  if (r.memoryBytes !== undefined && (!Number.isSafeInteger(r.memoryBytes) || r.memoryBytes < MIN_MEMORY_BYTES)) {
    throw invalid(`memory limit must be at least 6MB (got ${r.memoryBytes} bytes)`);
  }
  if (r.cpus !== undefined && (!Number.isFinite(r.cpus) || r.cpus < 0.01 || r.cpus > facts.cpuCount)) {
    throw invalid(`--cpus must be between 0.01 and ${facts.cpuCount} (the host's CPU count), got ${r.cpus}`);
  }
  if (r.cpuShares !== undefined && (!Number.isInteger(r.cpuShares) || r.cpuShares < 2 || r.cpuShares > 262144)) {
    throw invalid(`cpu shares must be an integer between 2 and 262144, got ${r.cpuShares}`);
  }
  if (r.pidsLimit !== undefined && (!Number.isInteger(r.pidsLimit) || r.pidsLimit < 1)) {
    throw invalid(`pids limit must be an integer of at least 1, got ${r.pidsLimit}`);
  }
  for (const e of opts.env ?? []) {
    const eq = e.indexOf('=');
    if (eq < 0) throw invalid(`env entry "${e}" must be KEY=VALUE`);
    if (eq === 0) throw invalid(`env entry "${e}" has no key`);
  }
  if (opts.workingDir !== undefined) checkContainerPath(opts.workingDir, 'working dir');
  if (opts.hostname !== undefined && (opts.hostname.length > 64 || !HOSTNAME_RE.test(opts.hostname))) {
    throw invalid(`invalid hostname "${opts.hostname}": letters, digits, '-' and '.', at most 64 characters`);
  }
  const seen = new Set<string>();
  for (const m of opts.mounts ?? []) {
    checkContainerPath(m.destination, 'mount destination');
    const dest = path.posix.normalize(m.destination).replace(/\/+$/, '') || '/';
    if (dest === '/') throw invalid('a mount cannot replace the root directory "/"');
    if (seen.has(dest)) throw invalid(`two mounts at "${dest}"`);
    seen.add(dest);
    if ((m.type ?? 'bind') === 'bind' && !path.isAbsolute(m.source)) throw invalid(`bind mount source must be an absolute host path: "${m.source}"`);
  }
  for (const [what, p] of [['network', opts.networkNamespacePath], ['IPC', opts.ipcNamespacePath], ['UTS', opts.utsNamespacePath]] as const) {
    if (p !== undefined && !path.isAbsolute(p)) throw invalid(`${what} namespace path must be absolute: "${p}"`);
  }
  resolveCapabilities(opts);
  validateIdentityOptions(opts);
}

const SYSCTL_NAME_RE = /^[a-z0-9]([-_a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-_a-z0-9]*[a-z0-9])?)*$/;
const MAX_ID = 2 ** 32 - 2;

function checkId(value: number | undefined, what: string): void {
  if (value !== undefined && (!Number.isInteger(value) || value < 0 || value > MAX_ID)) throw invalid(`${what} must be an integer between 0 and ${MAX_ID}, got ${value}`);
}

/** Groups, the user namespace and sysctls. */
function validateIdentityOptions(opts: ContainerOptions): void {
  checkId(opts.group, 'group id');
  for (const g of opts.supplementalGroups ?? []) checkId(g, 'supplemental group id');
  if (opts.idMapping) {
    checkId(opts.idMapping.hostId, 'user namespace host id');
    const { hostId, size } = opts.idMapping;
    if (!Number.isInteger(size) || size < 1 || hostId + size - 1 > MAX_ID) throw invalid(`user namespace size must be a positive integer within the id range, got ${size}`);
  }
  if (opts.userNamespacePath !== undefined) {
    if (!path.isAbsolute(opts.userNamespacePath)) throw invalid(`user namespace path must be absolute: "${opts.userNamespacePath}"`);
    if (!opts.idMapping) throw invalid('joining a user namespace needs its id mapping');
  }
  for (const [name, value] of Object.entries(opts.sysctls ?? {})) {
    if (!SYSCTL_NAME_RE.test(name)) throw invalid(`invalid sysctl name "${name}"`);
    if (typeof value !== 'string' || value.includes('\n')) throw invalid(`invalid value for sysctl ${name}`);
  }
}

/** Whether the container runs in a user namespace, and with which mapping. */
export function userNamespaceOf(opts: ContainerOptions): { hostId: number; size: number } | undefined {
  if (!opts.userns && !opts.idMapping && !opts.userNamespacePath) return undefined;
  return opts.idMapping ?? { hostId: USERNS_HOST_ID, size: USERNS_SIZE };
}

/** First host uid/gid of a user-namespaced container, and how many ids it maps. */
export const USERNS_HOST_ID = 100_000;
export const USERNS_SIZE = 65_536;
