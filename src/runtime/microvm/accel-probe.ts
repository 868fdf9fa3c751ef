/**
 * KVM or TCG, decided once per host by booting the guest kernel under KVM with a timeout: /dev/kvm can be
 * present and still unable to run a stock kernel (a software hypervisor: the guest hangs, or QEMU fails to
 * set up the vCPU). The initramfs's init prints a marker to the console and powers off; seeing the marker
 * in time means KVM works. The answer, with its reason, is cached in a file keyed by the kernel and QEMU,
 * so later calls (and later agent starts) cost a file read.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { errno, messageOf } from '../../lib/errors.js';
import { readJson, writeJsonAtomic } from '../../lib/files.js';
import type { Host } from '../../host/host.js';
import type { GuestKernel } from './guest-kernel.js';
import { powerOffInit } from './guest-init.js';
import { buildInitramfs } from './initramfs.js';
import { hostTscKhz, kernelCmdline } from './kernel-cmdline.js';
import { QEMU_BINARY, microvmArgv, type Accel } from './qemu-command.js';

/** What runs micro-VMs on this host, and why. */
export interface AccelDecision {
  accel: Accel;
  /** One line for the node's status and a pod's events. */
  reason: string;
  /** When the probe ran (ISO time) and how long it took. */
  probedAt: string;
  probeMs: number;
  /** What the decision depends on: kernel release, QEMU binary, /dev/kvm. */
  key: string;
}

export interface AccelProbeOptions {
  host: Host;
  kernel: GuestKernel;
  /** Where the decision and the probe's initramfs are kept. */
  cacheDir: string;
  /** How long a KVM boot may take before KVM counts as broken (default 10 s; a working one takes < 1 s). */
  timeoutMs?: number;
  /** Probe again even if a decision is cached. */
  force?: boolean;
  kvmDevice?: string;
  /** Told about a fallback to TCG (a warning for the log). */
  warn?: (message: string) => void;
  signal?: AbortSignal;
}

const MARKER = 'NUBIS-ACCEL-PROBE-OK';
const DECISION_FILE = 'accel.json';

/** Size and mtime of the QEMU binary first on PATH: a QEMU upgrade probes again. */
export async function qemuIdentity(): Promise<string> {
  for (const dir of (process.env.PATH ?? '/usr/bin').split(':').filter(Boolean)) {
    const st = await fs.stat(path.join(dir, QEMU_BINARY)).catch(() => undefined);
    if (st) return `${path.join(dir, QEMU_BINARY)}:${st.size}:${Math.floor(st.mtimeMs)}`;
  }
  return `${QEMU_BINARY}:missing`;
}

async function decisionKey(kernel: GuestKernel, kvmDevice: string): Promise<string> {
  const which = await qemuIdentity();
  const kvm = await fs.stat(kvmDevice).then(() => 'kvm', () => 'no-kvm');
  return `${kernel.version}|${which}|${kvm}`;
}

/** Whether /dev/kvm can be opened for reading and writing; the reason if not. */
async function kvmUsable(kvmDevice: string): Promise<string | undefined> {
  try {
    const fh = await fs.open(kvmDevice, 'r+');
    await fh.close();
    return undefined;
  } catch (err) {
    return errno(err) === 'ENOENT' ? `no ${kvmDevice}` : `cannot open ${kvmDevice}: ${errno(err) ?? messageOf(err)}`;
  }
}

/**
 * Boots the probe image under KVM; resolves with undefined when the marker appeared, else with the reason
 * KVM is not usable. QEMU is killed on timeout and abort; it never outlives this call.
 */
async function bootUnderKvm(opts: AccelProbeOptions, initrd: string, timeoutMs: number): Promise<string | undefined> {
  const argv = microvmArgv({
    accel: 'kvm',
    memoryMiB: 128,
    cpus: 1,
    kernel: opts.kernel.vmlinux,
    initrd,
    cmdline: kernelCmdline({ console: 'ttyS0', tscKhz: await hostTscKhz() }),
    console: 'stdio',
  });
  const child = opts.host.spawn(QEMU_BINARY, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let errors = '';
  let seen!: () => void;
  const marker = new Promise<void>((resolve) => (seen = resolve));
  (child.stdio[1] as Readable).on('data', (b: Buffer) => {
    output = (output + b.toString('latin1')).slice(-4096);
    if (output.includes(MARKER)) seen();
  });
  (child.stdio[2] as Readable).on('data', (b: Buffer) => (errors = (errors + b.toString('utf8')).slice(-2048)));
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
  const aborted = new Promise<'aborted'>((resolve) => opts.signal?.addEventListener('abort', () => resolve('aborted'), { once: true }));
  const exited = child.exited.then((code) => ({ code }), (err: unknown) => ({ code: -1, err }));
  const outcome = await Promise.race([marker.then(() => 'marker' as const), exited, timedOut, aborted]);
  clearTimeout(timer);
  if (typeof outcome === 'string') {
    // The marker is enough: QEMU need not be waited for while the guest powers off.
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const end = await exited;
  opts.signal?.throwIfAborted();
  if (outcome === 'marker' || output.includes(MARKER)) return undefined;
  if (outcome === 'timeout') return `the guest kernel did not boot under KVM within ${timeoutMs} ms (a hypervisor that cannot run a stock kernel?)`;
  const why = 'err' in end ? messageOf(end.err) : errors.trim().split('\n').slice(-2).join('; ');
  return `QEMU failed under KVM (exit ${end.code}): ${why || 'no message'}`;
}

/**
 * KVM if it boots the guest kernel, else TCG with the reason (also passed to `warn`). Cached per kernel,
 * QEMU binary and /dev/kvm presence.
 */
export async function decideAccel(opts: AccelProbeOptions): Promise<AccelDecision> {
  const kvmDevice = opts.kvmDevice ?? '/dev/kvm';
  const file = path.join(opts.cacheDir, DECISION_FILE);
  const key = await decisionKey(opts.kernel, kvmDevice);
  const cached = opts.force ? undefined : await readJson<AccelDecision>(file);
  if (cached?.key === key) return cached;

  const started = Date.now();
  let reason = await kvmUsable(kvmDevice);
  if (!reason) {
    await fs.mkdir(opts.cacheDir, { recursive: true });
    const image = await buildInitramfs(
      { modulesDir: opts.kernel.modulesDir, modules: [], init: powerOffInit(MARKER) },
      { cacheDir: opts.cacheDir, host: opts.host, signal: opts.signal },
    );
    reason = await bootUnderKvm(opts, image.path, opts.timeoutMs ?? 10_000);
  }
  const decision: AccelDecision = {
    accel: reason ? 'tcg' : 'kvm',
    reason: reason ? `TCG (software emulation, several times slower): ${reason}` : 'KVM: the guest kernel booted under it',
    probedAt: new Date(started).toISOString(),
    probeMs: Date.now() - started,
    key,
  };
  if (reason) opts.warn?.(`micro-VMs run on ${decision.reason}`);
  await fs.mkdir(opts.cacheDir, { recursive: true });
  await writeJsonAtomic(file, decision);
  return decision;
}
