/**
 * Byte streams through the system's (de)compressors, for the formats Node has no codec for (xz, zstd,
 * lz4): the input goes to the tool's stdin, its stdout straight into a file.
 */
import { promises as fs } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { internal, isNubisError, unavailable } from '../../lib/errors.js';
import type { Host } from '../../host/host.js';

/** A system tool and the Debian package that ships it. */
export interface Tool {
  cmd: string;
  args: string[];
  debianPackage: string;
}

/** Decompressors by name, each reading stdin and writing stdout. */
export const DECOMPRESSORS = {
  xz: { cmd: 'xz', args: ['-dc'], debianPackage: 'xz-utils' },
  zstd: { cmd: 'zstd', args: ['-dcq'], debianPackage: 'zstd' },
  lz4: { cmd: 'lz4', args: ['-dcq'], debianPackage: 'lz4' },
} as const satisfies Record<string, Tool>;

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/**
 * Runs `tool` with `input` on stdin and writes its stdout to `outFile` (created or truncated). Fails with
 * Unavailable (naming the package) when the tool is missing, Internal when it fails, and stops it on abort.
 */
export async function pipeThroughTool(host: Host, tool: Tool, input: Uint8Array, outFile: string, signal?: AbortSignal): Promise<void> {
  const out = await fs.open(outFile, 'w', 0o644);
  try {
    await runTool(host, tool, input, out.fd, signal);
  } finally {
    await out.close();
  }
}

/** Like pipeThroughTool, returning the output in memory (for small things such as a module). */
export async function toolOutput(host: Host, tool: Tool, input: Uint8Array, signal?: AbortSignal): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await runTool(host, tool, input, chunks, signal);
  return Buffer.concat(chunks);
}

async function runTool(host: Host, tool: Tool, input: Uint8Array, out: number | Buffer[], signal?: AbortSignal): Promise<void> {
  signal?.throwIfAborted();
  const child = host.spawn(tool.cmd, tool.args, { stdio: ['pipe', typeof out === 'number' ? out : 'pipe', 'pipe'] });
  const onAbort = () => killQuietly(child.pid);
  signal?.addEventListener('abort', onAbort, { once: true });
  const errText: Buffer[] = [];
  (child.stdio[2] as Readable | null)?.on('data', (b: Buffer) => errText.push(b));
  const stdout = Array.isArray(out) ? (child.stdio[1] as Readable | null) : null;
  stdout?.on('data', (b: Buffer) => (out as Buffer[]).push(b));
  const drained = stdout ? finished(stdout).catch(() => undefined) : undefined;
  const stdin = child.stdio[0] as Writable | null;
  stdin?.on('error', () => {});
  stdin?.end(input);
  try {
    const code = await child.exited;
    await drained;
    signal?.throwIfAborted();
    if (code !== 0) {
      const detail = Buffer.concat(errText).toString('utf8').trim().split('\n').slice(-2).join('; ');
      throw internal(`${tool.cmd} ${tool.args.join(' ')} failed (exit ${code}): ${detail}`);
    }
  } catch (err) {
    if (isNubisError(err, 'Unavailable')) throw unavailable(`${tool.cmd} not found: install Debian's ${tool.debianPackage}`, err);
    throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
