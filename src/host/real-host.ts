import { spawn as spawnChild } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { errno, internal, timeout, unavailable } from '../lib/errors.js';
import type { Host, OverlayOptions, RunOptions, RunResult, SpawnOptions, Spawned } from './host.js';

/** Decodes the octal escapes (\040 for a space) that /proc/self/mountinfo uses in paths. */
export function unescapeMountPath(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

/** Mount points listed in a mountinfo text, in order. */
export function parseMountinfo(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const field = line.split(' ')[4];
    if (field) out.push(unescapeMountPath(field));
  }
  return out;
}

function exitCode(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const signals: Partial<Record<NodeJS.Signals, number>> = { SIGKILL: 9, SIGTERM: 15, SIGINT: 2, SIGHUP: 1 };
  return 128 + (signal ? (signals[signal] ?? 0) : 0);
}

/** Set once a mount without "volatile" worked where one with it failed (a kernel before 5.10). */
let volatileUnsupported = false;

/** The real machine. */
export class RealHost implements Host {
  run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      const child = spawnChild(cmd, args, {
        env: opts.env ?? process.env,
        cwd: opts.cwd,
        signal: opts.signal,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let timedOut = false;
      const timer =
        opts.timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              timedOut = true;
              child.kill('SIGKILL');
            }, opts.timeoutMs);
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => err.push(b));
      child.on('error', (e) => {
        clearTimeout(timer);
        if (errno(e) === 'ENOENT') reject(unavailable(`${cmd} not found: install it (see README)`, e));
        else reject(internal(`cannot run ${cmd}: ${e.message}`, e));
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        const result: RunResult = {
          code: exitCode(code, signal),
          signal,
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
        };
        if (timedOut) return reject(timeout(`${cmd} ${args[0] ?? ''} did not finish in ${opts.timeoutMs} ms`));
        if (result.code !== 0 && !opts.allowFailure) {
          const detail = (result.stderr || result.stdout).trim().split('\n').slice(-3).join('; ');
          return reject(internal(`${cmd} ${args.slice(0, 2).join(' ')} failed (exit ${result.code}): ${detail}`));
        }
        resolve(result);
      });
      child.stdin.on('error', () => {});
      child.stdin.end(opts.input ?? '');
    });
  }

  spawn(cmd: string, args: string[], opts: SpawnOptions = {}): Spawned {
    const child = spawnChild(cmd, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: opts.stdio ?? 'ignore',
      detached: opts.detached ?? false,
    });
    const exited = new Promise<number>((resolve, reject) => {
      child.on('error', (e) =>
        reject(errno(e) === 'ENOENT' ? unavailable(`${cmd} not found: install it (see README)`, e) : e),
      );
      child.on('exit', (code, signal) => resolve(exitCode(code, signal)));
    });
    return {
      pid: child.pid ?? -1,
      exited,
      stdio: child.stdio as Spawned['stdio'],
      unref: () => child.unref(),
    };
  }

  async mountOverlay(lower: string[], upper: string, work: string, target: string, opts: OverlayOptions = {}): Promise<void> {
    const options = `lowerdir=${lower.join(':')},upperdir=${upper},workdir=${work}${opts.inert ? ',nodev,nosuid,nosymfollow' : ''}`;
    if (opts.volatile && !volatileUnsupported) {
      const r = await this.run('mount', ['-t', 'overlay', 'overlay', '-o', `${options},volatile`, target], { allowFailure: true });
      if (r.code === 0) return;
      await this.run('mount', ['-t', 'overlay', 'overlay', '-o', options, target]);
      volatileUnsupported = true;
      return;
    }
    await this.run('mount', ['-t', 'overlay', 'overlay', '-o', options, target]);
  }

  async unmount(target: string): Promise<void> {
    const r = await this.run('umount', [target], { allowFailure: true });
    if (r.code !== 0 && !/not mounted|no mount point|not found/i.test(r.stderr)) {
      throw internal(`cannot unmount ${target}: ${r.stderr.trim()}`);
    }
  }

  async mknod(path: string, type: 'c' | 'b', major: number, minor: number, mode: number): Promise<void> {
    await this.run('mknod', ['-m', (mode & 0o7777).toString(8), path, type, String(major), String(minor)]);
  }

  async setXattr(path: string, name: string, value: Buffer): Promise<void> {
    const v = value.length > 0 ? ['-v', `0x${value.toString('hex')}`] : [];
    await this.run('setfattr', ['-h', '-n', name, ...v, path]);
  }

  async mounts(): Promise<string[]> {
    return parseMountinfo(await fs.readFile('/proc/self/mountinfo', 'utf8'));
  }
}
