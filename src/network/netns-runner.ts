import type { Host, RunOptions, RunResult } from '../host/host.js';
import { internal } from '../lib/errors.js';

/** Runs a command in one network namespace: the caller's own, or the one at `netnsPath` via nsenter. */
export type NetnsRunner = (cmd: string, args: string[], opts?: RunOptions) => Promise<RunResult>;

/**
 * A runner for the namespace at `netnsPath` (e.g. /proc/<pid>/ns/net or /run/netns/<name>); without a
 * path, commands run where the caller runs (the node's own namespace).
 */
export function netnsRunner(host: Host, netnsPath?: string): NetnsRunner {
  if (!netnsPath) return (cmd, args, opts) => host.run(cmd, args, opts);
  return (cmd, args, opts) => host.run('nsenter', [`--net=${netnsPath}`, '--', cmd, ...args], opts);
}

/** Runs several `ip` commands in one exec (`ip -batch -`), failing on the first that fails. */
export async function ipBatch(run: NetnsRunner, lines: string[]): Promise<void> {
  if (lines.length === 0) return;
  await run('ip', ['-batch', '-'], { input: lines.join('\n') + '\n' });
}

/** Applies an nft script in one transaction (`nft -f -`); a refusal fails with nft's first lines. */
export async function nftApply(run: NetnsRunner, script: string, what: string): Promise<void> {
  if (!script) return;
  const res = await run('nft', ['-f', '-'], { input: script, allowFailure: true });
  if (res.code !== 0) throw internal(`nft refused the ${what}: ${res.stderr.split('\n').slice(0, 3).join(' ').trim()}`);
}
