/**
 * Fifty pods on one agent that runs as its own process, bundled as it ships (esbuild, one file), with
 * V8's young generation capped (--max-semi-space-size=1, what `nubis agent` should run with): all reach
 * Running, and the agent's resident memory stays under a regression ceiling.
 *
 * The goal is 80 MiB; measured 85-87 MiB (live heap after GC ~11 MiB: the rest is Node itself ~40 MiB,
 * code, V8 heap reserve and TLS/zlib buffers); without the flag ~110 MiB. The ceiling below guards
 * against regressions until the goal is met; the figures are printed on every run.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { build } from 'esbuild';
import type { Pod } from '../../../src/api/core/v1/pod-types.js';
import { connectionFor, loadKubeconfig, selectContext } from '../../../src/client/kubeconfig.js';
import { RestClient } from '../../../src/client/rest-client.js';
import { leftovers, snapshotHost, type HostSnapshot } from '../../helpers/leaks.js';
import { eventually, TestServer } from '../apiserver/harness.js';
import { PODS } from './agent-harness.js';

const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../..');
const COUNT = 50;
const GOAL = 80 * 2 ** 20;
const CEILING = 96 * 2 ** 20;

let api: TestServer;
let client: RestClient;
let dataDir: string;
let bundleDir: string;
let agent: ChildProcess | undefined;
let hostBefore: HostSnapshot;

function rss(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

before(async () => {
  hostBefore = snapshotHost();
  api = await TestServer.start();
  client = new RestClient(await connectionFor(selectContext((await loadKubeconfig({ flag: api.kubeconfig })).config)));
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'nubis-agent-scale-'));
  bundleDir = mkdtempSync(path.join(os.tmpdir(), 'nubis-agent-bundle-'));
  await build({
    absWorkingDir: REPO,
    entryPoints: { agent: 'test/integration/agent/agent-process.ts', 'unpack-thread': 'src/image/unpack-thread.ts' },
    outdir: bundleDir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    external: ['better-sqlite3', 'node-unix-socket', 'etcd3', 'bufferutil', 'utf-8-validate'],
    banner: { js: 'import { createRequire as __cr } from "node:module"; const require = __cr(import.meta.url);' },
    logLevel: 'warning',
  });
  // unpack-pool loads ./unpack-thread.js beside the bundle
  rmSync(path.join(bundleDir, 'unpack-thread.js'), { force: true });
  const { renameSync } = await import('node:fs');
  renameSync(path.join(bundleDir, 'unpack-thread.mjs'), path.join(bundleDir, 'unpack-thread.js'));
});

after(async () => {
  try {
    const list = await client.list<Pod>(PODS, {});
    for (const p of list.items) await client.delete(PODS, p.metadata.name, { namespace: 'default', gracePeriodSeconds: 0 }).catch(() => {});
    await eventually('every container to be removed', async () => {
      const problems = leftovers(dataDir, hostBefore).filter((l) => !l.startsWith('cgroup left:') || /^cgroup left: [^/]+\/nubis(\/|$)/.test(l));
      return problems.length === 0;
    }, 120_000);
  } finally {
    agent?.kill('SIGTERM');
    client.close();
    await api.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(bundleDir, { recursive: true, force: true });
  }
});

test(`${COUNT} pods run on one agent process under ${CEILING / 2 ** 20} MiB of resident memory (goal ${GOAL / 2 ** 20} MiB)`, async () => {
  agent = spawn(process.execPath, [...(process.env.AGENT_NODE_FLAGS ?? '--max-semi-space-size=1').split(' ').filter(Boolean), path.join(bundleDir, 'agent.mjs'), api.kubeconfig, 'node-s', dataDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    agent!.stdout!.on('data', (b: Buffer) => b.toString().includes('ready') && resolve());
    agent!.on('exit', (code) => reject(new Error(`agent exited with ${code}`)));
  });
  for (let i = 0; i < COUNT; i++) {
    await client.create(PODS, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `p${i}`, namespace: 'default' },
      spec: { nodeName: 'node-s', terminationGracePeriodSeconds: 1, containers: [{ name: 'app', image: 'busybox', command: ['sleep', '3600'], readinessProbe: { tcpSocket: { port: 1 }, periodSeconds: 10 } }] },
    } as Pod);
  }
  let peak = 0;
  console.log(`agent RSS before pods: ${(rss(agent!.pid!) / 2 ** 20).toFixed(1)} MiB`);
  await eventually(`${COUNT} pods Running`, async () => {
    peak = Math.max(peak, rss(agent!.pid!));
    const list = await client.list<Pod>(PODS, { namespace: 'default' });
    return list.items.filter((p) => p.status?.phase === 'Running').length === COUNT;
  }, 600_000);
  // 40 s in steady state (probes, exit polling, lease and status; the image unpack thread, idle, stops after 30 s)
  for (let i = 0; i < 40; i++) {
    peak = Math.max(peak, rss(agent!.pid!));
    await new Promise((r) => setTimeout(r, 1000));
  }
  agent!.kill('SIGUSR2');
  await new Promise((r) => setTimeout(r, 200));
  const now = rss(agent!.pid!);
  console.log(`agent RSS with ${COUNT} pods: ${(now / 2 ** 20).toFixed(1)} MiB now, ${(peak / 2 ** 20).toFixed(1)} MiB at the peak`);
  if (now > GOAL) console.log(`agent RSS is over the ${GOAL / 2 ** 20} MiB goal`);
  assert.ok(now <= CEILING, `agent RSS ${(now / 2 ** 20).toFixed(1)} MiB is over the ${CEILING / 2 ** 20} MiB ceiling`);
});
