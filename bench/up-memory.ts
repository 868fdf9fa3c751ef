/**
 * Memory of `nubis up` with 50 pods (RSS of the one process), against `nubis server` alone holding the
 * same 50 pod objects (unscheduled: no node), so the difference is the agent's share (plus scheduler and
 * controller work). Run with and without --max-semi-space-size=1 on the node command line. Printed, not
 * asserted (target: agent's share <= 80 MiB; k3s: about 275 MB for its agent).
 *   node --import tsx bench/up-memory.ts      (BENCH_PODS=50)
 */
import type { Pod } from '../src/api/core/v1/pod-types.js';
import { PODS, startUp, type UpProcess } from './up-process.js';

const COUNT = Number(process.env.BENCH_PODS ?? 50);

async function withPods(up: UpProcess, waitRunning: boolean): Promise<number> {
  for (let i = 0; i < COUNT; i++) {
    await up.client.create(PODS, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `mem-${i}`, namespace: 'default' },
      spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'main', image: 'busybox', command: ['sleep', '3600'], resources: { requests: { cpu: '1m', memory: '1Mi' } } }] },
    } as Pod);
  }
  const until = Date.now() + 180_000;
  while (waitRunning && Date.now() < until) {
    const pods = (await up.client.list<Pod>(PODS, { namespace: 'default' })).items;
    if (pods.filter((p) => p.status?.phase === 'Running').length === COUNT) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  await new Promise((r) => setTimeout(r, 15_000)); // settle: a few status rounds and GCs
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    samples.push(up.rssMiB());
    await new Promise((r) => setTimeout(r, 1000));
  }
  return samples.sort((a, b) => a - b)[2]!;
}

for (const flags of [[], ['--max-semi-space-size=1']]) {
  const server = await startUp({ command: 'server', nodeFlags: flags });
  let serverRss: number;
  try {
    serverRss = await withPods(server, false);
  } finally {
    await server.stop();
  }
  const up = await startUp({ nodeFlags: flags });
  let upRss: number;
  try {
    upRss = await withPods(up, true);
  } finally {
    await up.stop();
  }
  console.log(`node ${flags.join(' ') || '(default flags)'}:`);
  console.log(`  nubis server with ${COUNT} pod objects: ${serverRss.toFixed(0)} MiB RSS`);
  console.log(`  nubis up with ${COUNT} running pods:    ${upRss.toFixed(0)} MiB RSS`);
  console.log(`  agent's share (difference):        ${(upRss - serverRss).toFixed(0)} MiB (target <= 80 MiB)`);
}
