import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { KubeObject } from '../api/meta.js';
import type { WatchEvent } from '../store/object-store.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { WatchCache } from './watch-cache.js';

let dir: string;
let store: SqliteStore;
const ref = { resource: 'configmaps' };
const cm = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' } });

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'nubis-watch-cache-'));
  store = SqliteStore.open({ file: path.join(dir, 'store.db') });
});
after(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

async function take(events: AsyncIterable<WatchEvent>, n: number): Promise<string[]> {
  const out: string[] = [];
  for await (const ev of events) {
    out.push(`${ev.type} ${ev.object.metadata.name}`);
    if (out.length === n) break;
  }
  return out;
}

test('a cache without watchers stops after its idle time, lets its objects go, and starts again on the next watch', async () => {
  const cache = new WatchCache(store, ref, 100, 50);
  await store.create(ref, cm('a'));
  const first = new AbortController();
  const events = await cache.watch({ filter: () => true, signal: first.signal });
  assert.equal(cache.running, true);
  const seen = take(events, 2);
  await store.create(ref, cm('b'));
  assert.deepEqual(await seen, ['ADDED a', 'ADDED b']);
  first.abort();
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(cache.running, false, 'stopped once idle');
  await store.create(ref, cm('c'));
  const second = new AbortController();
  const again = await cache.watch({ filter: () => true, signal: second.signal });
  assert.deepEqual((await take(again, 3)).sort(), ['ADDED a', 'ADDED b', 'ADDED c'], 'the restarted cache lists the present state');
  second.abort();
  cache.close();
});

test('a watcher arriving within the idle time keeps the cache running', async () => {
  const cache = new WatchCache(store, ref, 100, 150);
  const one = new AbortController();
  await cache.watch({ filter: () => true, signal: one.signal });
  one.abort();
  await new Promise((r) => setTimeout(r, 50));
  const two = new AbortController();
  await cache.watch({ filter: () => true, signal: two.signal });
  await new Promise((r) => setTimeout(r, 250));
  assert.equal(cache.running, true);
  two.abort();
  cache.close();
});
