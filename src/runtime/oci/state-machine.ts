/**
 * The container lifecycle: created -> running <-> paused -> exited -> removed (no dir). The state is always
 * derived from the world, never cached:
 *  - the exit file conmon writes (exits/<id>) means exited, with the code inside and its mtime as the end;
 *  - otherwise the runtime's state says created, running or paused;
 *  - no runtime state and no live conmon means the container died without a word (exited, code -1).
 * `guard` is the one place that says which operation is allowed in which state, with the error to show.
 */
import { promises as fs } from 'node:fs';
import { conflict, errno, isNubisError } from '../../lib/errors.js';
import type { WorkloadState, WorkloadStatus } from '../driver.js';
import { conmonAlive } from './conmon.js';
import type { ContainerPaths } from './container-store.js';
import type { OciRuntime } from './runc.js';

export type Operation = 'start' | 'stop' | 'kill' | 'pause' | 'resume' | 'exec' | 'attach' | 'remove';

const ALLOWED: Record<Operation, WorkloadStatus[]> = {
  start: ['created'],
  stop: ['created', 'running', 'paused'],
  kill: ['created', 'running', 'paused'],
  pause: ['running'],
  resume: ['paused'],
  exec: ['running'],
  attach: ['created', 'running'],
  remove: ['created', 'exited'],
};

/** For a signal sent as a workload may be exiting: a workload already gone (NotFound, Conflict) is fine. */
export function ignoreGone(err: unknown): void {
  if (isNubisError(err, 'NotFound') || isNubisError(err, 'Conflict')) return;
  throw err;
}

/** Throws Conflict when `op` is not allowed in `status`, with a message saying what to do instead. */
export function guard(op: Operation, status: WorkloadStatus, name: string): void {
  if (ALLOWED[op].includes(status)) return;
  const c = `container ${name}`;
  switch (op) {
    case 'start':
      throw conflict(status === 'exited' ? `${c} has exited: run a new one` : `${c} is already running`);
    case 'pause':
      throw conflict(status === 'paused' ? `${c} is already paused` : `${c} is not running`);
    case 'resume':
      throw conflict(`${c} is not paused`);
    case 'exec':
      throw conflict(status === 'paused' ? `${c} is paused: unpause it first` : `${c} is not running`);
    case 'remove':
      throw conflict(`${c} is ${status}: stop it first or use -f`);
    case 'attach':
      throw conflict(status === 'paused' ? `${c} is paused: unpause it first` : `${c} is not running`);
    default:
      throw conflict(`${c} is not running`);
  }
}

/** Reads conmon's exit file: the exit code and when it was written, or undefined when not there. */
export async function readExitFile(paths: ContainerPaths): Promise<{ code: number; at: Date } | undefined> {
  try {
    const [text, st] = await Promise.all([fs.readFile(paths.exitFile, 'utf8'), fs.stat(paths.exitFile)]);
    const code = Number.parseInt(text.trim(), 10);
    // conmon may have created the file but not written the code yet: treat as not there.
    if (!Number.isInteger(code)) return undefined;
    return { code, at: st.mtime };
  } catch (err) {
    if (errno(err) === 'ENOENT') return undefined;
    throw err;
  }
}

async function mtime(file: string): Promise<Date | undefined> {
  try {
    return (await fs.stat(file)).mtime;
  } catch {
    return undefined;
  }
}

/** The state of a container right now. */
export async function deriveState(id: string, paths: ContainerPaths, runtime: OciRuntime): Promise<WorkloadState> {
  const [exit, startedAt, oom] = await Promise.all([readExitFile(paths), mtime(paths.started), mtime(paths.oomFile)]);
  const oomKilled = oom !== undefined;
  if (exit) return { status: 'exited', exitCode: exit.code, startedAt, finishedAt: exit.at, oomKilled };
  const rs = await runtime.state(id);
  if (rs && (rs.status === 'created' || rs.status === 'running' || rs.status === 'paused' || rs.status === 'creating')) {
    const status: WorkloadStatus = rs.status === 'creating' ? 'created' : rs.status;
    return { status, pid: rs.pid > 0 ? rs.pid : undefined, startedAt, oomKilled };
  }
  // Stopped (or never created) and no exit file: conmon may be about to write it.
  if (await conmonAlive(paths)) {
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, 10));
      const late = await readExitFile(paths);
      if (late) return { status: 'exited', exitCode: late.code, startedAt, finishedAt: late.at, oomKilled };
    }
    if (!rs) return { status: 'created', startedAt, oomKilled };
  }
  return { status: 'exited', exitCode: -1, startedAt, finishedAt: await mtime(paths.pidFile), oomKilled };
}
