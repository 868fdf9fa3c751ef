/**
 * Watching processes that are not our children (a daemonized QEMU, a detached virtiofsd) through /proc:
 * is a pid still the process we started (its command line names a file only it uses), and wait until it
 * is gone. A zombie counts as gone: it runs nothing and holds no file.
 */
import { promises as fs } from 'node:fs';
import { errno, timeout } from '../../lib/errors.js';

/** Reads a pid file; undefined when it is missing or holds no pid. */
export async function readPidFile(file: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt((await fs.readFile(file, 'utf8')).trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch (err) {
    if (errno(err) === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * True while `pid` runs (not a zombie) and, when `mention` is given, its command line contains it: a pid
 * reused by another process after ours ended does not count.
 */
export async function isRunning(pid: number, mention?: string, procRoot = '/proc'): Promise<boolean> {
  try {
    const stat = await fs.readFile(`${procRoot}/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return false;
    if (mention === undefined) return true;
    return (await fs.readFile(`${procRoot}/${pid}/cmdline`, 'utf8')).split('\0').some((arg) => arg.includes(mention));
  } catch (err) {
    if (errno(err) === 'ENOENT' || errno(err) === 'ESRCH') return false;
    throw err;
  }
}

/** Sends `signal` to `pid` if it is still ours (see isRunning); a process already gone is not an error. */
export async function signalIfRunning(pid: number, mention: string | undefined, signal: NodeJS.Signals): Promise<void> {
  if (!(await isRunning(pid, mention))) return;
  try {
    process.kill(pid, signal);
  } catch (err) {
    if (errno(err) !== 'ESRCH') throw err;
  }
}

/** Waits until `pid` is gone; fails with Timeout after `timeoutMs`, stops waiting on abort. */
export async function waitGone(pid: number, mention: string | undefined, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  while (await isRunning(pid, mention)) {
    opts.signal?.throwIfAborted();
    if (Date.now() > deadline) throw timeout(`process ${pid} still runs after ${opts.timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
