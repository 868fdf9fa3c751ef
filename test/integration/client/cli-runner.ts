/**
 * Runs the cluster verbs of the Nubis CLI in this process (the real command tree of cli/main.ts) with
 * captured stdout/stderr, a given stdin and environment, and the server's data dir as --data-dir (so the
 * default kubeconfig is its admin.kubeconfig); and, for what needs a real process (signals, exit codes),
 * the CLI from source through tsx.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { CommanderError } from 'commander';
import type { Host } from '../../../src/host/host.js';
import { buildProgram } from '../../../src/cli/main.js';
import type { KubeCliContext } from '../../../src/cli/commands/kube-session.js';
import { isNubisError } from '../../../src/lib/errors.js';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

function sink(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

/** `nubis --data-dir <dataDir> <args>` in-process; NubisErrors become `nubis: …` on stderr and code 125, as in runCli. */
export async function runNubis(dataDir: string, args: string[], opts: { stdin?: string; env?: Record<string, string> } = {}): Promise<RunResult> {
  const out = sink();
  const err = sink();
  const ctx: KubeCliContext = {
    dataDir: () => dataDir,
    host: {} as Host,
    stdout: out.stream,
    stderr: err.stream,
    stdin: Readable.from([Buffer.from(opts.stdin ?? '')]),
    env: { PATH: process.env.PATH ?? '', HOME: path.join(dataDir, 'home'), ...opts.env },
  };
  const program = buildProgram(ctx);
  program.configureOutput({ writeOut: (s) => out.stream.write(s), writeErr: (s) => err.stream.write(s) });
  let code = 0;
  try {
    await program.parseAsync(['--data-dir', dataDir, ...args], { from: 'user' });
    code = ctx.exitCode ?? 0;
  } catch (e) {
    if (e instanceof CommanderError) code = e.exitCode === 0 ? 0 : 125;
    else if (isNubisError(e)) {
      err.stream.write(`nubis: ${e.message}\n`);
      code = 125;
    } else throw e;
  }
  await new Promise((r) => setImmediate(r));
  return { code, stdout: out.text(), stderr: err.text() };
}

const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../..');

/** The CLI as a process (from source); `onStdout` sees output as it comes. */
export function spawnNubis(dataDir: string, args: string[], onStdout?: (text: string) => void): { done: Promise<RunResult>; kill: (sig?: NodeJS.Signals) => void } {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'src/cmd/nubis.ts'), '--data-dir', dataDir, ...args], {
    cwd: REPO,
    env: { ...process.env, KUBECONFIG: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
    onStdout?.(stdout);
  });
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<RunResult>((resolve) => child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr })));
  return { done, kill: (sig = 'SIGINT') => child.kill(sig) };
}
