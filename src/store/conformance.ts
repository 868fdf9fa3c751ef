/**
 * The behaviour every ObjectStore backend must show, as one node:test suite. A backend's test file
 * calls `runConformance('sqlite', makeStore)`; each test gets a fresh, empty store from `makeStore`.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { KubeObject } from '../api/meta.js';
import { isNubisError } from '../lib/errors.js';
import { parseFieldSelector } from './field-selector.js';
import { parseLabelSelector } from './label-selector.js';
import { type ObjectStore, type ResourceRef, type WatchEvent, isExpired } from './object-store.js';

export interface StoreUnderTest {
  store: ObjectStore;
  cleanup: () => Promise<void>;
}

const PODS: ResourceRef = { resource: 'pods' };
const NODES: ResourceRef = { resource: 'nodes' };
const DEPLOYMENTS: ResourceRef = { group: 'apps', resource: 'deployments' };

export function pod(name: string, namespace = 'default', labels: Record<string, string> = {}, spec: unknown = { n: 0 }): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels }, spec };
}

/** Reads events until `count` arrived (fails after `deadlineMs`, a hang guard, not a timing check). */
export async function takeEvents(events: AsyncIterable<WatchEvent>, count: number, deadlineMs = 20_000): Promise<WatchEvent[]> {
  const got: WatchEvent[] = [];
  if (count === 0) return got;
  const it = events[Symbol.asyncIterator]();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`watch delivered ${got.length} of ${count} events before the deadline`)), deadlineMs);
  });
  try {
    while (got.length < count) {
      const next = await Promise.race([it.next(), deadline]);
      if (next.done) throw new Error(`watch ended after ${got.length} of ${count} events`);
      got.push(next.value);
    }
  } finally {
    clearTimeout(timer);
  }
  return got;
}

function rv(obj: KubeObject): number {
  return Number(obj.metadata.resourceVersion);
}

async function rejectsWith(p: Promise<unknown>, code: string, pattern?: RegExp): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    assert.ok(isNubisError(err), `expected a NubisError(${code}), got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (pattern) assert.match(err.message, pattern);
    return err;
  }
  assert.fail(`expected ${code}, but the call succeeded`);
}

export function runConformance(name: string, makeStore: () => Promise<StoreUnderTest>): void {
  describe(`ObjectStore conformance: ${name}`, () => {
    let sut: StoreUnderTest;
    let store: ObjectStore;
    beforeEach(async () => {
      sut = await makeStore();
      store = sut.store;
    });
    afterEach(async () => {
      await sut.cleanup();
    });

    it('creates and gets objects, stamping metadata; refuses duplicates and bad input', async () => {
      const created = await store.create(PODS, pod('web', 'default', { app: 'web' }));
      assert.match(created.metadata.resourceVersion!, /^[1-9]\d*$/);
      assert.match(created.metadata.uid!, /^[0-9a-f-]{36}$/);
      assert.equal(created.metadata.generation, 1);
      assert.ok(!Number.isNaN(Date.parse(created.metadata.creationTimestamp!)));
      assert.deepEqual(await store.get(PODS, { namespace: 'default', name: 'web' }), created);
      await rejectsWith(store.create(PODS, pod('web')), 'AlreadyExists', /pods "default\/web" already exists/);
      await rejectsWith(store.get(PODS, { namespace: 'default', name: 'nope' }), 'NotFound');
      await rejectsWith(store.get(PODS, { namespace: 'other', name: 'web' }), 'NotFound');
      const withRv = pod('x');
      withRv.metadata.resourceVersion = '5';
      await rejectsWith(store.create(PODS, withRv), 'Invalid');
      await rejectsWith(store.create(PODS, pod('a/b')), 'Invalid');
      await rejectsWith(store.create(PODS, { apiVersion: 'v1', kind: 'Pod', metadata: {} } as KubeObject), 'Invalid');
    });

    it('keeps resources, groups, namespaces and cluster-scoped objects apart', async () => {
      const a = await store.create(PODS, pod('same', 'ns1'));
      const b = await store.create(PODS, pod('same', 'ns2'));
      const n = await store.create(NODES, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'same' } });
      const d = await store.create(DEPLOYMENTS, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'same', namespace: 'ns1' } });
      await store.create({ group: 'other.example', resource: 'deployments' }, { apiVersion: 'other.example/v1', kind: 'Deployment', metadata: { name: 'same', namespace: 'ns1' } });
      assert.ok(rv(a) < rv(b) && rv(b) < rv(n) && rv(n) < rv(d), 'one store-wide increasing revision');
      assert.equal(Number(await store.currentRevision()), rv(d) + 1);
      assert.deepEqual((await store.get(NODES, { name: 'same' })).kind, 'Node');
      assert.deepEqual((await store.list(PODS, { namespace: 'ns1' })).items.map((o) => o.metadata.namespace), ['ns1']);
      assert.deepEqual((await store.list(PODS)).items.map((o) => o.metadata.namespace), ['ns1', 'ns2']);
      assert.equal((await store.list(DEPLOYMENTS)).items.length, 1);
      assert.equal((await store.list(NODES)).items.length, 1);
    });

    it('updates with optimistic concurrency on resourceVersion', async () => {
      const v1 = await store.create(PODS, pod('web'));
      const v2 = await store.update(PODS, { ...v1, spec: { n: 1 } });
      assert.ok(rv(v2) > rv(v1));
      assert.equal(v2.metadata.generation, 2, 'a spec change bumps generation');
      assert.equal(v2.metadata.uid, v1.metadata.uid);
      assert.equal(v2.metadata.creationTimestamp, v1.metadata.creationTimestamp);
      const v3 = await store.update(PODS, { ...v2, status: { phase: 'Running' } });
      assert.equal(v3.metadata.generation, 2, 'a status change leaves generation alone');
      const err = await rejectsWith(store.update(PODS, { ...v1, spec: { n: 9 } }), 'Conflict', /the object has been modified; please apply your changes to the latest version and try again/);
      assert.equal(isExpired(err), false);
      assert.deepEqual(await store.get(PODS, { namespace: 'default', name: 'web' }), v3, 'a refused update changes nothing');
      const unconditional = { ...v3, metadata: { ...v3.metadata, resourceVersion: undefined }, spec: { n: 2 } };
      const v4 = await store.update(PODS, unconditional);
      assert.equal(v4.metadata.generation, 3);
      await rejectsWith(store.update(PODS, { ...v4, metadata: { ...v4.metadata, uid: 'another-uid' } }), 'Conflict', /UID/);
      await rejectsWith(store.update(PODS, pod('ghost')), 'NotFound');
    });

    it('deletes, with resourceVersion and uid preconditions', async () => {
      const v1 = await store.create(PODS, pod('web'));
      const v2 = await store.update(PODS, { ...v1, spec: { n: 1 } });
      await rejectsWith(store.delete(PODS, { namespace: 'default', name: 'web' }, { resourceVersion: v1.metadata.resourceVersion }), 'Conflict');
      await rejectsWith(store.delete(PODS, { namespace: 'default', name: 'web' }, { uid: 'not-it' }), 'Conflict');
      assert.deepEqual(await store.get(PODS, { namespace: 'default', name: 'web' }), v2);
      const gone = await store.delete(PODS, { namespace: 'default', name: 'web' }, { resourceVersion: v2.metadata.resourceVersion, uid: v2.metadata.uid });
      assert.deepEqual(gone.spec, { n: 1 });
      assert.ok(rv(gone) > rv(v2), 'the deleted object carries the revision of the delete');
      await rejectsWith(store.get(PODS, { namespace: 'default', name: 'web' }), 'NotFound');
      await rejectsWith(store.delete(PODS, { namespace: 'default', name: 'web' }), 'NotFound');
      const again = await store.create(PODS, pod('web'));
      assert.notEqual(again.metadata.uid, v1.metadata.uid, 'a re-created object is a new object');
      assert.equal(again.metadata.generation, 1);
    });

    it('lists with label and field selectors', async () => {
      await store.create(PODS, pod('a', 'ns1', { app: 'web', tier: 'front' }));
      await store.create(PODS, pod('b', 'ns1', { app: 'web', tier: 'back' }));
      await store.create(PODS, pod('c', 'ns2', { app: 'db' }));
      await store.create(PODS, pod('d', 'ns2', { version: '3' }));
      const names = async (labels?: string, fields?: string, namespace?: string) =>
        (
          await store.list(PODS, {
            namespace,
            labelSelector: labels === undefined ? undefined : parseLabelSelector(labels),
            fieldSelector: fields === undefined ? undefined : parseFieldSelector(fields),
          })
        ).items.map((o) => o.metadata.name);
      assert.deepEqual(await names('app=web'), ['a', 'b']);
      assert.deepEqual(await names('app==web,tier!=front'), ['b']);
      assert.deepEqual(await names('app!=web'), ['c', 'd']);
      assert.deepEqual(await names('app in (db, web)'), ['a', 'b', 'c']);
      assert.deepEqual(await names('app notin (web)'), ['c', 'd']);
      assert.deepEqual(await names('tier'), ['a', 'b']);
      assert.deepEqual(await names('!app'), ['d']);
      assert.deepEqual(await names('version>2'), ['d']);
      assert.deepEqual(await names('app=web', undefined, 'ns2'), []);
      assert.deepEqual(await names(undefined, 'metadata.name=c'), ['c']);
      assert.deepEqual(await names(undefined, 'metadata.namespace=ns1'), ['a', 'b']);
      assert.deepEqual(await names(undefined, 'metadata.namespace!=ns1,metadata.name!=c'), ['d']);
      assert.deepEqual(await names('app', 'metadata.namespace=ns2'), ['c']);
    });

    it('paginates one consistent snapshot with limit and continue, under concurrent writes', async () => {
      const originals: KubeObject[] = [];
      for (let i = 0; i < 25; i++) originals.push(await store.create(PODS, pod(`p${String(i).padStart(2, '0')}`, 'default', { even: String(i % 2 === 0) })));
      const first = await store.list(PODS, { limit: 10 });
      assert.equal(first.items.length, 10);
      assert.ok(first.continue, 'a first page of a longer list has a continue token');
      // Writes between pages: deletes, updates, new objects on both sides of the cursor.
      await store.delete(PODS, { namespace: 'default', name: 'p15' });
      const p20 = await store.get(PODS, { namespace: 'default', name: 'p20' });
      await store.update(PODS, { ...p20, spec: { n: 99 } });
      await store.create(PODS, pod('p19a'));
      await store.create(PODS, pod('a-before-all'));
      const second = await store.list(PODS, { limit: 10, continue: first.continue });
      assert.equal(second.resourceVersion, first.resourceVersion, 'all pages share the snapshot revision');
      const third = await store.list(PODS, { limit: 10, continue: second.continue });
      assert.equal(third.continue, undefined, 'the last page has no continue token');
      assert.deepEqual([...first.items, ...second.items, ...third.items], originals, 'pages show the snapshot exactly');
      const fresh = await store.list(PODS);
      assert.equal(fresh.items.length, 26);
      assert.ok(Number(fresh.resourceVersion) > Number(first.resourceVersion));
      // Pages with a selector are filled up to the limit.
      const evenPages: string[] = [];
      let token: string | undefined;
      let pages = 0;
      do {
        const page = await store.list(PODS, { limit: 4, continue: token, labelSelector: parseLabelSelector('even=true') });
        assert.ok(page.items.length === 4 || page.continue === undefined);
        evenPages.push(...page.items.map((o) => o.metadata.name));
        token = page.continue;
        pages++;
      } while (token);
      assert.equal(pages, 4);
      assert.deepEqual(evenPages, originals.filter((_, i) => i % 2 === 0 && i !== 15).map((o) => o.metadata.name));
      await rejectsWith(store.list(PODS, { continue: 'garbage' }), 'Invalid');
      await rejectsWith(store.list(PODS, { continue: first.continue, namespace: 'other' }), 'Invalid');
    });

    it('lists at an exact past resourceVersion', async () => {
      const a = await store.create(PODS, pod('a'));
      const a2 = await store.update(PODS, { ...a, spec: { n: 1 } });
      const b = await store.create(PODS, pod('b'));
      const a3 = await store.update(PODS, { ...a2, spec: { n: 2 } });
      const bGone = await store.delete(PODS, { namespace: 'default', name: 'b' });
      await store.create(PODS, pod('c'));
      const at = async (obj: KubeObject) => (await store.list(PODS, { resourceVersion: obj.metadata.resourceVersion })).items;
      const past = await store.list(PODS, { resourceVersion: a.metadata.resourceVersion });
      assert.deepEqual(past.items, [a]);
      assert.equal(past.resourceVersion, a.metadata.resourceVersion);
      assert.deepEqual(await at(a2), [a2]);
      assert.deepEqual(await at(b), [a2, b]);
      assert.deepEqual(await at(a3), [a3, b]);
      assert.deepEqual(await at(bGone), [a3]);
      const paged = await store.list(PODS, { resourceVersion: b.metadata.resourceVersion, limit: 1 });
      assert.deepEqual(paged.items, [a2]);
      assert.deepEqual((await store.list(PODS, { limit: 1, continue: paged.continue })).items, [b]);
      await rejectsWith(store.list(PODS, { resourceVersion: String(rv(a) + 1000) }), 'Timeout');
    });

    it('watches from a resourceVersion: exactly the later events, in order', async () => {
      const a = await store.create(PODS, pod('a'));
      const b = await store.create(PODS, pod('b'));
      await store.create(NODES, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } });
      const ac = new AbortController();
      const events = await store.watch(PODS, { resourceVersion: a.metadata.resourceVersion, signal: ac.signal });
      const a2 = await store.update(PODS, { ...a, spec: { n: 1 } });
      const bGone = await store.delete(PODS, { namespace: 'default', name: 'b' });
      const got = await takeEvents(events, 3);
      ac.abort();
      assert.deepEqual(got.map((e) => e.type), ['ADDED', 'MODIFIED', 'DELETED']);
      assert.deepEqual(got.map((e) => e.object), [b, a2, bGone]);
      const fromNow = await store.watch(PODS, { signal: AbortSignal.timeout(20_000) });
      const c = await store.create(PODS, pod('c'));
      assert.deepEqual(await takeEvents(fromNow, 1), [{ type: 'ADDED', object: c }], 'a watch without resourceVersion starts now');
    });

    it('watches with selectors: objects moving in and out of the selection', async () => {
      const ac = new AbortController();
      const rv0 = await store.currentRevision();
      const events = await store.watch(PODS, {
        resourceVersion: rv0,
        namespace: 'ns1',
        labelSelector: parseLabelSelector('app=web'),
        signal: ac.signal,
      });
      const byName = await store.watch(PODS, { resourceVersion: rv0, fieldSelector: parseFieldSelector('metadata.name=x'), signal: ac.signal });
      const x = await store.create(PODS, pod('x', 'ns1', { app: 'db' }));
      await store.create(PODS, pod('y', 'ns2', { app: 'web' }));
      const x2 = await store.update(PODS, { ...x, metadata: { ...x.metadata, labels: { app: 'web' } } });
      const x3 = await store.update(PODS, { ...x2, spec: { n: 5 } });
      const x4 = await store.update(PODS, { ...x3, metadata: { ...x3.metadata, labels: { app: 'db' } } });
      await store.delete(PODS, { namespace: 'ns1', name: 'x' });
      const got = await takeEvents(events, 3);
      assert.deepEqual(got.map((e) => e.type), ['ADDED', 'MODIFIED', 'DELETED']);
      assert.deepEqual(got[0]!.object, x2);
      assert.deepEqual(got[1]!.object, x3);
      assert.equal(got[2]!.object.metadata.resourceVersion, x4.metadata.resourceVersion, 'leaving the selection is a DELETED at the new revision');
      assert.deepEqual(got[2]!.object.metadata.labels, { app: 'web' }, 'with the last content that matched');
      const named = await takeEvents(byName, 5);
      assert.deepEqual(named.map((e) => e.type), ['ADDED', 'MODIFIED', 'MODIFIED', 'MODIFIED', 'DELETED']);
      ac.abort();
    });

    it('answers Expired for revisions before a compaction, and keeps current state', async () => {
      const old = await store.create(PODS, pod('old'));
      for (let i = 0; i < 5; i++) await store.create(PODS, pod(`p${i}`));
      const page = await store.list(PODS, { limit: 2 });
      const keep = await store.get(PODS, { namespace: 'default', name: 'p0' });
      const live = await store.update(PODS, { ...keep, spec: { n: 1 } });
      await store.delete(PODS, { namespace: 'default', name: 'p1' });
      const compactAt = await store.currentRevision();
      const p2 = await store.get(PODS, { namespace: 'default', name: 'p2' });
      const p2b = await store.update(PODS, { ...p2, spec: { n: 7 } }); // after the compaction revision
      await store.compact(compactAt);
      await store.compact(compactAt); // compacting again is harmless
      const err = await store.watch(PODS, { resourceVersion: old.metadata.resourceVersion }).then(
        async (events) => {
          for await (const _ of events) break;
        },
      ).then(() => undefined, (e: unknown) => e);
      assert.ok(isExpired(err), `a watch from a compacted revision is Expired, got ${String(err)}`);
      assert.ok(isNubisError(err, 'Conflict'));
      assert.ok(isExpired(await store.list(PODS, { limit: 2, continue: page.continue }).catch((e: unknown) => e)), 'an old continue token is Expired');
      assert.ok(isExpired(await store.list(PODS, { resourceVersion: old.metadata.resourceVersion }).catch((e: unknown) => e)));
      const names = (await store.list(PODS)).items.map((o) => o.metadata.name);
      assert.deepEqual(names, ['old', 'p0', 'p2', 'p3', 'p4'], 'compaction keeps every live object');
      assert.deepEqual(await store.get(PODS, { namespace: 'default', name: 'p0' }), live);
      const ac = new AbortController();
      const events = await store.watch(PODS, { resourceVersion: compactAt, signal: ac.signal });
      const p5 = await store.create(PODS, pod('p5'));
      assert.deepEqual(await takeEvents(events, 2), [
        { type: 'MODIFIED', object: p2b },
        { type: 'ADDED', object: p5 },
      ]);
      ac.abort();
      const atCompaction = (await store.list(PODS, { resourceVersion: compactAt })).items;
      assert.deepEqual(atCompaction.map((o) => o.metadata.name), names, 'the compaction revision itself stays readable');
      assert.deepEqual(atCompaction.find((o) => o.metadata.name === 'p2'), p2, 'with the versions current at that revision');
      await rejectsWith(store.compact(String(rv(p5) + 100)), 'Invalid');
    });

    it('stops a watch when its signal aborts, and when the store closes', async () => {
      const ac = new AbortController();
      const events = await store.watch(PODS, { signal: ac.signal });
      const seen: WatchEvent[] = [];
      const done = (async () => {
        for await (const e of events) seen.push(e);
      })();
      await store.create(PODS, pod('a'));
      while (seen.length === 0) await new Promise((r) => setTimeout(r, 5));
      ac.abort();
      await done; // ends normally
      await store.create(PODS, pod('b'));
      assert.equal(seen.length, 1);
      const open = await store.watch(PODS, {});
      const ended = (async () => {
        for await (const _ of open) {
          // none expected
        }
      })();
      await store.close();
      await ended; // a closed store ends its watches
    });

    it('serializes many concurrent writers without losing an update, and a watcher sees each exactly once', async () => {
      const start = await store.currentRevision();
      const ac = new AbortController();
      const events = await store.watch(PODS, { resourceVersion: start, signal: ac.signal });
      await store.create(PODS, pod('counter', 'default', {}, { n: 0 }));
      const writers = 8;
      const increments = 15;
      let conflicts = 0;
      await Promise.all(
        Array.from({ length: writers }, async (_, w) => {
          await store.create(PODS, pod(`w${w}`));
          for (let i = 0; i < increments; i++) {
            for (;;) {
              const cur = await store.get(PODS, { namespace: 'default', name: 'counter' });
              try {
                await store.update(PODS, { ...cur, spec: { n: (cur.spec as { n: number }).n + 1 } });
                break;
              } catch (err) {
                if (!isNubisError(err, 'Conflict')) throw err;
                conflicts++;
              }
            }
          }
        }),
      );
      const final = await store.get(PODS, { namespace: 'default', name: 'counter' });
      assert.equal((final.spec as { n: number }).n, writers * increments, `no lost update (${conflicts} conflicts retried)`);
      const total = 1 + writers + writers * increments;
      const got = await takeEvents(events, total);
      ac.abort();
      const revs = got.map((e) => rv(e.object));
      assert.deepEqual(revs, [...revs].sort((x, y) => x - y), 'events in revision order');
      assert.equal(new Set(revs).size, total, 'no duplicates');
      assert.equal(got.filter((e) => e.type === 'ADDED').length, 1 + writers);
      assert.deepEqual(got.at(-1)!.object, final);
      assert.deepEqual(
        got.filter((e) => e.object.metadata.name === 'counter').map((e) => (e.object.spec as { n: number }).n),
        Array.from({ length: writers * increments + 1 }, (_, i) => i),
        'every counter value once, in order',
      );
    });

    it('hands over from history to live events without gaps or duplicates', async () => {
      const base = await store.currentRevision();
      for (let i = 0; i < 30; i++) await store.create(PODS, pod(`h${i}`));
      const ac = new AbortController();
      const events = await store.watch(PODS, { resourceVersion: base, signal: ac.signal });
      const writes = Promise.all(Array.from({ length: 30 }, (_, i) => store.create(PODS, pod(`l${i}`))));
      const got = await takeEvents(events, 60);
      await writes;
      ac.abort();
      const revs = got.map((e) => rv(e.object));
      for (let i = 1; i < revs.length; i++) assert.ok(revs[i]! > revs[i - 1]!, 'strictly increasing revisions');
      assert.equal(new Set(got.map((e) => e.object.metadata.name)).size, 60);
    });
  });
}
