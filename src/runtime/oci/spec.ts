/**
 * The OCI runtime bundle's config.json for one container, built from the image config and the user's
 * ContainerOptions (runtime-spec 1.0.2, what runc 1.1 reads).
 *
 * Isolation it asks for unless told otherwise: mount, UTS, IPC, PID and network namespaces (a user
 * namespace on request, made or joined; a cgroup namespace on pure v2 hosts); Docker's default
 * capabilities; Nubis's default seccomp allowlist (or the caller's profile, or none); no_new_privs; masked
 * and read-only /proc and /sys paths; cgroup limits for memory (+swap), CPU and pids; RLIMIT_NOFILE
 * clamped to the host's hard limit. A privileged container gets every capability and host device, no
 * filter and no masked paths. It never sets oomScoreAdj: hosts without CAP_SYS_RESOURCE refuse to lower
 * it and runc would fail the start.
 *
 * What the driver provides around the spec:
 *  - /etc/hosts, /etc/hostname, /etc/resolv.conf: write them into the container dir (etcHostsContent,
 *    etcHostnameContent; resolv.conf is the host's copy or the network layer's) and pass their paths as
 *    `options.etcFiles`; they are bind-mounted (read-only when the root is).
 *  - With `userns`: container ids 0..65535 are host ids USERNS_HOST_ID..+65535 (or `idMapping`). The
 *    container's root must be able to use its rootfs: chown the overlay upper dir and the mountpoint to it
 *    (files from the lower layers then show as nobody:nogroup, readable but owned by no one inside), and
 *    every directory on the way to the bundle must be searchable (o+x) by that host uid.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { errno, invalid } from '../../lib/errors.js';
import type { ImageConfig } from '../../image/types.js';
import { containerRlimits, type OciRlimit, type Rlimits } from '../../host/rlimits.js';
import type { SeccompProfile } from './seccomp.js';
import { hostDevices, processUser, seccompFor, type OciDevice } from './security.js';
import {
  CPU_PERIOD_US,
  detectHostFacts,
  resolveCapabilities,
  userNamespaceOf,
  validateContainerOptions,
  type ContainerOptions,
  type HostFacts,
} from './options.js';

export {
  parseMemory,
  parseCpus,
  validateContainerOptions,
  detectHostFacts,
  resolveCapabilities,
  DEFAULT_CAPABILITIES,
  ALL_CAPABILITIES,
  MIN_MEMORY_BYTES,
  USERNS_HOST_ID,
  USERNS_SIZE,
} from './options.js';
export type { ContainerOptions, ResourceOptions, MountOption, EtcFiles, HostFacts } from './options.js';


export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Everything buildSpec needs. */
export interface SpecInput {
  id: string;
  /** Absolute path of the mounted overlay root. */
  rootfs: string;
  image: ImageConfig;
  options: ContainerOptions;
  /** cgroupfs-style path, e.g. "/nubis/<id>": works on v1, v2 and hybrid. */
  cgroupsPath: string;
  hostRlimits: Rlimits;
  /** Defaults to detectHostFacts() (CPU count, cgroup layout, swap accounting). */
  hostFacts?: HostFacts;
  /** The devices a privileged container gets; defaults to the host's /dev. */
  hostDevices?: () => Promise<OciDevice[]>;
}

export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options?: string[];
}

export interface OciIdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface OciProcess {
  terminal: boolean;
  user: { uid: number; gid: number; additionalGids?: number[] };
  args: string[];
  env: string[];
  cwd: string;
  capabilities: { bounding: string[]; effective: string[]; permitted: string[] };
  rlimits: OciRlimit[];
  noNewPrivileges: boolean;
}

export interface OciResources {
  devices: { allow: boolean; access?: string; type?: string; major?: number; minor?: number }[];
  memory?: { limit: number; swap?: number };
  cpu?: { shares?: number; quota?: number; period?: number };
  pids?: { limit: number };
}

export interface OciLinux {
  namespaces: { type: 'pid' | 'ipc' | 'uts' | 'mount' | 'network' | 'user' | 'cgroup'; path?: string }[];
  uidMappings?: OciIdMapping[];
  gidMappings?: OciIdMapping[];
  resources: OciResources;
  cgroupsPath: string;
  maskedPaths: string[];
  readonlyPaths: string[];
  seccomp?: SeccompProfile;
  sysctl?: Record<string, string>;
  devices?: OciDevice[];
}

/** The subset of the OCI runtime spec Nubis emits. */
export interface OciSpec {
  ociVersion: string;
  process: OciProcess;
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: OciMount[];
  linux: OciLinux;
  annotations?: Record<string, string>;
}

/** Kernel files that leak host information or offer host control: hidden (an empty file or directory). */
export const MASKED_PATHS = [
  '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats',
  '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
];

/** Kernel files a container may read but never write. */
export const READONLY_PATHS = ['/proc/asound', '/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** /etc/hosts for a container: loopback names, and `hostname` at `ip` (127.0.1.1 while it has no interface). */
export function etcHostsContent(hostname: string, ip = '127.0.1.1'): string {
  return [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'ff00::0\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
    `${ip}\t${hostname}`,
    '',
  ].join('\n');
}

export function etcHostnameContent(hostname: string): string {
  return `${hostname}\n`;
}

/** The process arguments with Docker's rules: CLI args replace Cmd; --entrypoint replaces Entrypoint and drops Cmd. */
export function resolveArgs(image: ImageConfig, opts: ContainerOptions): string[] {
  const cfg = image.config ?? {};
  const entrypoint = opts.entrypoint ?? cfg.Entrypoint ?? [];
  const cmd = opts.command ?? (opts.entrypoint !== undefined ? [] : (cfg.Cmd ?? []));
  const args = [...entrypoint, ...cmd];
  if (args.length === 0) throw invalid('no command to run: the image has no Entrypoint or Cmd and none was given');
  return args;
}

/** Image Env, then the user's (later wins, order of first appearance kept), plus PATH, HOSTNAME, TERM, HOME. */
export function mergeEnv(imageEnv: string[], userEnv: string[], extra: { hostname: string; home: string; tty: boolean }): string[] {
  const env = new Map<string, string>();
  for (const e of [...imageEnv, ...userEnv]) {
    const eq = e.indexOf('=');
    if (eq <= 0) continue;
    env.set(e.slice(0, eq), e.slice(eq + 1));
  }
  if (!env.has('PATH')) env.set('PATH', DEFAULT_PATH);
  env.set('HOSTNAME', extra.hostname);
  if (extra.tty && !env.has('TERM')) env.set('TERM', 'xterm');
  if (!env.has('HOME')) env.set('HOME', extra.home);
  return [...env].map(([k, v]) => `${k}=${v}`);
}

function standardMounts(opts: ContainerOptions): OciMount[] {
  const sysReadOnly = opts.privileged ? [] : ['ro'];
  // A user namespace may mount sysfs only with a network namespace it owns: a joined user namespace owns
  // the joined network namespace (a pod's sandbox), a fresh one does not; then the host's is bound.
  const sys: OciMount =
    userNamespaceOf(opts) && !opts.userNamespacePath && opts.networkNamespacePath
      ? { destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', ...sysReadOnly] }
      : { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', ...sysReadOnly] };
  // On v1 and hybrid hosts runc turns a "cgroup" mount into a tmpfs holding binds of the container's own
  // cgroup in each hierarchy; on v2 it mounts cgroup2 inside the container's cgroup namespace.
  const cgroupOpts = ['nosuid', 'noexec', 'nodev', 'relatime', ...sysReadOnly];
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    sys,
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: cgroupOpts },
  ];
}

async function userMounts(opts: ContainerOptions): Promise<OciMount[]> {
  const out: OciMount[] = [];
  for (const m of opts.mounts ?? []) {
    const destination = path.posix.normalize(m.destination).replace(/(.)\/+$/, '$1');
    if (m.type === 'tmpfs') {
      out.push({ destination, type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', m.readOnly ? 'ro' : 'rw'] });
      continue;
    }
    try {
      await fs.stat(m.source);
    } catch (err) {
      throw invalid(`mount source ${m.source} does not exist`, err);
    }
    out.push({ destination, type: 'bind', source: m.source, options: ['rbind', 'rprivate', m.readOnly ? 'ro' : 'rw'] });
  }
  const etc = opts.etcFiles ?? {};
  const files: [string | undefined, string][] = [
    [etc.hosts, '/etc/hosts'],
    [etc.hostname, '/etc/hostname'],
    [etc.resolvConf, '/etc/resolv.conf'],
  ];
  for (const [source, destination] of files) {
    // A mount the caller asked for at the same place wins (a pod's resolv.conf, `-v x:/etc/hosts`).
    if (source === undefined || out.some((m) => m.destination === destination)) continue;
    if (!path.isAbsolute(source)) throw invalid(`etc file path must be absolute: "${source}"`);
    out.push({ destination, type: 'bind', source, options: ['rbind', 'rprivate', opts.readOnlyRootfs ? 'ro' : 'rw'] });
  }
  return out;
}

function resources(opts: ContainerOptions, facts: HostFacts): OciResources {
  const r = opts.resources ?? {};
  const out: OciResources = {
    devices: [{ allow: Boolean(opts.privileged), access: 'rwm' }],
  };
  if (r.memoryBytes !== undefined) {
    // swap (memory+swap in OCI terms) = limit: going over the limit kills instead of swapping.
    out.memory = { limit: r.memoryBytes, ...(facts.swapLimit ? { swap: r.memoryBytes } : {}) };
  }
  if (r.cpus !== undefined || r.cpuShares !== undefined) {
    out.cpu = {
      ...(r.cpuShares !== undefined ? { shares: r.cpuShares } : {}),
      ...(r.cpus !== undefined ? { quota: Math.round(r.cpus * CPU_PERIOD_US), period: CPU_PERIOD_US } : {}),
    };
  }
  if (r.pidsLimit !== undefined) out.pids = { limit: r.pidsLimit };
  return out;
}

/**
 * Builds config.json for one container. Fails with Invalid (before anything is created) on bad options,
 * a user name or group missing from the image, or a bind mount source that does not exist.
 */
export async function buildSpec(input: SpecInput): Promise<OciSpec> {
  const { id, rootfs, image, options: opts } = input;
  const facts = input.hostFacts ?? detectHostFacts();
  validateContainerOptions(opts, facts);
  if (!path.isAbsolute(rootfs)) throw invalid(`rootfs must be an absolute path: "${rootfs}"`);
  if (!path.posix.isAbsolute(input.cgroupsPath)) throw invalid(`cgroups path must be absolute: "${input.cgroupsPath}"`);
  try {
    if (!(await fs.stat(rootfs)).isDirectory()) throw invalid(`rootfs ${rootfs} is not a directory`);
  } catch (err) {
    if (errno(err) === 'ENOENT') throw invalid(`rootfs ${rootfs} does not exist`, err);
    throw err;
  }

  const cfg = image.config ?? {};
  const hostname = opts.hostname ?? id.slice(0, 12);
  const user = await processUser(rootfs, image, opts);
  const cwd = opts.workingDir ?? (cfg.WorkingDir || '/');
  if (!path.posix.isAbsolute(cwd)) throw invalid(`the image's working dir must be absolute: "${cwd}"`);
  const caps = resolveCapabilities(opts);
  const seccomp = seccompFor(opts, caps);
  const unmasked = opts.privileged || opts.unmaskedProc;

  return {
    ociVersion: '1.0.2',
    process: {
      terminal: Boolean(opts.tty),
      user: { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids },
      args: resolveArgs(image, opts),
      env: mergeEnv(cfg.Env ?? [], opts.env ?? [], { hostname, home: user.home, tty: Boolean(opts.tty) }),
      cwd,
      // Inheritable and ambient stay empty (Docker's fix for CVE-2022-24769); a non-root process loses the
      // effective and permitted sets on exec anyway unless the file carries capabilities.
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      rlimits: containerRlimits(input.hostRlimits),
      noNewPrivileges: opts.noNewPrivileges ?? !opts.privileged,
    },
    root: { path: rootfs, readonly: Boolean(opts.readOnlyRootfs) },
    hostname,
    mounts: [...standardMounts(opts), ...(await userMounts(opts))],
    linux: {
      ...namespacesOf(opts, facts),
      resources: resources(opts, facts),
      cgroupsPath: input.cgroupsPath,
      maskedPaths: unmasked ? [] : MASKED_PATHS,
      readonlyPaths: unmasked ? [] : READONLY_PATHS,
      ...(seccomp ? { seccomp } : {}),
      ...(opts.sysctls && Object.keys(opts.sysctls).length > 0 ? { sysctl: { ...opts.sysctls } } : {}),
      ...(opts.privileged ? { devices: await (input.hostDevices ?? hostDevices)() } : {}),
    },
  };
}

/** The namespaces to make or join, and the id mappings of a user namespace. */
function namespacesOf(opts: ContainerOptions, facts: HostFacts): Pick<OciLinux, 'namespaces' | 'uidMappings' | 'gidMappings'> {
  const namespaces: OciLinux['namespaces'] = [
    { type: 'pid' },
    opts.ipcNamespacePath ? { type: 'ipc', path: opts.ipcNamespacePath } : { type: 'ipc' },
    opts.utsNamespacePath ? { type: 'uts', path: opts.utsNamespacePath } : { type: 'uts' },
    { type: 'mount' },
    opts.networkNamespacePath ? { type: 'network', path: opts.networkNamespacePath } : { type: 'network' },
  ];
  const userns = userNamespaceOf(opts);
  if (userns) namespaces.push(opts.userNamespacePath ? { type: 'user', path: opts.userNamespacePath } : { type: 'user' });
  if (facts.cgroupMode === 'v2') namespaces.push({ type: 'cgroup' });
  if (!userns) return { namespaces };
  const mapping = [{ containerID: 0, hostID: userns.hostId, size: userns.size }];
  return { namespaces, uidMappings: mapping, gidMappings: mapping };
}
