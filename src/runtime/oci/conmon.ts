/**
 * conmon: the one per-container supervisor. It runs `runc create`, holds the container's stdio (a pty with
 * `-t`), writes the k8s-file log with timestamps, serves the attach socket and writes the exit code to the
 * exit dir. It is started in its own session and double-forks, so it outlives the Nubis process.
 *
 * Protocol used here (conmon API version 1):
 *  - env `_OCI_SYNCPIPE=<fd>`: conmon writes one JSON object on that fd once `runc create` finished:
 *    `{"data": <container pid>}` on success, `{"data": -1, "message": "..."}` on failure (older conmons
 *    say "pid" instead of "data"). Node passes the fd as an extra stdio entry.
 *  - `--exit-dir D`: the file D/<cid> appears with the exit code once the container ended and its output
 *    was drained; `--persist-dir P` gets P/exit (same) and P/oom when the OOM killer struck.
 *  - `--exit-command`: run by conmon after the exit file is written (used for `--rm` of detached
 *    containers); conmon waits for it before exiting.
 */
import path from 'node:path';
import { promises as fs } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Host } from '../../host/host.js';
import { internal, timeout } from '../../lib/errors.js';
import type { ContainerPaths } from './container-store.js';
import { resolveBinary, runtimeMessage } from './runc.js';

export interface ConmonStart {
  id: string;
  name: string;
  paths: ContainerPaths;
  runtime: string;
  runtimeRoot: string;
  tty: boolean;
  stdin: boolean;
  /** The container's stdin stays open when an attach client goes (see WorkloadSpec.keepStdinOpen). */
  keepStdinOpen?: boolean;
  /** argv run after the container exited (conmon --exit-command). */
  exitCommand?: string[];
  timeoutMs?: number;
}

/** The argv of conmon for a container. */
export function conmonArgs(o: ConmonStart): string[] {
  const p = o.paths;
  const args = [
    '--api-version', '1',
    '-c', o.id,
    '-u', o.id,
    '-n', o.name,
    '-r', o.runtime,
    '-b', p.bundle,
    '-p', p.pidFile,
    '-l', `k8s-file:${p.log}`,
    '--exit-dir', p.exitDir,
    '--persist-dir', p.dir,
    '--socket-dir-path', p.dir,
    '--conmon-pidfile', p.conmonPid,
    '--log-level', 'warning',
    // The log is not fsynced when the container exits: that would delay the exit file (and so every
    // `run`) for durability of output that a crash of the machine would lose anyway.
    '--no-sync-log',
    '--runtime-arg', '--root',
    '--runtime-arg', o.runtimeRoot,
  ];
  if (o.tty) args.push('-t');
  if (o.stdin) args.push('-i');
  if (o.stdin && o.keepStdinOpen) args.push('--leave-stdin-open');
  if (o.exitCommand && o.exitCommand.length > 0) {
    const [cmd, ...rest] = o.exitCommand;
    args.push('--exit-command', cmd!);
    for (const a of rest) args.push('--exit-command-arg', a);
  }
  return args;
}

let conmonBinary: string | undefined;

/** The conmon binary; Unavailable when it is not installed. */
export function conmonPath(): string {
  conmonBinary ??= resolveBinary(process.env.NUBIS_CONMON ?? 'conmon');
  return conmonBinary;
}

/**
 * Starts conmon for a created bundle and waits until the container exists in the runtime (created, not
 * started). Resolves with the container's pid; fails with the runtime's message.
 */
export async function startConmon(host: Host, o: ConmonStart): Promise<{ pid: number }> {
  const child = host.spawn(conmonPath(), conmonArgs(o), {
    // conmon also writes an "oom" file into its working directory: keep it inside the container's dir
    cwd: path.dirname(o.paths.bundle),
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    env: { ...process.env, _OCI_SYNCPIPE: '3' },
  });
  const sync = child.stdio[3] as Readable | null;
  if (!sync) throw internal('conmon started without a sync pipe');
  child.exited.catch(() => {});
  try {
    const msg = await readFirstJson(sync, child.exited, o.timeoutMs ?? 30_000);
    const pid = typeof msg.data === 'number' ? msg.data : typeof msg.pid === 'number' ? msg.pid : -1;
    if (pid <= 0) {
      const detail = typeof msg.message === 'string' ? runtimeMessage(msg.message) : 'no message';
      throw internal(`cannot create the container: ${detail}`);
    }
    return { pid };
  } finally {
    sync.destroy();
    child.unref();
  }
}

/** Reads the first JSON object conmon writes on the sync pipe. */
function readFirstJson(
  sync: Readable,
  exited: Promise<number>,
  ms: number,
): Promise<{ data?: unknown; pid?: unknown; message?: unknown }> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => finish(timeout(`conmon did not report the container within ${ms} ms`)), ms);
    const finish = (err?: Error, value?: { data?: unknown; pid?: unknown; message?: unknown }) => {
      clearTimeout(timer);
      sync.removeAllListeners('data');
      sync.removeAllListeners('end');
      if (err) reject(err);
      else resolve(value!);
    };
    sync.on('data', (b: Buffer) => {
      text += b.toString('utf8');
      const end = text.indexOf('}');
      if (end < 0) return;
      try {
        finish(undefined, JSON.parse(text.slice(0, end + 1)));
      } catch (err) {
        finish(internal(`conmon wrote an unreadable sync message: ${text.slice(0, 200)}`, err));
      }
    });
    sync.on('error', () => {});
    sync.on('end', () => finish(internal('conmon exited before it reported the container (see its log)')));
    exited.then(
      (code) => {
        if (code !== 0 && text === '') setTimeout(() => finish(internal(`conmon failed (exit ${code})`)), 50);
      },
      (err: Error) => finish(err),
    );
  });
}

/** The pid of the conmon supervising a container, if it still runs. */
export async function conmonAlive(paths: ContainerPaths): Promise<number | undefined> {
  const pid = Number.parseInt(await fs.readFile(paths.conmonPid, 'utf8').catch(() => ''), 10);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    const cmdline = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8');
    // A pid can be reused: only a conmon serving this very container counts.
    if (!cmdline.includes(paths.bundle)) return undefined;
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
    if (/\) Z /.test(stat)) return undefined;
    return pid;
  } catch {
    return undefined;
  }
}

/**
 * Waits (up to 5 s, then kills) until the conmon of a container is gone. Not when conmon is our parent:
 * it runs `rm` as the exit command of a --rm container and waits for it.
 */
export async function waitConmonGone(paths: ContainerPaths): Promise<void> {
  const pid = await conmonAlive(paths);
  if (!pid || pid === process.ppid) return;
  const t0 = Date.now();
  // It normally exits within milliseconds of the exit file: look often at first.
  while ((await conmonAlive(paths)) && Date.now() - t0 < 5000) await sleep(Date.now() - t0 < 100 ? 2 : 10);
  try {
    if (await conmonAlive(paths)) process.kill(pid, 'SIGKILL');
  } catch {
    // gone meanwhile
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
