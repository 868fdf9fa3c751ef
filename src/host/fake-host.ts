import { promises as fs } from 'node:fs';
import { internal } from '../lib/errors.js';
import type { Host, RunOptions, RunResult, SpawnOptions, Spawned } from './host.js';

/** One recorded effect of a FakeHost. */
export type FakeCall =
  | { op: 'run'; cmd: string; args: string[]; input?: string }
  | { op: 'mountOverlay'; lower: string[]; upper: string; work: string; target: string }
  | { op: 'unmount'; target: string }
  | { op: 'mknod'; path: string; type: 'c' | 'b'; major: number; minor: number; mode: number }
  | { op: 'setXattr'; path: string; name: string; value: Buffer };

/**
 * A Host for unit tests: needs neither root nor a kernel. It records every effect; device nodes become
 * empty files, xattrs live in a map, mounts in a set; commands answer from `responders`.
 */
export class FakeHost implements Host {
  readonly calls: FakeCall[] = [];
  readonly xattrs = new Map<string, Map<string, Buffer>>();
  readonly devices = new Map<string, { type: 'c' | 'b'; major: number; minor: number }>();
  readonly mounted = new Set<string>();
  responders: ((cmd: string, args: string[]) => RunResult | undefined)[] = [];

  async run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
    this.calls.push({ op: 'run', cmd, args, ...(opts.input !== undefined ? { input: String(opts.input) } : {}) });
    for (const r of this.responders) {
      const res = r(cmd, args);
      if (res) {
        if (res.code !== 0 && !opts.allowFailure) throw internal(`${cmd} failed (exit ${res.code}): ${res.stderr}`);
        return res;
      }
    }
    return { code: 0, signal: null, stdout: '', stderr: '' };
  }

  spawn(_cmd: string, _args: string[], _opts?: SpawnOptions): Spawned {
    throw internal('FakeHost cannot spawn processes');
  }

  async mountOverlay(lower: string[], upper: string, work: string, target: string): Promise<void> {
    this.calls.push({ op: 'mountOverlay', lower, upper, work, target });
    this.mounted.add(target);
  }

  async unmount(target: string): Promise<void> {
    this.calls.push({ op: 'unmount', target });
    this.mounted.delete(target);
  }

  async mknod(path: string, type: 'c' | 'b', major: number, minor: number, mode: number): Promise<void> {
    this.calls.push({ op: 'mknod', path, type, major, minor, mode });
    await fs.writeFile(path, '', { flag: 'wx', mode: mode & 0o7777 });
    this.devices.set(path, { type, major, minor });
  }

  async setXattr(path: string, name: string, value: Buffer): Promise<void> {
    this.calls.push({ op: 'setXattr', path, name, value });
    const m = this.xattrs.get(path) ?? new Map<string, Buffer>();
    m.set(name, value);
    this.xattrs.set(path, m);
  }

  async mounts(): Promise<string[]> {
    return [...this.mounted];
  }
}
