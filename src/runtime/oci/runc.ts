/**
 * The OCI runtime binary (runc, or crun where it works) as Nubis calls it: every call passes
 * `--root <runtimeRoot>` so each data dir keeps its own runtime state. `create` is not here: conmon runs it.
 */
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import type { Host } from '../../host/host.js';
import { conflict, internal, isNubisError, notFound, unavailable } from '../../lib/errors.js';

/** What `runc state` reports. */
export interface RuntimeState {
  id: string;
  pid: number;
  status: 'creating' | 'created' | 'running' | 'paused' | 'stopped';
  bundle: string;
  created: string;
}

/**
 * Finds an executable by name on PATH (or checks an explicit path). Fails with Unavailable naming the
 * binary, before anything is created.
 */
export function resolveBinary(nameOrPath: string, envPath = process.env.PATH ?? ''): string {
  const candidates = nameOrPath.includes('/')
    ? [path.resolve(nameOrPath)]
    : [...envPath.split(':').filter(Boolean), '/usr/local/sbin', '/usr/sbin', '/sbin'].map((d) =>
        path.join(d, nameOrPath),
      );
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // try the next
    }
  }
  throw unavailable(`${path.basename(nameOrPath)} not found: install it (see README)`);
}

export class OciRuntime {
  constructor(
    private readonly host: Host,
    /** Absolute path of the binary. */
    readonly binary: string,
    readonly root: string,
  ) {}

  /** Arguments that go before every subcommand. */
  get globalArgs(): string[] {
    return ['--root', this.root];
  }

  private async call(args: string[], what: string, id: string): Promise<string> {
    const r = await this.host.run(this.binary, [...this.globalArgs, ...args], { allowFailure: true, timeoutMs: 30_000 });
    if (r.code === 0) return r.stdout;
    const detail = runtimeMessage(r.stderr || r.stdout);
    if (/does not exist|not found/i.test(detail)) throw notFound(`container ${id.slice(0, 12)} has no runtime state`);
    if (/not running|not paused|stopped|already paused/i.test(detail)) throw conflict(`cannot ${what} container ${id.slice(0, 12)}: ${detail}`);
    throw internal(`${path.basename(this.binary)} ${what} ${id.slice(0, 12)} failed: ${detail}`);
  }

  /** The runtime's view of `id`, or undefined when it has no state for it. */
  async state(id: string): Promise<RuntimeState | undefined> {
    try {
      return JSON.parse(await this.call(['state', id], 'inspect', id)) as RuntimeState;
    } catch (err) {
      if (isNubisError(err, 'NotFound')) return undefined;
      throw err;
    }
  }

  async start(id: string): Promise<void> {
    await this.call(['start', id], 'start', id);
  }

  /** Sends `signal` (name without SIG, or number) to the main process, or to all processes with `all`. */
  async kill(id: string, signal: string, all = false): Promise<void> {
    await this.call(['kill', ...(all ? ['--all'] : []), id, signal], 'signal', id);
  }

  async pause(id: string): Promise<void> {
    await this.call(['pause', id], 'pause', id);
  }

  async resume(id: string): Promise<void> {
    await this.call(['resume', id], 'unpause', id);
  }

  /** Deletes the runtime state (and so the cgroup); `force` kills a still running container first. */
  async delete(id: string, force = false): Promise<void> {
    try {
      await this.call(['delete', ...(force ? ['--force'] : []), id], 'delete', id);
    } catch (err) {
      if (isNubisError(err, 'NotFound')) return;
      throw err;
    }
  }

  /** The argv of `runtime exec` in the foreground with a process spec file. */
  execArgs(id: string, processFile: string, tty: boolean): string[] {
    return [...this.globalArgs, 'exec', '--process', processFile, ...(tty ? ['--tty'] : []), id];
  }
}

/** The useful part of runc's stderr: its logrus lines carry msg="...". */
export function runtimeMessage(text: string): string {
  const msgs = [...text.matchAll(/msg="((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!.replace(/\\"/g, '"'));
  const line = msgs.length > 0 ? msgs[msgs.length - 1]! : text.trim().split('\n').slice(-1)[0] ?? '';
  return line.trim() || 'no message';
}
