/**
 * Bench helper: `nubis up` (the built bin/nubis, run `npm run build` first) in the foreground as a child
 * process with a temp data dir and free ports; `stop` ends it, deletes what the bench made and removes
 * the data dir. Optional extra Node flags (e.g. --max-semi-space-size=1) are passed on the command line.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Pod } from '../src/api/core/v1/pod-types.js';
import { connect } from '../src/client/connect.js';
import type { ResourceInfo, RestClient } from '../src/client/rest-client.js';
import { agentDirsLeft } from '../test/helpers/leaks.js';

export const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
export const NUBIS = path.join(REPO, 'bin', 'nubis');
export const PODS: ResourceInfo = { group: '', version: 'v1', resource: 'pods', kind: 'Pod', namespaced: true };

export interface UpProcess {
  dataDir: string;
  kubeconfig: string;
  client: RestClient;
  proc: ChildProcess;
  /** Resident set size of the process, in MiB. */
  rssMiB(): number;
  stop(): Promise<void>;
}

/** Starts `nubis <command>` (up, or server for comparison) and waits until it is ready. */
export async function startUp(opts: { nodeFlags?: string[]; command?: 'up' | 'server' } = {}): Promise<UpProcess> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'nubis-bench-up-'));
  const command = opts.command ?? 'up';
  const args = command === 'up' ? ['up', '--api-port', '0', '--agent-port', '0', '--api-listen', '127.0.0.1', '--node-name', 'bench'] : ['server', '--port', '0', '--listen', '127.0.0.1'];
  const proc = spawn(process.execPath, [...(opts.nodeFlags ?? []), `${NUBIS}.js`, '--data-dir', dataDir, '--log-level', 'warn', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const ready = command === 'up' ? /nubis up: ready/ : /join agents with/;
  const deadline = Date.now() + 60_000;
  while (!ready.test(out)) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
      throw new Error(`nubis ${command} did not start: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const kubeconfig = path.join(dataDir, 'admin.kubeconfig');
  const client = (await connect({ flag: kubeconfig })).client;
  return {
    dataDir,
    kubeconfig,
    client,
    proc,
    rssMiB: () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'))![1]) / 1024,
    async stop() {
      try {
        await client.deleteCollection({ group: 'apps', version: 'v1', resource: 'deployments', kind: 'Deployment', namespaced: true }, { namespace: 'default' }).catch(() => undefined);
        await client.deleteCollection(PODS, { namespace: 'default', gracePeriodSeconds: 0 }).catch(() => undefined);
        const until = Date.now() + 120_000;
        while ((await client.list<Pod>(PODS, { namespace: 'default' })).items.length > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 250));
        // The agent removes containers, mounts and pinned namespaces after their pods are gone: wait until
        // no conmon serves the data dir and no container or pod directory is left.
        while (command === 'up' && (conmonsOf(dataDir) > 0 || agentDirsLeft(dataDir).length > 0) && Date.now() < until) {
          await new Promise((r) => setTimeout(r, 250));
        }
      } finally {
        client.close();
        proc.kill('SIGTERM');
        await new Promise((r) => (proc.exitCode !== null ? r(undefined) : proc.once('exit', r)));
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}

/** How many conmon processes serve containers of `dataDir`. */
function conmonsOf(dataDir: string): number {
  let n = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'conmon' && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dataDir)) n++;
    } catch {
      // gone
    }
  }
  return n;
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}
