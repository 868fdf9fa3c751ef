/**
 * Quick figures for the embedded store: latency of sequential writes (p50/p99), latency at a paced
 * 500 writes/s, and the process RSS while the store holds 10,000 objects. Temp dir, bounded, no network.
 * Usage: node --import tsx bench/store/sqlite-write-latency.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { KubeObject } from '../../src/api/meta.js';
import { SqliteStore, sqliteStoreFile } from '../../src/store/sqlite/sqlite-store.js';

const PODS = { resource: 'pods' };
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))]!;
const ms = (x: number) => x.toFixed(3);
const podOf = (i: number): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: `p-${i}`, namespace: `ns-${i % 10}`, labels: { app: `a${i % 50}`, tier: 'web' } },
  spec: { containers: [{ name: 'c', image: 'busybox', command: ['sleep', '3600'], env: [{ name: 'I', value: String(i) }] }] },
});

const dir = mkdtempSync(path.join(os.tmpdir(), 'nubis-bench-store-'));
const store = SqliteStore.open({ file: sqliteStoreFile(dir) });
try {
  const creates: number[] = [];
  for (let i = 0; i < 10_000; i++) {
    const t = performance.now();
    await store.create(PODS, podOf(i));
    creates.push(performance.now() - t);
  }
  const updates: number[] = [];
  for (let i = 0; i < 2_000; i++) {
    const cur = await store.get(PODS, { namespace: `ns-${i % 10}`, name: `p-${i}` });
    const t = performance.now();
    await store.update(PODS, { ...cur, status: { phase: 'Running' } });
    updates.push(performance.now() - t);
  }
  const paced: number[] = [];
  const start = performance.now();
  for (let i = 0; i < 2_500; i++) {
    const due = start + i * 2; // 500 writes/s
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const t = performance.now();
    await store.create(PODS, podOf(100_000 + i));
    paced.push(performance.now() - t);
  }
  const rssHolding = process.memoryUsage().rss / 2 ** 20;
  const list = performance.now();
  const all = await store.list(PODS);
  const listMs = performance.now() - list;
  globalThis.gc?.();
  console.log(`sequential create: p50 ${ms(pct(creates, 50))} ms, p99 ${ms(pct(creates, 99))} ms (10,000 writes)`);
  console.log(`sequential update: p50 ${ms(pct(updates, 50))} ms, p99 ${ms(pct(updates, 99))} ms (2,000 writes)`);
  console.log(`paced 500 writes/s: p50 ${ms(pct(paced, 50))} ms, p99 ${ms(pct(paced, 99))} ms (2,500 writes)`);
  console.log(`RSS holding ${all.items.length} objects: ${rssHolding.toFixed(0)} MiB; one unpaged list of them all: ${listMs.toFixed(1)} ms, RSS after ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
