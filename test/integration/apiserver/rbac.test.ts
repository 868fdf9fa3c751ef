/**
 * RBAC through the real kubectl: default deny for a new user, roles granted by bindings (aggregated
 * edit/view), `kubectl auth can-i [--list]` and `auth whoami`, escalation refused, and the bootstrap
 * policy restored at restart.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { eventually, requireKubectl, TestServer } from './harness.js';

let s: TestServer;
let alice: string;

before(async () => {
  requireKubectl();
  s = await TestServer.start();
  alice = await s.addUser('alice', ['dev']);
  await s.kubectl(['create', 'namespace', 'team-a']);
  await s.kubectl(['create', 'namespace', 'team-b']);
});
after(async () => {
  await s?.close();
});

test('a new user may do nothing but ask who it is and what it may do', async () => {
  const who = await s.kubectlAs(alice, ['auth', 'whoami', '-o', 'json']);
  const info = JSON.parse(who.stdout).status.userInfo;
  assert.equal(info.username, 'alice');
  assert.deepEqual(info.groups, ['dev', 'system:authenticated']);
  const get = await s.kubectlAs(alice, ['get', 'pods', '-n', 'team-a'], { allowFail: true });
  assert.notEqual(get.code, 0);
  assert.match(get.stderr, /pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "team-a"/);
  const can = await s.kubectlAs(alice, ['auth', 'can-i', 'create', 'deployments', '-n', 'team-a'], { allowFail: true });
  assert.equal(can.stdout.trim(), 'no');
  const secrets = await s.request('GET', '/api/v1/secrets', { token: alice });
  assert.equal(secrets.status, 403);
});

test('edit in one namespace: writes there, nothing in another, no RBAC writes', async () => {
  await s.kubectl(['create', 'rolebinding', 'alice-edit', '--clusterrole=edit', '--user=alice', '-n', 'team-a']);
  await eventually('the binding to take effect', async () => (await s.kubectlAs(alice, ['auth', 'can-i', 'create', 'deployments', '-n', 'team-a'], { allowFail: true })).stdout.trim() === 'yes');
  await s.kubectlAs(alice, ['create', 'configmap', 'c1', '--from-literal=a=b', '-n', 'team-a']);
  await s.kubectlAs(alice, ['create', 'deployment', 'web', '--image=busybox', '-n', 'team-a']);
  assert.match((await s.kubectlAs(alice, ['get', 'deploy', '-n', 'team-a'])).stdout, /web/);
  for (const args of [['get', 'pods', '-n', 'team-b'], ['create', 'configmap', 'c1', '-n', 'team-b'], ['create', 'rolebinding', 'x', '--clusterrole=view', '--user=bob', '-n', 'team-a'], ['get', 'nodes']]) {
    const r = await s.kubectlAs(alice, args, { allowFail: true });
    assert.notEqual(r.code, 0, args.join(' '));
    assert.match(r.stderr, /forbidden/i, args.join(' '));
  }
  const list = await s.kubectlAs(alice, ['auth', 'can-i', '--list', '-n', 'team-a']);
  assert.match(list.stdout, /deployments\.apps\s+\[\]\s+\[\]\s+\[create delete deletecollection patch update get list watch\]/);
  assert.match(list.stdout, /selfsubjectaccessreviews\.authorization\.k8s\.io/);
  assert.doesNotMatch(list.stdout, /rolebindings/);
  const other = await s.kubectlAs(alice, ['auth', 'can-i', '--list', '-n', 'team-b']);
  assert.doesNotMatch(other.stdout, /deployments/);
});

test('admin of a namespace may bind what it holds, not more; roles it writes are checked the same way', async () => {
  const bob = await s.addUser('bob');
  await s.kubectl(['create', 'rolebinding', 'bob-admin', '--clusterrole=admin', '--user=bob', '-n', 'team-a']);
  await eventually('bob to be admin', async () => (await s.kubectlAs(bob, ['auth', 'can-i', 'create', 'rolebindings', '-n', 'team-a'], { allowFail: true })).stdout.trim() === 'yes');
  await s.kubectlAs(bob, ['create', 'rolebinding', 'carol-view', '--clusterrole=view', '--user=carol', '-n', 'team-a']);
  const escalate = await s.kubectlAs(bob, ['create', 'rolebinding', 'carol-admin', '--clusterrole=cluster-admin', '--user=carol', '-n', 'team-a'], { allowFail: true });
  assert.notEqual(escalate.code, 0);
  assert.match(escalate.stderr, /attempting to grant RBAC permissions not currently held/);
  const role = await s.kubectlAs(bob, ['create', 'role', 'nodes-reader', '--verb=get', '--resource=nodes', '-n', 'team-a'], { allowFail: true });
  assert.notEqual(role.code, 0);
  assert.match(role.stderr, /not currently held/);
  await s.kubectlAs(bob, ['create', 'role', 'pod-reader', '--verb=get,list', '--resource=pods', '-n', 'team-a']);
  const cross = await s.kubectlAs(bob, ['create', 'rolebinding', 'x', '--clusterrole=view', '--user=carol', '-n', 'team-b'], { allowFail: true });
  assert.match(cross.stderr, /forbidden/i);
});

test('SubjectAccessReview answers for another user; aggregation picks up a new labelled role', async () => {
  await s.kubectl(['create', 'clusterrole', 'widgets-view', '--verb=get,list', '--resource=configmaps']);
  await s.kubectl(['label', 'clusterrole', 'widgets-view', 'rbac.authorization.k8s.io/aggregate-to-view=true']);
  await eventually('view to aggregate the new role', async () => {
    const view = JSON.parse((await s.kubectl(['get', 'clusterrole', 'view', '-o', 'json'])).stdout);
    return view.rules.some((r: { resources: string[] }) => r.resources.includes('configmaps'));
  });
  const sar = await s.request('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
    body: JSON.stringify({ apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec: { user: 'alice', groups: ['dev'], resourceAttributes: { verb: 'delete', resource: 'pods', namespace: 'team-a' } } }),
  });
  assert.equal(sar.status, 201);
  assert.equal(sar.json().status.allowed, true);
  assert.match(sar.json().status.reason, /alice-edit/);
  // alice may not ask about others.
  const denied = await s.request('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', { token: alice, body: sar.body });
  assert.equal(denied.status, 403);
  const bad = await s.request('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', { token: alice, body: JSON.stringify({ spec: {} }) });
  assert.equal(bad.status, 422);
});

test('the bootstrap policy is restored at restart; its roles cannot be used by anonymous users', async () => {
  await s.kubectl(['delete', 'clusterrolebinding', 'system:basic-user']);
  await eventually('alice to lose self reviews', async () => (await s.kubectlAs(alice, ['auth', 'can-i', 'get', 'pods'], { allowFail: true })).code !== 0);
  const anon = await s.request('GET', '/apis/rbac.authorization.k8s.io/v1/clusterroles', { token: null });
  assert.equal(anon.status, 403);
  assert.equal((await s.request('GET', '/version', { token: null })).status, 200);
  assert.equal((await s.request('GET', '/apis', { token: null })).status, 403);
});
