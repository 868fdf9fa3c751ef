/**
 * One micro-VM as host processes: a daemonized QEMU (pid file, QMP socket, agent socket, console log)
 * and, for a virtiofs share, its virtiofsd, all files in one run directory. Nothing is kept in memory
 * that the run directory and /proc cannot give back: `microvmState(dir)` works in a fresh process.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { conflict, internal, invalid, isNubisError, messageOf, unavailable } from '../../lib/errors.js';
import type { Host } from '../../host/host.js';
import { isRunning, readPidFile, signalIfRunning, waitGone } from './processes.js';
import { resumeMicrovm } from './microvm-snapshot.js';
import { QmpClient } from './qmp.js';
import { QEMU_BINARY, QEMU_PACKAGE, microvmArgv, type MicrovmSpec, type ShareSpec } from './qemu-command.js';
import { startVirtiofsd, type VirtiofsdSpec } from './virtiofsd.js';

/** The files of one micro-VM, all inside its run directory. */
export interface MicrovmPaths {
  dir: string;
  pidFile: string;
  qmpSocket: string;
  agentSocket: string;
  consoleLog: string;
  virtiofsdSocket: string;
  virtiofsdPidFile: string;
  virtiofsdLog: string;
}

export function microvmPaths(dir: string): MicrovmPaths {
  const p = (name: string) => path.join(dir, name);
  return {
    dir,
    pidFile: p('qemu.pid'),
    qmpSocket: p('qmp.sock'),
    agentSocket: p('agent.sock'),
    consoleLog: p('console.log'),
    virtiofsdSocket: p('virtiofsd.sock'),
    virtiofsdPidFile: p('virtiofsd.pid'),
    virtiofsdLog: p('virtiofsd.log'),
  };
}

/** A shared directory as the caller gives it: the host path (virtiofsd is started here for virtiofs). */
export type LaunchShare =
  | { kind: '9p'; tag: string; path: string; readOnly?: boolean }
  | { kind: 'virtiofs'; tag: string; path: string; cache?: VirtiofsdSpec['cache'] };

/** What to boot: the QEMU spec without the files that launchMicrovm places in the run directory. */
export interface LaunchSpec extends Omit<MicrovmSpec, 'agentSocket' | 'console' | 'qmpSocket' | 'pidFile' | 'share' | 'incoming'> {
  share?: LaunchShare;
  /**
   * The network namespace QEMU runs in: a pinned one (a file) where `net.tap` is, or 'own': a new one
   * that holds only an unconnected tap named `net.tap` and ends with QEMU (a template's VM).
   */
  netns?: string | 'own';
  /** Resume from this device-state snapshot (microvm-snapshot.ts) instead of booting; `memoryFile` is the snapshot's RAM. */
  resumeFrom?: string;
}

/** The processes of a running micro-VM. */
export interface MicrovmProcesses {
  paths: MicrovmPaths;
  qemuPid: number;
  virtiofsdPid?: number;
}

export type MicrovmRunState = 'running' | 'stopped';

async function startShare(host: Host, share: LaunchShare | undefined, paths: MicrovmPaths, signal?: AbortSignal): Promise<{ spec?: ShareSpec; pid?: number }> {
  if (!share) return {};
  if (share.kind === '9p') return { spec: share };
  const pid = await startVirtiofsd(
    host,
    { source: share.path, socket: paths.virtiofsdSocket, pidFile: paths.virtiofsdPidFile, logFile: paths.virtiofsdLog, cache: share.cache },
    { signal },
  );
  return { spec: { kind: 'virtiofs', tag: share.tag, socket: paths.virtiofsdSocket }, pid };
}

/**
 * Starts the micro-VM in `dir` (made if missing, mode 0700) and resolves once QEMU has daemonized: the
 * guest is booting, its agent socket and QMP socket listen. Fails with Unavailable when QEMU is missing,
 * Internal (with QEMU's message) when it refuses the configuration; nothing keeps running then.
 */
export async function launchMicrovm(host: Host, dir: string, spec: LaunchSpec, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<MicrovmProcesses> {
  const paths = microvmPaths(dir);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const share = await startShare(host, spec.share, paths, opts.signal);
  const { netns, resumeFrom, ...qemuSpec } = spec;
  const argv = microvmArgv({
    ...qemuSpec,
    incoming: resumeFrom !== undefined,
    share: share.spec,
    agentSocket: paths.agentSocket,
    qmpSocket: paths.qmpSocket,
    console: { file: paths.consoleLog },
    pidFile: paths.pidFile,
  });
  try {
    const [cmd, ...args] = inNamespace(netns, spec.net?.tap, [QEMU_BINARY, ...argv]);
    await host.run(cmd!, args, { timeoutMs: opts.timeoutMs ?? 30_000, signal: opts.signal }).catch((err: unknown) => {
      throw isNubisError(err, 'Unavailable') ? unavailable(`${QEMU_BINARY} not found: install Debian's ${QEMU_PACKAGE}`, err) : err;
    });
    const qemuPid = await readPidFile(paths.pidFile);
    if (!qemuPid) throw internal(`${QEMU_BINARY} daemonized without writing ${paths.pidFile}`);
    if (resumeFrom !== undefined) {
      await resumeMicrovm(paths.qmpSocket, resumeFrom, { timeoutMs: opts.timeoutMs, signal: opts.signal }).catch((err: unknown) => {
        // QEMU exits when a state does not load: the QMP connection just closes.
        throw internal(`the micro-VM did not resume from ${resumeFrom}: ${messageOf(err)}`, err);
      });
    }
    return { paths, qemuPid, virtiofsdPid: share.pid };
  } catch (err) {
    await killMicrovm(dir);
    throw err;
  }
}

/** The command that runs `argv` in the network namespace `netns` asks for (see LaunchSpec.netns). */
function inNamespace(netns: LaunchSpec['netns'], tap: string | undefined, argv: string[]): string[] {
  if (netns === undefined) return argv;
  if (netns !== 'own') return ['nsenter', `--net=${netns}`, ...argv];
  if (!tap) throw invalid("a micro-VM in a network namespace of its own needs a tap NIC");
  const makeTap = `ip tuntap add dev ${tap} mode tap && ip link set ${tap} up && exec "$@"`;
  return ['unshare', '--net', '--', 'sh', '-c', makeTap, 'sh', ...argv];
}

/** Reads the processes of the micro-VM in `dir` back from its pid files (those still running). */
export async function findMicrovm(dir: string): Promise<{ paths: MicrovmPaths; qemuPid?: number; virtiofsdPid?: number }> {
  const paths = microvmPaths(dir);
  const qemuPid = await readPidFile(paths.pidFile);
  const virtiofsdPid = await readPidFile(paths.virtiofsdPidFile);
  return {
    paths,
    qemuPid: qemuPid && (await isRunning(qemuPid, paths.pidFile)) ? qemuPid : undefined,
    virtiofsdPid: virtiofsdPid && (await isRunning(virtiofsdPid, paths.virtiofsdSocket)) ? virtiofsdPid : undefined,
  };
}

/** "running" while the QEMU of `dir` runs, else "stopped". */
export async function microvmState(dir: string): Promise<MicrovmRunState> {
  return (await findMicrovm(dir)).qemuPid ? 'running' : 'stopped';
}

/** Kills (SIGKILL) QEMU and virtiofsd of `dir` if they run, and waits until they are gone. */
export async function killMicrovm(dir: string, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
  const { paths, qemuPid, virtiofsdPid } = await findMicrovm(dir);
  const waits: Promise<void>[] = [];
  if (qemuPid) {
    await signalIfRunning(qemuPid, paths.pidFile, 'SIGKILL');
    waits.push(waitGone(qemuPid, paths.pidFile, { timeoutMs: opts.timeoutMs ?? 5000, signal: opts.signal }));
  }
  if (virtiofsdPid) {
    await signalIfRunning(virtiofsdPid, paths.virtiofsdSocket, 'SIGKILL');
    waits.push(waitGone(virtiofsdPid, paths.virtiofsdSocket, { timeoutMs: opts.timeoutMs ?? 5000, signal: opts.signal }));
  }
  await Promise.all(waits);
}

/**
 * Stops the micro-VM of `dir`: QMP "quit" (QEMU exits at once; the guest is not asked: shut it down
 * through its agent first for a clean stop), then SIGKILL if it still runs after `timeoutMs`. virtiofsd
 * exits when QEMU disconnects; it is killed if it does not.
 */
export async function stopMicrovm(dir: string, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
  const ms = opts.timeoutMs ?? 5000;
  const { paths, qemuPid, virtiofsdPid } = await findMicrovm(dir);
  if (qemuPid) {
    try {
      const qmp = await QmpClient.connect(paths.qmpSocket, { timeoutMs: ms, signal: opts.signal });
      await qmp.execute('quit').catch(() => undefined);
      qmp.close();
      await waitGone(qemuPid, paths.pidFile, { timeoutMs: ms, signal: opts.signal });
    } catch {
      opts.signal?.throwIfAborted();
      await signalIfRunning(qemuPid, paths.pidFile, 'SIGKILL');
    }
  }
  if (virtiofsdPid) {
    await waitGone(virtiofsdPid, paths.virtiofsdSocket, { timeoutMs: ms, signal: opts.signal }).catch(() => undefined);
  }
  await killMicrovm(dir, opts);
}

/** Removes the run directory of a stopped micro-VM (sockets, logs, pid files); fails with Conflict while it runs. */
export async function removeMicrovmDir(dir: string): Promise<void> {
  if ((await microvmState(dir)) === 'running') throw conflict(`the micro-VM in ${dir} still runs: stop it first`);
  await fs.rm(dir, { recursive: true, force: true });
}
