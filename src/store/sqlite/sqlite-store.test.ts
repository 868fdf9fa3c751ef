import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { isNubisError } from '../../lib/errors.js';
import { pod, runConformance, takeEvents } from '../conformance.js';
import { SqliteStore, sqliteStoreFile } from './sqlite-store.js';

runConformance('sqlite', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nubis-store-'));
  const store = SqliteStore.open({ file: sqliteStoreFile(dir) });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

const PODS = { resource: 'pods' };

describe('SqliteStore', () => {
  it('keeps everything across close and reopen, and refuses a second owner', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'nubis-store-'));
    try {
      const file = sqliteStoreFile(dir);
      const first = SqliteStore.open({ file });
      const a = await first.create(PODS, pod('a'));
      assert.throws(() => SqliteStore.open({ file }), (err: unknown) => isNubisError(err, 'Unavailable') && /in use by another process/.test(err.message));
      await first.close();
      const second = SqliteStore.open({ file });
      assert.deepEqual(await second.get(PODS, { namespace: 'default', name: 'a' }), a);
      const b = await second.create(PODS, pod('b'));
      assert.equal(Number(b.metadata.resourceVersion), Number(a.metadata.resourceVersion) + 1, 'revisions continue after a reopen');
      await second.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('moves a watcher that falls behind from memory to the history table without losing events', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'nubis-store-'));
    const store = SqliteStore.open({ file: sqliteStoreFile(dir), maxQueuedEvents: 5 });
    try {
      const ac = new AbortController();
      const events = await store.watch(PODS, { signal: ac.signal });
      for (let i = 0; i < 40; i++) await store.create(PODS, pod(`p${String(i).padStart(2, '0')}`));
      const got = await takeEvents(events, 40);
      ac.abort();
      assert.deepEqual(got.map((e) => e.object.metadata.name), Array.from({ length: 40 }, (_, i) => `p${String(i).padStart(2, '0')}`));
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
