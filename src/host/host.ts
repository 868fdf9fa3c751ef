import type { StdioOptions } from 'node:child_process';

/** The outcome of a finished command. */
export interface RunResult {
  code: number;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string | Uint8Array;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  signal?: AbortSignal;
  /** Kill the command (SIGKILL) after this many milliseconds and fail with Timeout. */
  timeoutMs?: number;
  /** Do not throw on a non-zero exit; the caller inspects `code`. */
  allowFailure?: boolean;
}

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  stdio?: StdioOptions;
  /** Start in its own session so it outlives us (conmon). */
  detached?: boolean;
}

export interface OverlayOptions {
  /**
   * Skip every sync to the upper layer (overlayfs "volatile", Linux 5.10+), unmounting included. For a
   * writable layer that is thrown away rather than mounted again: after a crash the kernel refuses to
   * mount that upper/work pair again. Ignored by kernels that lack it.
   */
  volatile?: boolean;
  /**
   * nodev, nosuid and nosymfollow: device files, setuid bits and symlinks in the mount do nothing on the
   * host — for roots that a guest writes through a file server running as root (a micro-VM's 9p share).
   */
  inert?: boolean;
}

/** A started process, as the caller needs it. */
export interface Spawned {
  pid: number;
  /** Resolves with the exit code (or 128+signal) when the process ends. */
  exited: Promise<number>;
  stdio: (NodeJS.ReadableStream | NodeJS.WritableStream | null)[];
  /** Stop watching the process so it does not keep us alive. */
  unref(): void;
}

/**
 * The seam between Nubis and the machine: every effect that needs root or a kernel goes through here, so
 * unit tests swap in FakeHost. Plain file I/O inside the data dir uses node:fs directly.
 */
export interface Host {
  /** Runs a command to completion. A missing binary fails with Unavailable, a non-zero exit with Internal. */
  run(cmd: string, args: string[], opts?: RunOptions): Promise<RunResult>;
  spawn(cmd: string, args: string[], opts?: SpawnOptions): Spawned;
  /** Mounts an overlay of `lower` (topmost first) with `upper`/`work` at `target`. */
  mountOverlay(lower: string[], upper: string, work: string, target: string, opts?: OverlayOptions): Promise<void>;
  /** Unmounts `target`; a path that is not mounted is not an error. */
  unmount(target: string): Promise<void>;
  /** Creates a device node (c or b) — overlayfs whiteouts are character devices 0:0. */
  mknod(path: string, type: 'c' | 'b', major: number, minor: number, mode: number): Promise<void>;
  /** Sets an extended attribute on `path` itself (not following a symlink). */
  setXattr(path: string, name: string, value: Buffer): Promise<void>;
  /** Lists the mount points currently mounted (from /proc/self/mountinfo). */
  mounts(): Promise<string[]>;
}
