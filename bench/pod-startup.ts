/**
 * Pod startup on one node: 100 pods created at 5 per second against `nubis up`, from the create request
 * to phase Running as seen through a watch; p50 and p99 printed (Kubernetes' SLO: p99 <= 5 s; target
 * p99 <= 1 s). Everything is deleted at the end.
 *   node --import tsx bench/pod-startup.ts      (BENCH_PODS=100, BENCH_RATE=5)
 */
import os from 'node:os';
import type { Pod } from '../src/api/core/v1/pod-types.js';
import { percentile, PODS, startUp } from './up-process.js';

const COUNT = Number(process.env.BENCH_PODS ?? 100);
const RATE = Number(process.env.BENCH_RATE ?? 5);

const up = await startUp();
const created = new Map<string, number>();
const running = new Map<string, number>();
const abort = new AbortController();
try {
  const list = await up.client.list<Pod>(PODS, { namespace: 'default' });
  const events = await up.client.watch<Pod>(PODS, { namespace: 'default', resourceVersion: list.metadata.resourceVersion, signal: abort.signal });
  const watching = (async () => {
    for await (const e of events) {
      const name = e.object.metadata?.name;
      if (name && e.object.status?.phase === 'Running' && !running.has(name)) running.set(name, performance.now());
      if (running.size === COUNT) return;
    }
  })();
  const posts: Promise<unknown>[] = [];
  const t0 = performance.now();
  for (let i = 0; i < COUNT; i++) {
    const wait = t0 + (i * 1000) / RATE - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const name = `startup-${i}`;
    created.set(name, performance.now());
    posts.push(
      up.client.create(PODS, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: 'default' },
        spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'main', image: 'busybox', command: ['sleep', '3600'], resources: { requests: { cpu: '1m', memory: '1Mi' } } }] },
      } as Pod),
    );
  }
  await Promise.all(posts);
  await Promise.race([watching, new Promise((r) => setTimeout(r, 120_000))]);
  const lat = [...created].filter(([n]) => running.has(n)).map(([n, t]) => running.get(n)! - t);
  console.log(`pod startup, ${COUNT} pods at ${RATE}/s on one node (${os.cpus().length} CPUs), create -> Running seen in a watch:`);
  console.log(`  Running: ${lat.length}/${COUNT}`);
  console.log(`  p50 ${percentile(lat, 50).toFixed(0)} ms, p90 ${percentile(lat, 90).toFixed(0)} ms, p99 ${percentile(lat, 99).toFixed(0)} ms, max ${Math.max(...lat).toFixed(0)} ms (SLO p99 <= 5000 ms; target <= 1000 ms)`);
  console.log(`  RSS of nubis up with ${running.size} pods: ${up.rssMiB().toFixed(0)} MiB`);
} finally {
  abort.abort();
  await up.stop();
}
