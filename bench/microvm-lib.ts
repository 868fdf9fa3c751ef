/**
 * Helpers of bench/microvm-boot.ts: images, one foreground boot timed from spawn to QEMU's exit (checked
 * by a marker on the console), a daemonized VM driven through the shell loop, PSS from smaps_rollup, and a
 * busybox root file system on disk.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Host } from '../src/host/host.js';
import { BUILTIN_TIME, busyboxEntries, DEFAULT_BUSYBOX } from '../src/image/builtin-busybox.js';
import { AgentChannel } from '../src/runtime/microvm/agent-channel.js';
import type { GuestKernel } from '../src/runtime/microvm/guest-kernel.js';
import { guestInitScript, powerOffInit, shellLoopBody, type GuestShare } from '../src/runtime/microvm/guest-init.js';
import { buildInitramfs, type InitramfsCompression } from '../src/runtime/microvm/initramfs.js';
import { GUEST_MODULES } from '../src/runtime/microvm/kernel-modules.js';
import { launchMicrovm, removeMicrovmDir, stopMicrovm, type LaunchShare, type MicrovmProcesses } from '../src/runtime/microvm/microvm-process.js';
import { waitGone } from '../src/runtime/microvm/processes.js';
import { AGENT_PORT, QEMU_BINARY, microvmArgv, type MicrovmSpec } from '../src/runtime/microvm/qemu-command.js';
import { startVirtiofsd } from '../src/runtime/microvm/virtiofsd.js';

export const MARKER = 'NUBIS-BENCH-MARKER';
/** Every module the guest may need: what a real micro-VM initramfs carries. */
export const ALL_MODULES = [...GUEST_MODULES.transport, ...GUEST_MODULES.channel, ...GUEST_MODULES.network, ...GUEST_MODULES['9p'], ...GUEST_MODULES.virtiofs, ...GUEST_MODULES.overlay, ...GUEST_MODULES.balloon];

export { median } from './start.js';

export interface BenchEnv {
  host: Host;
  kernel: GuestKernel;
  work: string;
  cacheDir: string;
  tscKhz?: number;
}

/** An initramfs whose init runs `body` after the prelude (modules: ALL_MODULES unless `modules` says). */
export async function image(env: BenchEnv, body: string | 'poweroff', opts: { modules?: string[]; compression?: InitramfsCompression; share?: GuestShare } = {}): Promise<string> {
  const modules = opts.modules ?? ALL_MODULES;
  const init = body === 'poweroff' ? powerOffInit(MARKER) : guestInitScript({ share: opts.share, body });
  const built = await buildInitramfs({ modulesDir: env.kernel.modulesDir, modules, init, compression: opts.compression }, { cacheDir: env.cacheDir, host: env.host });
  return built.path;
}

/** A spec for a foreground boot: 128 MiB, 1 vCPU, TCG, console to `consoleLog`. */
export type BootSpec = Omit<MicrovmSpec, 'console' | 'pidFile'>;

/**
 * Boots in the foreground and returns the milliseconds from spawn (of virtiofsd too, when `virtiofsDir`
 * is shared) to QEMU's exit. Fails unless `expect` shows up on the console.
 */
export async function bootOnce(env: BenchEnv, spec: BootSpec, expect: string, virtiofsDir?: string): Promise<number> {
  const run = await fs.mkdtemp(path.join(env.work, 'boot-'));
  const consoleLog = path.join(run, 'console.log');
  const t0 = performance.now();
  try {
    let vfsPid: number | undefined;
    const share = virtiofsDir ? { kind: 'virtiofs' as const, tag: spec.share?.tag ?? 'share', socket: path.join(run, 'vfs.sock') } : spec.share;
    if (virtiofsDir) {
      const vfs = { source: virtiofsDir, socket: path.join(run, 'vfs.sock'), pidFile: path.join(run, 'vfs.pid'), logFile: path.join(run, 'vfs.log') };
      vfsPid = await startVirtiofsd(env.host, vfs);
    }
    const r = await env.host.run(QEMU_BINARY, microvmArgv({ ...spec, share, console: { file: consoleLog } }), { timeoutMs: 120_000, allowFailure: true });
    const ms = performance.now() - t0;
    if (vfsPid) await waitGone(vfsPid, undefined, { timeoutMs: 5000 });
    const log = await fs.readFile(consoleLog, 'utf8').catch(() => '');
    if (r.code !== 0 || !log.includes(expect)) {
      throw new Error(`boot failed (exit ${r.code}): ${r.stderr.trim()} console: ${log.trim().split('\n').slice(-5).join(' | ')}`);
    }
    return ms;
  } finally {
    await fs.rm(run, { recursive: true, force: true });
  }
}

/** A daemonized VM running the shell loop, its channel connected and the marker seen. */
export interface LoopVm {
  vm: MicrovmProcesses;
  channel: AgentChannel;
  /** Spawn to marker, in milliseconds. */
  readyMs: number;
  close(): Promise<void>;
}

export async function startLoopVm(env: BenchEnv, spec: Omit<BootSpec, 'initrd' | 'agentSocket' | 'share'>, share?: LaunchShare & { options?: string }): Promise<LoopVm> {
  const guestShare: GuestShare | undefined = share && { fs: share.kind, tag: share.tag, mountPoint: '/shared', options: share.options };
  const initrd = await image(env, shellLoopBody(AGENT_PORT, MARKER), { share: guestShare });
  const dir = await fs.mkdtemp(path.join(env.work, 'vm-'));
  const t0 = performance.now();
  const vm = await launchMicrovm(env.host, dir, { ...spec, initrd, share });
  const close = async () => {
    await stopMicrovm(dir);
    await removeMicrovmDir(dir);
  };
  try {
    const channel = await AgentChannel.connect(vm.paths.agentSocket);
    await channel.readLine({ timeoutMs: 60_000, match: (l) => l === MARKER });
    return { vm, channel, readyMs: performance.now() - t0, close: async () => (channel.close(), await close()) };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Proportional set size of `pid` in MiB (smaps_rollup), 0 if it is gone. */
export async function pssMiB(pid: number | undefined): Promise<number> {
  if (!pid) return 0;
  const text = await fs.readFile(`/proc/${pid}/smaps_rollup`, 'utf8').catch(() => '');
  const kb = Number(/^Pss:\s+(\d+) kB/m.exec(text)?.[1] ?? 0);
  return kb / 1024;
}

/**
 * PSS of `pid` in MiB by kind of mapping: the guest's RAM (the one mapping of `guestMiB`), TCG's code
 * buffer (the anonymous rwx mapping), the kernel and initramfs files QEMU keeps mapped (page cache that
 * VMs booting the same files share), and the rest of QEMU; `restFiles` is the part of `rest` that is
 * mapped from other files (QEMU's binary, its libraries and data files); `guestPrivate` is the part of
 * `guest` that is this VM's alone (anonymous: written since boot, or since it resumed from a template
 * whose file pages the rest of `guest` shares with the other clones).
 */
export async function pssBreakdown(pid: number, guestMiB: number, cacheDir: string): Promise<Record<'guest' | 'guestPrivate' | 'tcg' | 'images' | 'rest' | 'restFiles', number>> {
  const text = await fs.readFile(`/proc/${pid}/smaps`, 'utf8');
  const out = { guest: 0, guestPrivate: 0, tcg: 0, images: 0, rest: 0, restFiles: 0 };
  let kind: 'guest' | 'tcg' | 'images' | 'rest' = 'rest';
  let fileBacked = false;
  for (const line of text.split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const mib = (Number.parseInt(head[2]!, 16) - Number.parseInt(head[1]!, 16)) / 1048576;
      const file = head[4] ?? '';
      kind = mib === guestMiB ? 'guest' : file.startsWith(cacheDir) ? 'images' : head[3] === 'rwxp' && !file ? 'tcg' : 'rest';
      fileBacked = file.startsWith('/');
      continue;
    }
    const anon = /^Anonymous:\s+(\d+) kB/.exec(line);
    if (anon && kind === 'guest') out.guestPrivate += Number(anon[1]) / 1024;
    const pss = /^Pss:\s+(\d+) kB/.exec(line);
    if (pss) {
      out[kind] += Number(pss[1]) / 1024;
      if (kind === 'rest' && fileBacked) out.restFiles += Number(pss[1]) / 1024;
    }
  }
  return out;
}

/** Writes the built-in busybox image's tree (binary, applet links, /etc files) under `dir`. */
export async function makeBusyboxRootfs(host: Host, dir: string): Promise<number> {
  const list = await host.run(DEFAULT_BUSYBOX, ['--list-full']);
  const entries = busyboxEntries(list.stdout.split('\n').map((s) => s.trim()).filter(Boolean));
  for (const e of entries) {
    const p = path.join(dir, e.header.name);
    if (e.header.type === 'directory') await fs.mkdir(p, { recursive: true, mode: e.header.mode });
    else if (e.header.type === 'symlink') await fs.symlink(e.header.linkname!, p);
    else if (e.body === 'busybox') await fs.copyFile(DEFAULT_BUSYBOX, p);
    else await fs.writeFile(p, e.body ?? '', { mode: e.header.mode });
    if (e.header.type !== 'symlink') await fs.utimes(p, BUILTIN_TIME, BUILTIN_TIME);
  }
  await fs.chmod(path.join(dir, 'bin', 'busybox'), 0o755);
  return entries.length;
}
