/** The typed client and discovery against a real API server on loopback (SQLite, random port). */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { KubeObject } from '../../../src/api/meta.js';
import { ApiStatusError, isGone } from '../../../src/client/api-error.js';
import { applyObject, LAST_APPLIED } from '../../../src/client/client-apply.js';
import { connect, type Connected } from '../../../src/client/connect.js';
import { RestClient, type ResourceInfo } from '../../../src/client/rest-client.js';
import type { WatchEvent } from '../../../src/client/watch-stream.js';
import { TestServer } from '../apiserver/harness.js';

let s: TestServer;
let c: Connected;
let cms: ResourceInfo;

before(async () => {
  s = await TestServer.start();
  c = await connect({ flag: s.kubeconfig });
  cms = await c.discovery.resolve('cm');
});
after(async () => {
  c?.client.close();
  await s?.close();
});

const cm = (name: string, data: Record<string, string> = {}, labels: Record<string, string> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, labels },
  data,
});

async function errorOf(p: Promise<unknown>): Promise<ApiStatusError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ApiStatusError, `expected an ApiStatusError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the request to fail');
}

test('discovery resolves plurals, short names, kinds and group-qualified names', async () => {
  const d = c.discovery;
  assert.deepEqual(await d.resolve('po').then((r) => [r.group, r.version, r.resource, r.namespaced]), ['', 'v1', 'pods', true]);
  assert.equal((await d.resolve('deploy')).group, 'apps');
  assert.equal((await d.resolve('deployments.apps')).kind, 'Deployment');
  assert.equal((await d.resolve('Deployment')).resource, 'deployments');
  assert.equal((await d.resolve('deployments.v1.apps')).resource, 'deployments');
  assert.equal((await d.resolve('ns')).namespaced, false);
  assert.equal((await d.forKind('batch/v1', 'Job')).resource, 'jobs');
  await assert.rejects(d.resolve('nosuch'), /the server doesn't have a resource type "nosuch"/);
  await assert.rejects(d.forKind('v1', 'Nope'), /no matches for kind "Nope" in version "v1"/);
});

test('create, get, update, conditional update, patch in three formats, delete with preconditions', async () => {
  const created = await c.client.create(cms, cm('one', { a: '1' }), { namespace: 'default' });
  assert.ok(created.metadata.uid && created.metadata.resourceVersion);
  const got = await c.client.get(cms, 'one', { namespace: 'default' });
  assert.deepEqual(got.data, { a: '1' });
  const updated = await c.client.update(cms, { ...got, data: { a: '2' } });
  assert.notEqual(updated.metadata.resourceVersion, got.metadata.resourceVersion);
  const stale = await errorOf(c.client.update(cms, { ...got, data: { a: '3' } }));
  assert.equal(stale.code, 'Conflict');
  assert.equal(stale.reason, 'Conflict');
  await c.client.patch(cms, 'one', { data: { b: '2' } }, 'merge', { namespace: 'default' });
  await c.client.patch(cms, 'one', { data: { c: '3' } }, 'strategic', { namespace: 'default' });
  await c.client.patch(cms, 'one', [{ op: 'add', path: '/data/d', value: '4' }], 'json', { namespace: 'default' });
  assert.deepEqual((await c.client.get(cms, 'one', { namespace: 'default' })).data, { a: '2', b: '2', c: '3', d: '4' });
  const wrongUid = await errorOf(c.client.delete(cms, 'one', { namespace: 'default', preconditions: { uid: 'not-the-uid' } }));
  assert.equal(wrongUid.code, 'Conflict');
  await c.client.delete(cms, 'one', { namespace: 'default', preconditions: { uid: created.metadata.uid } });
  const gone = await errorOf(c.client.get(cms, 'one', { namespace: 'default' }));
  assert.deepEqual([gone.code, gone.httpStatus, gone.reason], ['NotFound', 404, 'NotFound']);
  assert.equal(gone.message, 'configmaps "one" not found');
});

test('Status errors keep their reason and causes; bad tokens are Unauthorized', async () => {
  await c.client.create(cms, cm('dup'), { namespace: 'default' });
  const dup = await errorOf(c.client.create(cms, cm('dup'), { namespace: 'default' }));
  assert.deepEqual([dup.code, dup.httpStatus, dup.reason], ['AlreadyExists', 409, 'AlreadyExists']);
  const bad = await errorOf(c.client.create(cms, cm('Not_Valid'), { namespace: 'default' }));
  assert.deepEqual([bad.code, bad.httpStatus, bad.reason], ['Invalid', 422, 'Invalid']);
  assert.ok(bad.causes.some((cause) => cause.field === 'metadata.name'), JSON.stringify(bad.causes));
  const stranger = new RestClient({ ...c.client.connection, token: 'wrong' });
  try {
    const denied = await errorOf(stranger.list(cms, { namespace: 'default' }));
    assert.deepEqual([denied.code, denied.httpStatus], ['Unauthorized', 401]);
  } finally {
    stranger.close();
  }
  const down = new RestClient({ server: 'https://127.0.0.1:1', ca: c.client.connection.ca, token: 'x' });
  try {
    await assert.rejects(down.list(cms), (err: Error & { code?: string }) => err.code === 'Unavailable' && /cannot reach the API server/.test(err.message));
  } finally {
    down.close();
  }
});

test('lists page through continue tokens; label and field selectors filter', async () => {
  for (let i = 0; i < 7; i++) await c.client.create(cms, cm(`page-${i}`, {}, { page: i % 2 ? 'odd' : 'even' }), { namespace: 'default' });
  const first = await c.client.list(cms, { namespace: 'default', labelSelector: 'page', limit: 3 });
  assert.equal(first.items.length, 3);
  assert.ok(first.metadata.continue);
  const all = await c.client.listAll(cms, { namespace: 'default', labelSelector: 'page', pageSize: 2 });
  assert.equal(all.items.length, 7);
  assert.equal((await c.client.listAll(cms, { namespace: 'default', labelSelector: 'page=odd' })).items.length, 3);
  const one = await c.client.list(cms, { namespace: 'default', fieldSelector: 'metadata.name=page-4' });
  assert.deepEqual(one.items.map((o) => o.metadata.name), ['page-4']);
  const deleted = await c.client.deleteCollection(cms, { namespace: 'default', labelSelector: 'page=even' });
  assert.equal(deleted.items.length, 4);
  const table = await c.client.table(cms, { namespace: 'default', labelSelector: 'page' });
  assert.deepEqual(table.columnDefinitions.map((d) => d.name), ['Name', 'Data', 'Age']);
  assert.equal(table.rows.length, 3);
});

test('watch streams events from a resourceVersion, ends on abort, and a compacted version is gone', async () => {
  const list = await c.client.list(cms, { namespace: 'default' });
  const ac = new AbortController();
  const events = await c.client.watch(cms, { namespace: 'default', resourceVersion: list.metadata.resourceVersion, signal: ac.signal });
  const seen: string[] = [];
  const reading = (async () => {
    for await (const ev of events as AsyncIterable<WatchEvent>) {
      seen.push(`${ev.type} ${ev.object.metadata.name}`);
      if (seen.length === 3) ac.abort();
    }
  })();
  await c.client.create(cms, cm('w'), { namespace: 'default' });
  await c.client.patch(cms, 'w', { data: { x: 'y' } }, 'merge', { namespace: 'default' });
  await c.client.delete(cms, 'w', { namespace: 'default' });
  await reading;
  assert.deepEqual(seen, ['ADDED w', 'MODIFIED w', 'DELETED w']);
  await s.store.compact(await s.store.currentRevision());
  let gone: unknown;
  try {
    const old = await c.client.watch(cms, { namespace: 'default', resourceVersion: '1', timeoutSeconds: 2 });
    for await (const _ of old) {
      // the 410 may come as the first event instead of the status
    }
  } catch (err) {
    gone = err;
  }
  assert.ok(isGone(gone), `expected 410, got ${String(gone)}`);
});

test('client-side apply creates, patches three-way, says unchanged, and kubectl agrees', async () => {
  const obj = { ...cm('applied', { a: '1', b: '2' }), metadata: { name: 'applied', labels: { app: 'x' } } };
  const first = await applyObject(c.client, c.discovery, obj, { namespace: 'default' });
  assert.equal(first.outcome, 'created');
  assert.match(first.object.metadata.annotations![LAST_APPLIED]!, /^\{"apiVersion":"v1","data":\{"a":"1","b":"2"\},"kind":"ConfigMap","metadata":\{"annotations":\{\},"labels":\{"app":"x"\},"name":"applied","namespace":"default"\}\}\n$/);
  await c.client.patch(cms, 'applied', { data: { other: 'kept' } }, 'merge', { namespace: 'default' });
  const second = await applyObject(c.client, c.discovery, { ...obj, data: { a: '1', c: '3' } }, { namespace: 'default' });
  assert.equal(second.outcome, 'configured');
  assert.deepEqual(second.object.data, { a: '1', c: '3', other: 'kept' });
  assert.equal((await applyObject(c.client, c.discovery, { ...obj, data: { a: '1', c: '3' } }, { namespace: 'default' })).outcome, 'unchanged');
  const yaml = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\n  labels: {app: x}\ndata: {a: "1", c: "3"}\n';
  const { stdout } = await s.kubectl(['apply', '-f', '-'], { input: yaml });
  assert.equal(stdout.trim(), 'configmap/applied unchanged');
});

test('subresources: scale, status, binding and eviction', async () => {
  const deploys = await c.discovery.resolve('deploy');
  await c.client.create(deploys, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'sub', namespace: 'default' },
    spec: { replicas: 1, selector: { matchLabels: { app: 'sub' } }, template: { metadata: { labels: { app: 'sub' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } },
  });
  await c.client.scale(deploys, 'sub', 3, { namespace: 'default' });
  const scale = await c.client.getSubresource<{ kind: string; spec: { replicas: number } }>(deploys, 'sub', 'scale', { namespace: 'default' });
  assert.deepEqual([scale.kind, scale.spec.replicas], ['Scale', 3]);
  const live = await c.client.get(deploys, 'sub', { namespace: 'default' });
  const withStatus = await c.client.updateStatus(deploys, { ...live, status: { observedGeneration: 2, replicas: 3 } });
  assert.equal((withStatus.status as { replicas: number }).replicas, 3);
  const pods = await c.discovery.resolve('pods');
  await c.client.create(pods, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'evictee', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
  await c.client.createSubresource(pods, 'evictee', 'binding', { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'evictee' }, target: { kind: 'Node', name: 'n1' } }, { namespace: 'default' });
  assert.equal(((await c.client.get(pods, 'evictee', { namespace: 'default' })).spec as { nodeName: string }).nodeName, 'n1');
  await c.client.createSubresource(pods, 'evictee', 'eviction', { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'evictee', namespace: 'default' } }, { namespace: 'default' });
  const after = await c.client.get(pods, 'evictee', { namespace: 'default' }).catch((err: Error) => err);
  assert.ok(after instanceof ApiStatusError ? after.code === 'NotFound' : !!(after as KubeObject).metadata.deletionTimestamp, 'the evicted pod is gone or going');
});
