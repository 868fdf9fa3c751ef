/**
 * Runs the Nubis CLI (from source, through tsx) against a temp data dir, as the container tests need it,
 * and cleans up after them: every container removed, then the leftover check.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { assertNoLeftovers, snapshotHost, type HostSnapshot } from '../../helpers/leaks.js';

export const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../..');
export const CLI = [process.execPath, '--import', 'tsx', path.join(REPO, 'src/cmd/nubis.ts')];

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface TestDataDir {
  dir: string;
  before: HostSnapshot;
  /** Runs `nubis --data-dir <dir> <args>`; resolves when it exits. */
  nubis(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<CliResult>;
  /** Runs `nubis ctr <args>` and fails the test unless it exits 0. */
  ctr(...args: string[]): Promise<string>;
  /** Removes all containers (the CLI way), checks nothing is left, removes the dir. */
  cleanup(): Promise<void>;
}

export function runCli(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(CLI[0]!, [...CLI.slice(1), ...args], { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? 128 + (signal === 'SIGKILL' ? 9 : 15), stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

export function makeDataDir(prefix = 'nubis-rt-'): TestDataDir {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  const before = snapshotHost();
  const t: TestDataDir = {
    dir,
    before,
    nubis: (args, opts) => runCli(['--data-dir', dir, ...args], opts),
    async ctr(...args) {
      const r = await t.nubis(['ctr', ...args]);
      if (r.code !== 0) throw new Error(`nubis ctr ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
      return r.stdout;
    },
    async cleanup() {
      const ids = (await t.nubis(['ctr', 'ps', '-aq', '--no-trunc'])).stdout.split('\n').filter(Boolean);
      if (ids.length > 0) await t.nubis(['ctr', 'rm', '-f', ...ids]);
      try {
        assertNoLeftovers(dir, before);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  return t;
}

/** Waits until `fn` returns true (polling), failing after `ms`. */
export async function eventually(fn: () => Promise<boolean> | boolean, ms = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One docker-like inspect document. */
export async function inspect(t: TestDataDir, ref: string): Promise<{ Id: string; State: Record<string, unknown>; HostConfig: Record<string, unknown>; Config: Record<string, unknown>; LogPath: string }> {
  return (JSON.parse(await t.ctr('inspect', ref)) as never[])[0]!;
}
