/**
 * No acknowledged write is lost: SIGKILL the writer (SQLite) or the etcd server during a stream of
 * writes, then find every acknowledged object; with three etcd members, kill the leader during writes:
 * writes and reads go on and nothing acknowledged is lost. Everything runs on 127.0.0.1, bounded.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Etcd3 } from 'etcd3';
import type { KubeObject } from '../../../src/api/meta.js';
import { isNubisError } from '../../../src/lib/errors.js';
import { takeEvents } from '../../../src/store/conformance.js';
import { EtcdStore } from '../../../src/store/etcd/etcd-store.js';
import type { ObjectStore } from '../../../src/store/object-store.js';
import { SqliteStore, sqliteStoreFile } from '../../../src/store/sqlite/sqlite-store.js';
import { EtcdCluster } from './etcd-cluster.js';

const PODS = { resource: 'pods' };
const here = path.dirname(fileURLToPath(import.meta.url));

/** Checks that every acknowledged write is in the store, with the acknowledged resourceVersion. */
async function assertAllPresent(store: ObjectStore, acked: Map<string, string>): Promise<void> {
  const all = new Map<string, string>();
  let token: string | undefined;
  do {
    const page = await store.list(PODS, { namespace: 'crash', limit: 500, continue: token });
    for (const o of page.items) all.set(o.metadata.name, o.metadata.resourceVersion!);
    token = page.continue;
  } while (token);
  const missing = [...acked.keys()].filter((name) => !all.has(name));
  assert.deepEqual(missing, [], `${missing.length} of ${acked.size} acknowledged writes are missing`);
  for (const [name, rv] of acked) assert.equal(all.get(name), rv, `${name} has the acknowledged resourceVersion`);
}

interface Writers {
  acked: Map<string, string>;
  errors: number;
  /** The latest distinct failures, for a message when a wait gives up. */
  lastErrors: string[];
  /** Resolves when `n` more writes have been acknowledged than now. */
  more(n: number): Promise<void>;
  stop(): Promise<void>;
}

/** Writers creating pods crash/s-<i> until stopped (bounded by `max` writes). */
function startWriters(store: ObjectStore, concurrency: number, max = 20_000): Writers {
  const acked = new Map<string, string>();
  const waiters: Array<{ at: number; resolve: () => void }> = [];
  let stopped = false;
  let next = 0;
  const w: Writers = {
    acked,
    errors: 0,
    lastErrors: [],
    more: (n) => new Promise((resolve) => waiters.push({ at: acked.size + n, resolve })),
    stop: async () => {
      stopped = true;
      await running;
    },
  };
  const running = Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (!stopped && next < max) {
        const name = `s-${next++}`;
        try {
          const obj = await store.create<KubeObject>(PODS, { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'crash' }, spec: {} });
          acked.set(name, obj.metadata.resourceVersion!);
          for (let i = waiters.length - 1; i >= 0; i--) if (acked.size >= waiters[i]!.at) waiters.splice(i, 1)[0]!.resolve();
        } catch (err) {
          const message = (err as Error)?.message ?? String(err);
          if (!w.lastErrors.includes(message)) w.lastErrors.push(message);
          if (w.lastErrors.length > 5) w.lastErrors.shift();
          if (!isNubisError(err)) throw err;
          w.errors++;
          await new Promise((r) => setTimeout(r, 20)); // the store is down: do not spin
        }
      }
    }),
  );
  return w;
}

/** A hang guard for a promise (not a timing assertion). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([p, new Promise<never>((_, reject) => (t = setTimeout(() => reject(new Error(`gave up waiting for ${what}`)), ms)))]).finally(() => clearTimeout(t));
}

describe('crash safety', () => {
  it('SQLite: SIGKILL of the writing process loses no acknowledged write', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'nubis-crash-'));
    const file = sqliteStoreFile(dir);
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'crash-writer.ts'), file, '4', '50000'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      const acked = new Map<string, string>();
      let reachedTarget: () => void;
      const target = new Promise<void>((resolve) => (reachedTarget = resolve));
      let ready: () => void;
      const isReady = new Promise<void>((resolve) => (ready = resolve));
      const lines = createInterface({ input: child.stdout! });
      lines.on('line', (line) => {
        if (line === 'ready') ready();
        const m = /^ok (\S+) (\d+)$/.exec(line);
        if (!m) return;
        acked.set(m[1]!, m[2]!);
        if (acked.size === 1500) reachedTarget();
      });
      const linesDone = new Promise((resolve) => lines.once('close', resolve));
      await within(isReady, 30_000, 'the writer to start');
      assert.throws(() => SqliteStore.open({ file }), (err: unknown) => isNubisError(err, 'Unavailable'), 'a second process cannot open the store while the writer owns it');
      await within(target, 60_000, '1500 acknowledged writes');
      child.kill('SIGKILL');
      await exited;
      await linesDone; // every line the writer printed before it died counts as acknowledged
      assert.equal(child.signalCode, 'SIGKILL');
      const store = SqliteStore.open({ file });
      try {
        await assertAllPresent(store, acked);
      } finally {
        await store.close();
      }
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('etcd: SIGKILL of the etcd server during writes loses no acknowledged write', async () => {
    const cluster = await EtcdCluster.start(1);
    const store = new EtcdStore({ endpoints: cluster.endpoints, requestTimeoutMs: 3000 });
    try {
      const writers = startWriters(store, 4);
      await within(writers.more(300), 60_000, '300 writes before the kill');
      await cluster.kill(0);
      const errorsBefore = writers.errors;
      await new Promise((r) => setTimeout(r, 500)); // writes go on failing against the dead server
      await cluster.restart(0);
      await within(writers.more(300), 60_000, '300 writes after the restart');
      await writers.stop();
      assert.ok(writers.errors > errorsBefore, 'writes failed while etcd was down (the kill happened mid-stream)');
      await assertAllPresent(store, writers.acked);
    } finally {
      await store.close();
      await cluster.stop();
    }
  });

  it('etcd, three members: killing the leader during writes loses nothing; writes, reads and watches go on', async () => {
    const cluster = await EtcdCluster.start(3);
    const store = new EtcdStore({ endpoints: cluster.endpoints, requestTimeoutMs: 3000 });
    const ac = new AbortController();
    let writers: Writers | undefined;
    try {
      const start = await store.currentRevision();
      const events = await store.watch(PODS, { resourceVersion: start, namespace: 'crash', signal: ac.signal });
      const w = (writers = startWriters(store, 4));
      await within(w.more(300), 60_000, '300 writes before the kill');
      const leader = await leaderIndex(cluster);
      await cluster.kill(leader);
      await within(w.more(300), 60_000, '300 writes with one member down').catch(async (err: Error) => {
        // Say what the writers and the surviving members saw: this has failed once in CI and not since.
        err.message += `; ${w.acked.size} acknowledged, ${w.errors} errors, latest: ${w.lastErrors.join(' | ')}\n${await cluster.diagnose()}`;
        throw err;
      });
      let reads = 0;
      for (const name of [...w.acked.keys()].slice(0, 50)) {
        await store.get(PODS, { namespace: 'crash', name });
        reads++;
      }
      assert.equal(reads, 50, 'reads go on with one member down');
      await w.stop();
      await assertAllPresent(store, w.acked);
      // The watch, whose stream may have been on the dead member, resumed without gap or duplicate.
      const seen = new Map<string, number>();
      const revs: number[] = [];
      for (const e of await takeEvents(events, w.acked.size, 60_000)) {
        seen.set(e.object.metadata.name, (seen.get(e.object.metadata.name) ?? 0) + 1);
        revs.push(Number(e.object.metadata.resourceVersion));
      }
      assert.ok([...w.acked.keys()].every((name) => seen.get(name) === 1), 'the watch saw every acknowledged write once');
      assert.deepEqual(revs, [...revs].sort((a, b) => a - b));
      // The dead member comes back and catches up.
      await cluster.restart(leader);
      const alone = new EtcdStore({ endpoints: [cluster.endpoint(leader)], requestTimeoutMs: 3000 });
      try {
        await assertAllPresent(alone, w.acked);
      } finally {
        await alone.close();
      }
    } finally {
      ac.abort();
      await writers?.stop().catch(() => undefined);
      await store.close();
      await cluster.stop();
    }
  });
});

async function leaderIndex(cluster: EtcdCluster): Promise<number> {
  for (let i = 0; i < cluster.endpoints.length; i++) {
    const client = new Etcd3({ hosts: cluster.endpoint(i) });
    try {
      const status = await client.maintenance.status();
      if (status.leader === status.header.member_id) return i;
    } finally {
      client.close();
    }
  }
  throw new Error('no etcd member reports itself as leader');
}
