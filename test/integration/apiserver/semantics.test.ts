/**
 * API semantics on SQLite: authentication, Status errors (401, 404, 409, 413, 422 with causes),
 * generateName, finalizers, cascading deletion (background, foreground, orphan) and namespace deletion.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { eventually, requireKubectl, TestServer } from './harness.js';

let s: TestServer;

before(async () => {
  requireKubectl();
  s = await TestServer.start({ gcIntervalMs: 500, watch: { bookmarkIntervalMs: 200 } });
});
after(async () => {
  await s?.close();
});

const pod = (name: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name, ...extra }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });

test('a wrong token is 401 Status, no token is the anonymous user (403); kubectl reports Unauthorized', async () => {
  const r = await s.request('GET', '/api/v1/namespaces', { token: 'nubis-wrong' });
  assert.equal(r.status, 401);
  assert.deepEqual({ kind: r.json().kind, reason: r.json().reason, code: r.json().code }, { kind: 'Status', reason: 'Unauthorized', code: 401 });
  const anon = await s.request('GET', '/api/v1/namespaces', { token: null });
  assert.equal(anon.status, 403);
  assert.equal(anon.json().message, 'namespaces is forbidden: User "system:anonymous" cannot list resource "namespaces" in API group "" at the cluster scope');
  const { code, stderr } = await s.kubectl(['get', 'ns', '--token', 'nubis-wrong'], { allowFail: true });
  assert.notEqual(code, 0);
  assert.match(stderr, /Unauthorized|must be logged in/);
  assert.equal((await s.request('GET', '/healthz', { token: null })).status, 200);
});

test('unknown kind and unknown name are 404 Status', async () => {
  const kind = await s.request('GET', '/api/v1/namespaces/default/widgets');
  assert.equal(kind.status, 404);
  assert.equal(kind.json().reason, 'NotFound');
  const name = await s.request('GET', '/api/v1/namespaces/default/pods/nope');
  assert.equal(name.status, 404);
  assert.equal(name.json().message, 'pods "nope" not found');
  assert.deepEqual(name.json().details, { name: 'nope', group: '', kind: 'pods' });
  const { stderr } = await s.kubectl(['get', 'widgets'], { allowFail: true });
  assert.match(stderr, /doesn't have a resource type "widgets"/);
});

test('an invalid object is 422 with field causes; kubectl prints them', async () => {
  const r = await s.request('POST', '/api/v1/namespaces/default/pods', {
    body: JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'Bad_Name' }, spec: { containers: [{ name: 'c' }] } }),
  });
  assert.equal(r.status, 422);
  const st = r.json();
  assert.equal(st.reason, 'Invalid');
  assert.equal(st.details.kind, 'Pod');
  const fields = st.details.causes.map((c: { field: string }) => c.field);
  assert.ok(fields.includes('metadata.name'), JSON.stringify(st.details.causes));
  assert.ok(fields.includes('spec.containers[0].image'), JSON.stringify(st.details.causes));
  const { stderr } = await s.kubectl(['create', '-f', '-'], {
    input: 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c}]}\n',
    allowFail: true,
  });
  assert.match(stderr, /is invalid: spec\.containers\[0\]\.image: Required value/);
});

test('unknown fields: Strict is 400, Warn answers with a Warning header', async () => {
  const body = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'strict' }, data: {}, bogus: 1 });
  const strict = await s.request('POST', '/api/v1/namespaces/default/configmaps?fieldValidation=Strict', { body });
  assert.equal(strict.status, 400);
  assert.match(strict.json().message, /unknown field "bogus"/);
  const warn = await s.request('POST', '/api/v1/namespaces/default/configmaps?fieldValidation=Warn', { body });
  assert.equal(warn.status, 201);
  assert.match(String(warn.headers.warning), /unknown field/);
});

test('a stale update is 409 Conflict', async () => {
  const created = (await s.request('POST', '/api/v1/namespaces/default/configmaps', { body: JSON.stringify({ metadata: { name: 'cas' }, data: { v: '1' } }) })).json();
  const first = await s.request('PUT', '/api/v1/namespaces/default/configmaps/cas', { body: JSON.stringify({ ...created, data: { v: '2' } }) });
  assert.equal(first.status, 200);
  const stale = await s.request('PUT', '/api/v1/namespaces/default/configmaps/cas', { body: JSON.stringify({ ...created, data: { v: '3' } }) });
  assert.equal(stale.status, 409);
  assert.equal(stale.json().reason, 'Conflict');
  assert.match(stale.json().message, /the object has been modified/);
});

test('a body over 3 MiB is 413', async () => {
  const big = JSON.stringify({ metadata: { name: 'big' }, data: { x: 'a'.repeat(3 * 1024 * 1024 + 10) } });
  const r = await s.request('POST', '/api/v1/namespaces/default/configmaps', { body: big });
  assert.equal(r.status, 413);
  assert.equal(r.json().reason, 'RequestEntityTooLarge');
  assert.equal((await s.request('GET', '/api/v1/namespaces/default/configmaps/big')).status, 404);
});

test('generateName, creating twice (409 AlreadyExists) and dryRun', async () => {
  const r = await s.request('POST', '/api/v1/namespaces/default/pods', { body: pod('', { name: undefined, generateName: 'gen-' }) });
  assert.equal(r.status, 201);
  assert.match(r.json().metadata.name, /^gen-[a-z0-9]{5}$/);
  const again = await s.request('POST', '/api/v1/namespaces/default/pods', { body: pod(r.json().metadata.name) });
  assert.equal(again.status, 409);
  assert.equal(again.json().reason, 'AlreadyExists');
  const dry = await s.request('POST', '/api/v1/namespaces/default/pods?dryRun=All', { body: pod('dry') });
  assert.equal(dry.status, 201);
  assert.equal((await s.request('GET', '/api/v1/namespaces/default/pods/dry')).status, 404);
});

test('finalizers hold a deleted object until they are removed', async () => {
  await s.request('POST', '/api/v1/namespaces/default/configmaps', { body: JSON.stringify({ metadata: { name: 'fin', finalizers: ['example.com/hold'] } }) });
  const del = await s.request('DELETE', '/api/v1/namespaces/default/configmaps/fin');
  assert.equal(del.status, 200);
  const held = (await s.request('GET', '/api/v1/namespaces/default/configmaps/fin')).json();
  assert.ok(held.metadata.deletionTimestamp);
  const patch = await s.request('PATCH', '/api/v1/namespaces/default/configmaps/fin', {
    body: JSON.stringify({ metadata: { finalizers: null } }),
    headers: { 'Content-Type': 'application/merge-patch+json' },
  });
  assert.equal(patch.status, 200);
  assert.equal((await s.request('GET', '/api/v1/namespaces/default/configmaps/fin')).status, 404);
});

async function replicaSetWithPods(name: string, ns = 'default'): Promise<string> {
  const rs = (
    await s.request('POST', `/apis/apps/v1/namespaces/${ns}/replicasets`, {
      body: JSON.stringify({
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: { name },
        spec: { replicas: 2, selector: { matchLabels: { rs: name } }, template: { metadata: { labels: { rs: name } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } },
      }),
    })
  ).json();
  assert.ok(rs.metadata?.uid, JSON.stringify(rs));
  for (const i of [0, 1]) {
    const owner = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name, uid: rs.metadata.uid, controller: true, blockOwnerDeletion: true };
    const r = await s.request('POST', `/api/v1/namespaces/${ns}/pods`, { body: pod(`${name}-${i}`, { labels: { rs: name }, ownerReferences: [owner] }) });
    assert.equal(r.status, 201, r.body);
  }
  return rs.metadata.uid;
}

const podNames = async (sel: string, ns = 'default') =>
  (await s.request('GET', `/api/v1/namespaces/${ns}/pods?labelSelector=${encodeURIComponent(sel)}`)).json().items.map((p: { metadata: { name: string } }) => p.metadata.name).sort();

test('kubectl delete rs --cascade=background deletes the pods afterwards', async () => {
  await replicaSetWithPods('bg');
  await s.kubectl(['delete', 'rs', 'bg', '--cascade=background']);
  await eventually('pods of bg gone', async () => (await podNames('rs=bg')).length === 0);
});

test('kubectl delete rs --cascade=foreground deletes the pods first', async () => {
  await replicaSetWithPods('fg');
  await s.kubectl(['delete', 'rs', 'fg', '--cascade=foreground', '--wait=false']);
  await eventually('pods of fg gone', async () => (await podNames('rs=fg')).length === 0);
  await eventually('rs fg gone', async () => (await s.request('GET', '/apis/apps/v1/namespaces/default/replicasets/fg')).status === 404);
});

test('kubectl delete rs --cascade=orphan keeps the pods without the ownerReference', async () => {
  await replicaSetWithPods('or');
  await s.kubectl(['delete', 'rs', 'or', '--cascade=orphan']);
  await eventually('rs or gone', async () => (await s.request('GET', '/apis/apps/v1/namespaces/default/replicasets/or')).status === 404);
  await eventually('ownerReferences removed', async () => {
    const pods = (await s.request('GET', '/api/v1/namespaces/default/pods?labelSelector=rs%3Dor')).json().items;
    return pods.length === 2 && pods.every((p: { metadata: { ownerReferences?: unknown[] } }) => !p.metadata.ownerReferences?.length);
  });
  assert.deepEqual(await podNames('rs=or'), ['or-0', 'or-1']);
  const pods = (await s.request('GET', '/api/v1/namespaces/default/pods?labelSelector=rs%3Dor')).json().items;
  for (const p of pods) assert.equal('ownerReferences' in p.metadata, false, `${p.metadata.name} keeps an empty ownerReferences`);
});

test('deleting a namespace empties it, then removes it; new content is refused meanwhile', async () => {
  assert.equal((await s.request('POST', '/api/v1/namespaces', { body: JSON.stringify({ metadata: { name: 'doomed' } }) })).status, 201);
  await replicaSetWithPods('inner', 'doomed');
  await s.request('POST', '/api/v1/namespaces/doomed/configmaps', { body: JSON.stringify({ metadata: { name: 'c1' } }) });
  const del = await s.request('DELETE', '/api/v1/namespaces/doomed');
  assert.equal(del.status, 200);
  assert.equal(del.json().status.phase, 'Terminating');
  await eventually('namespace doomed gone', async () => (await s.request('GET', '/api/v1/namespaces/doomed')).status === 404);
  for (const p of ['/api/v1/namespaces/doomed/pods', '/api/v1/namespaces/doomed/configmaps', '/apis/apps/v1/namespaces/doomed/replicasets']) {
    assert.deepEqual((await s.request('GET', p)).json().items, [], p);
  }
  const refused = await s.request('POST', '/api/v1/namespaces/nowhere/configmaps', { body: JSON.stringify({ metadata: { name: 'x' } }) });
  assert.equal(refused.status, 404);
});

test('binding sets spec.nodeName once; eviction deletes', async () => {
  await s.request('POST', '/api/v1/namespaces/default/pods', { body: pod('bindme') });
  const bind = await s.request('POST', '/api/v1/namespaces/default/pods/bindme/binding', {
    body: JSON.stringify({ apiVersion: 'v1', kind: 'Binding', metadata: { name: 'bindme' }, target: { kind: 'Node', name: 'n1' } }),
  });
  assert.equal(bind.status, 201, bind.body);
  assert.equal((await s.request('GET', '/api/v1/namespaces/default/pods/bindme')).json().spec.nodeName, 'n1');
  const again = await s.request('POST', '/api/v1/namespaces/default/pods/bindme/binding', {
    body: JSON.stringify({ apiVersion: 'v1', kind: 'Binding', metadata: { name: 'bindme' }, target: { kind: 'Node', name: 'n2' } }),
  });
  assert.equal(again.status, 409);
  const log = await s.request('GET', '/api/v1/namespaces/default/pods/bindme/log');
  assert.equal(log.status, 503);
  assert.match(log.json().message, /node "n1" of pod bindme is not registered/);
  await s.request('POST', '/api/v1/namespaces/default/pods', { body: pod('evictme') });
  const ev = await s.request('POST', '/api/v1/namespaces/default/pods/evictme/eviction', {
    body: JSON.stringify({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'evictme' } }),
  });
  assert.equal(ev.status, 201, ev.body);
  assert.equal((await s.request('GET', '/api/v1/namespaces/default/pods/evictme')).status, 404);
});

test('status subresource: the main resource ignores status, status ignores spec', async () => {
  const created = (await s.request('POST', '/api/v1/namespaces/default/pods', { body: pod('st') })).json();
  const withStatus = { ...created, status: { phase: 'Running' } };
  await s.request('PUT', '/api/v1/namespaces/default/pods/st', { body: JSON.stringify(withStatus) });
  assert.equal((await s.request('GET', '/api/v1/namespaces/default/pods/st')).json().status.phase, 'Pending');
  const cur = (await s.request('GET', '/api/v1/namespaces/default/pods/st')).json();
  const r = await s.request('PUT', '/api/v1/namespaces/default/pods/st/status', {
    body: JSON.stringify({ ...cur, spec: { ...cur.spec, activeDeadlineSeconds: 5 }, status: { ...cur.status, phase: 'Running' } }),
  });
  assert.equal(r.status, 200, r.body);
  const after = (await s.request('GET', '/api/v1/namespaces/default/pods/st')).json();
  assert.equal(after.status.phase, 'Running');
  assert.equal(after.spec.activeDeadlineSeconds, undefined);
});

test('a watch from a resourceVersion gets changes, bookmarks on request, and 410 for a compacted one', async () => {
  const list = (await s.request('GET', '/api/v1/namespaces/default/configmaps')).json();
  const p = s.request('GET', `/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${list.metadata.resourceVersion}&timeoutSeconds=2&labelSelector=w%3D1`);
  await s.request('POST', '/api/v1/namespaces/default/configmaps', { body: JSON.stringify({ metadata: { name: 'w1', labels: { w: '1' } } }) });
  await s.request('POST', '/api/v1/namespaces/default/configmaps', { body: JSON.stringify({ metadata: { name: 'w2' } }) });
  const events = (await p).body.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(events.map((e) => `${e.type} ${e.object.metadata.name}`), ['ADDED w1']);
  const bm = await s.request('GET', `/api/v1/namespaces/default/configmaps?watch=1&allowWatchBookmarks=true&timeoutSeconds=1&resourceVersion=${list.metadata.resourceVersion}`);
  const types = bm.body.trim().split('\n').map((l) => JSON.parse(l));
  const bookmark = types.find((e) => e.type === 'BOOKMARK');
  assert.ok(bookmark, bm.body);
  assert.ok(Number(bookmark.object.metadata.resourceVersion) >= Number(list.metadata.resourceVersion));
  await s.store.compact(await s.store.currentRevision());
  const gone = await s.request('GET', '/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=1');
  const firstLine = gone.body.trim().split('\n')[0]!;
  const status = gone.status === 410 ? gone.json() : JSON.parse(firstLine).object;
  assert.equal(status.code, 410);
  assert.equal(status.reason, 'Expired');
});

const CM = '/api/v1/namespaces/default/configmaps';
const cm = (name: string, data: Record<string, string>) => JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data });
const managedOf = (o: { metadata: { managedFields?: Array<Record<string, unknown>> } }) =>
  (o.metadata.managedFields ?? []).map((e) => `${String(e.manager)}/${String(e.operation)}${e.subresource ? `/${String(e.subresource)}` : ''}`);

test('managedFields record each writer (fieldManager parameter, else the User-Agent product) with the fields it set', async () => {
  const created = (await s.request('POST', `${CM}?fieldManager=maker`, { body: cm('mf', { a: '1' }) })).json();
  assert.deepEqual(managedOf(created), ['maker/Update']);
  assert.deepEqual(created.metadata.managedFields[0].fieldsV1, { 'f:data': { 'f:a': {} } });
  const patched = await s.request('PATCH', `${CM}/mf`, {
    body: JSON.stringify({ data: { b: '2' } }),
    headers: { 'Content-Type': 'application/merge-patch+json', 'User-Agent': 'robot/2.0 (linux)' },
  });
  assert.deepEqual(managedOf(patched.json()), ['maker/Update', 'robot/Update']);
  assert.deepEqual(patched.json().metadata.managedFields[1].fieldsV1, { 'f:data': { 'f:b': {} } });
  // Sent managedFields replace the stored ones; [{}] clears them.
  const cleared = await s.request('PATCH', `${CM}/mf`, { body: JSON.stringify({ metadata: { managedFields: [{}] } }), headers: { 'Content-Type': 'application/merge-patch+json' } });
  assert.equal(cleared.json().metadata.managedFields, undefined);
});

test('server-side apply over HTTP: fieldManager required (422), creates (201), conflicts as 409 with causes, force takes over', async () => {
  const apply = (body: string, query: string) =>
    s.request('PATCH', `${CM}/ssa-http${query}`, { body, headers: { 'Content-Type': 'application/apply-patch+yaml' } });
  const doc = (value: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa-http}\ndata: {key: "${value}"}\n`;
  const missing = await apply(doc('1'), '');
  assert.equal(missing.status, 422);
  assert.match(missing.json().message, /fieldManager: Required value: is required for apply patch/);
  const created = await apply(doc('1'), '?fieldManager=alice');
  assert.equal(created.status, 201, created.body);
  assert.deepEqual(managedOf(created.json()), ['alice/Apply']);
  const conflict = await apply(doc('2'), '?fieldManager=bob');
  assert.equal(conflict.status, 409);
  assert.equal(conflict.json().reason, 'Conflict');
  assert.equal(conflict.json().message, 'Apply failed with 1 conflict: conflict with "alice": .data.key');
  assert.deepEqual(conflict.json().details.causes, [{ reason: 'FieldManagerConflict', message: 'conflict with "alice"', field: '.data.key' }]);
  const forced = await apply(doc('2'), '?fieldManager=bob&force=true');
  assert.equal(forced.status, 200, forced.body);
  assert.equal(forced.json().data.key, '2');
  assert.deepEqual(managedOf(forced.json()), ['bob/Apply']);
  const wrongVersion = await apply(doc('3').replace('apiVersion: v1', 'apiVersion: v2'), '?fieldManager=bob');
  assert.equal(wrongVersion.status, 400);
  assert.match(wrongVersion.json().message, /Incorrect version specified in apply patch/);
  const forceOnMerge = await s.request('PATCH', `${CM}/ssa-http?force=true`, { body: '{}', headers: { 'Content-Type': 'application/merge-patch+json' } });
  assert.equal(forceOnMerge.status, 422);
});

test('writes that change nothing keep the resourceVersion and send no watch event (update, patch, apply, status, scale)', async () => {
  const created = (await s.request('POST', `${CM}?fieldManager=t`, { body: cm('noop', { a: '1' }) })).json();
  const rv = created.metadata.resourceVersion;
  const watch = s.request('GET', `${CM}?watch=1&resourceVersion=${rv}&timeoutSeconds=3&fieldSelector=metadata.name%3Dnoop`);
  const expectRv = async (r: Promise<{ status: number; body: string; json(): any }>, what: string) => {
    const a = await r;
    assert.equal(a.status, 200, `${what}: ${a.body}`);
    assert.equal(a.json().metadata.resourceVersion, rv, `${what} wrote`);
  };
  await expectRv(s.request('PUT', `${CM}/noop?fieldManager=t`, { body: JSON.stringify(created) }), 'PUT of the same object');
  await expectRv(s.request('PUT', `${CM}/noop?fieldManager=other`, { body: JSON.stringify({ ...created, metadata: { ...created.metadata, resourceVersion: '' } }) }), 'unconditional PUT');
  const merge = { 'Content-Type': 'application/merge-patch+json' };
  await expectRv(s.request('PATCH', `${CM}/noop`, { body: JSON.stringify({ data: { a: '1' } }), headers: merge }), 'merge patch');
  await expectRv(s.request('PATCH', `${CM}/noop`, { body: JSON.stringify([{ op: 'replace', path: '/data/a', value: '1' }]), headers: { 'Content-Type': 'application/json-patch+json' } }), 'json patch');
  const apply = { 'Content-Type': 'application/apply-patch+yaml' };
  const doc = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: noop}\ndata: {b: "2"}\n';
  const applied = (await s.request('PATCH', `${CM}/noop?fieldManager=applier`, { body: doc, headers: apply })).json();
  assert.notEqual(applied.metadata.resourceVersion, rv, 'the first apply writes');
  const again = (await s.request('PATCH', `${CM}/noop?fieldManager=applier`, { body: doc, headers: apply })).json();
  assert.equal(again.metadata.resourceVersion, applied.metadata.resourceVersion, 'the same apply again is no write (its managedFields time aside)');
  assert.deepEqual(again.metadata.managedFields, applied.metadata.managedFields);
  // A stale resourceVersion is still a conflict, change or not.
  const stale = await s.request('PUT', `${CM}/noop`, { body: JSON.stringify(created) });
  assert.equal(stale.status, 409);
  const events = (await watch).body.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  assert.deepEqual(events.map((e) => `${e.type} ${e.object.metadata.resourceVersion}`), [`MODIFIED ${applied.metadata.resourceVersion}`]);

  // Status and scale subresources.
  const d = (await s.request('POST', '/apis/apps/v1/namespaces/default/deployments', {
    body: JSON.stringify({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'noop' }, spec: { replicas: 2, selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } } }),
  })).json();
  const status = await s.request('PUT', '/apis/apps/v1/namespaces/default/deployments/noop/status', { body: JSON.stringify(d) });
  assert.equal(status.json().metadata.resourceVersion, d.metadata.resourceVersion, 'status update without change');
  const scale = await s.request('PATCH', '/apis/apps/v1/namespaces/default/deployments/noop/scale', { body: JSON.stringify({ spec: { replicas: 2 } }), headers: merge });
  assert.equal(scale.status, 200, scale.body);
  assert.equal(scale.json().metadata.resourceVersion, d.metadata.resourceVersion, 'scale to the same replicas');
});

test('empty labels, annotations, finalizers and ownerReferences are left out, as Kubernetes shows them', async () => {
  const created = await s.request('POST', CM, { body: JSON.stringify({ metadata: { name: 'empties', labels: {}, annotations: {}, finalizers: [], ownerReferences: [] } }) });
  assert.equal(created.status, 201, created.body);
  const meta = created.json().metadata;
  for (const f of ['labels', 'annotations', 'finalizers', 'ownerReferences']) assert.equal(f in meta, false, `${f} kept`);
  const updated = await s.request('PUT', `${CM}/empties`, { body: JSON.stringify({ ...created.json(), metadata: { ...meta, labels: { a: 'b' }, finalizers: [] } }) });
  assert.deepEqual(updated.json().metadata.labels, { a: 'b' });
  assert.equal('finalizers' in updated.json().metadata, false);
});

test('pods on a node delete gracefully (deletionTimestamp and grace period) until a delete with grace 0; others at once', async () => {
  const PODS = '/api/v1/namespaces/default/pods';
  const bind = async (name: string) => {
    assert.equal((await s.request('POST', `${PODS}?fieldManager=t`, { body: pod(name) })).status, 201);
    assert.equal((await s.request('POST', `${PODS}/${name}/binding`, { body: JSON.stringify({ target: { kind: 'Node', name: 'n1' } }) })).status, 201);
  };
  await bind('graceful');
  const first = await s.request('DELETE', `${PODS}/graceful`);
  assert.equal(first.status, 200);
  const marked = (await s.request('GET', `${PODS}/graceful`)).json();
  assert.ok(marked.metadata.deletionTimestamp);
  assert.equal(marked.metadata.deletionGracePeriodSeconds, 30);
  const again = (await s.request('DELETE', `${PODS}/graceful`)).json();
  assert.equal(again.metadata.resourceVersion, marked.metadata.resourceVersion, 'deleting again changes nothing');
  await s.request('DELETE', `${PODS}/graceful?gracePeriodSeconds=5`);
  assert.equal((await s.request('GET', `${PODS}/graceful`)).json().metadata.deletionGracePeriodSeconds, 5, 'a shorter period shortens it');
  // (Node's client sends a DELETE body only with an explicit Content-Length.)
  const options = JSON.stringify({ kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: 0 });
  const final = await s.request('DELETE', `${PODS}/graceful`, { body: options, headers: { 'Content-Length': String(Buffer.byteLength(options)) } });
  assert.equal(final.status, 200, final.body);
  assert.equal((await s.request('GET', `${PODS}/graceful`)).status, 404, 'the agent\'s delete with grace 0 removes it');
  // Not scheduled, or finished: gone at once.
  assert.equal((await s.request('POST', PODS, { body: pod('unbound') })).status, 201);
  await s.request('DELETE', `${PODS}/unbound`);
  assert.equal((await s.request('GET', `${PODS}/unbound`)).status, 404);
  await bind('done');
  const cur = (await s.request('GET', `${PODS}/done`)).json();
  await s.request('PUT', `${PODS}/done/status`, { body: JSON.stringify({ ...cur, status: { ...cur.status, phase: 'Succeeded' } }) });
  await s.request('DELETE', `${PODS}/done`);
  assert.equal((await s.request('GET', `${PODS}/done`)).status, 404);
});

test('a collection delete of a namespaced kind needs a namespace (405 across all namespaces)', async () => {
  await s.request('POST', '/api/v1/namespaces/default/configmaps', { body: JSON.stringify({ metadata: { name: 'survivor' } }) });
  const all = await s.request('DELETE', '/api/v1/configmaps');
  assert.equal(all.status, 405);
  assert.equal(all.json().reason, 'MethodNotAllowed');
  assert.equal((await s.request('GET', '/api/v1/namespaces/default/configmaps/survivor')).status, 200);
});

test('malformed objects are refused before they are stored: wrong types, huge counts, deep nesting (fast)', async () => {
  const post = (p: string, body: string, type = 'application/json') => s.request('POST', p, { body, headers: { 'Content-Type': type } });
  const labels = await post('/api/v1/namespaces/default/configmaps', JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'l', labels: 'app=web' } }));
  assert.equal(labels.status, 422, labels.body);
  assert.match(labels.json().message, /metadata\.labels: Invalid value: "string": metadata\.labels in body must be of type object: "string"/);
  const annotations = await post('/api/v1/namespaces/default/configmaps', JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', annotations: { x: 5 } } }));
  assert.equal(annotations.status, 422, annotations.body);
  const name = await post('/api/v1/namespaces/default/configmaps', JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: { a: 1 } } }));
  assert.equal(name.status, 422, name.body);
  const replicas = await post('/apis/apps/v1/namespaces/default/deployments', JSON.stringify({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'big' },
    spec: { replicas: 1e12, selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } },
  }));
  assert.equal(replicas.status, 422, replicas.body);
  assert.match(replicas.json().message, /spec\.replicas: Invalid value: 1000000000000: must be less than or equal to 2147483647/);
  const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
  const t0 = Date.now();
  const json = await post('/api/v1/namespaces/default/configmaps', `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"d"},"data":{"x":${deep(3000)}}}`);
  assert.equal(json.status, 400);
  assert.match(json.json().message, /nests deeper than 100 levels/);
  const yamlFlow = await post('/api/v1/namespaces/default/configmaps', `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: y}\ndata: {x: ${deep(20000)}}\n`, 'application/yaml');
  assert.equal(yamlFlow.status, 400);
  const block = ['apiVersion: v1', 'kind: ConfigMap', 'metadata:', '  name: z', 'data:'];
  for (let i = 1; i < 400; i++) block.push(`${'  '.repeat(i)}k${i}:`);
  const yamlBlock = await post('/api/v1/namespaces/default/configmaps', `${block.join('\n')}\n`, 'application/yaml');
  assert.equal(yamlBlock.status, 400);
  assert.ok(Date.now() - t0 < 5000, `deep bodies were refused in ${Date.now() - t0} ms`);
  const list = await s.request('GET', '/api/v1/namespaces/default/configmaps');
  assert.deepEqual(list.json().items.filter((c: { metadata: { name: string } }) => ['l', 'a', 'd', 'y', 'z'].includes(c.metadata.name)), [], 'nothing was stored');
});
