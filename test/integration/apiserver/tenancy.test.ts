/**
 * Tenancy through the real kubectl and the nubis CLI: two tenants, users with the three roles, logins
 * and application credentials. A tenant user sees and changes only its tenant's things; another
 * tenant's are absent (404 or empty lists), never Forbidden; pods and Services stay within what the
 * Tenant allows.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { eventually, requireKubectl, TestServer } from './harness.js';

const NUBIS = path.resolve(import.meta.dirname, '../../../src/cmd/nubis.ts');
let s: TestServer;
let home: string;
const tokens: Record<string, string> = {};

async function nubis(args: string[], input?: string): Promise<{ stdout: string; stderr: string }> {
  const child = promisify(execFile)(process.execPath, ['--import', 'tsx', NUBIS, ...args], { timeout: 60_000, env: { ...process.env, HOME: home, KUBECONFIG: '' } });
  if (input !== undefined) child.child.stdin!.end(input);
  return child;
}

async function login(user: string, password: string): Promise<{ status: number; token?: string; body: string }> {
  const r = await s.request('POST', '/apis/nubis.dev/v1/logins', { token: null, body: JSON.stringify({ apiVersion: 'nubis.dev/v1', kind: 'Login', spec: { username: user, password } }) });
  return { status: r.status, token: r.status === 201 ? r.json().status.token : undefined, body: r.body };
}

const as = (user: string, args: string[], opts: { input?: string } = {}) => s.kubectlAs(tokens[user]!, args, { ...opts, allowFail: true });

async function fails(user: string, args: string[], pattern: RegExp, input?: string): Promise<void> {
  const r = await as(user, args, { input });
  assert.notEqual(r.code, 0, `${user}: kubectl ${args.join(' ')} should fail`);
  assert.match(r.stderr, pattern, `${user}: kubectl ${args.join(' ')}`);
}

async function works(user: string, args: string[], input?: string): Promise<string> {
  const r = await as(user, args, { input });
  assert.equal(r.code, 0, `${user}: kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

before(async () => {
  requireKubectl();
  s = await TestServer.start();
  home = await mkdtemp(path.join(os.tmpdir(), 'nubis-tenancy-home-'));
  await s.kubectl(['apply', '-f', '-'], {
    input: `
apiVersion: nubis.dev/v1
kind: Tenant
metadata: {name: acme}
---
apiVersion: nubis.dev/v1
kind: Tenant
metadata: {name: globex}
spec: {allow: {nodePorts: true}}
---
apiVersion: v1
kind: Namespace
metadata: {name: globex-app, labels: {nubis.dev/tenant: globex}}
---
apiVersion: v1
kind: Namespace
metadata: {name: shared}
`,
  });
  const users: Array<[string, string, string]> = [['alice', 'acme', 'admin'], ['bob', 'acme', 'member'], ['carol', 'acme', 'reader'], ['gina', 'globex', 'admin']];
  for (const [name, tenant, role] of users) {
    await s.kubectl(['create', '-f', '-'], { input: JSON.stringify({ apiVersion: 'nubis.dev/v1', kind: 'User', metadata: { name }, spec: { tenant, roles: [role] } }) });
    const set = await s.request('PUT', `/apis/nubis.dev/v1/users/${name}/password`, { body: JSON.stringify({ password: `${name}-secret-pw` }) });
    assert.equal(set.status, 200, set.body);
    const l = await login(name, `${name}-secret-pw`);
    assert.equal(l.status, 201, l.body);
    tokens[name] = l.token!;
  }
  await s.kubectl(['run', 'g1', '--image=busybox', '-n', 'globex-app']);
});
after(async () => {
  await s?.close();
  if (home) await rm(home, { recursive: true, force: true });
});

test('logins: a wrong password or unknown user is 401 alike; nubis login writes a kubeconfig that works', async () => {
  for (const [u, p] of [['alice', 'wrong-password'], ['nobody', 'whatever-pw']]) {
    const l = await login(u!, p!);
    assert.equal(l.status, 401);
    assert.match(l.body, /invalid user name or password/);
  }
  const kubeconfig = path.join(home, 'alice.kubeconfig');
  const out = await nubis(['login', '-u', 'alice', '--password-stdin', '--server', `https://127.0.0.1:${s.server.port}`, '--ca-file', path.join(s.dataDir, 'apiserver', 'pki', 'ca.crt'), '--kubeconfig', kubeconfig], 'alice-secret-pw\n');
  assert.match(out.stdout, /logged in as alice \(tenant acme\)/);
  const who = await s.kubectl(['--kubeconfig', kubeconfig, 'auth', 'whoami', '-o', 'jsonpath={.status.userInfo.groups}'], {});
  assert.match(who.stdout, /nubis:tenant:acme:admin/);
  // Tenant users act under names of their own: a binding meant for a certificate user "alice" is not hers.
  const name = await s.kubectl(['--kubeconfig', kubeconfig, 'auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'], {});
  assert.equal(name.stdout, 'nubis:acme:alice');
  // The password is kept apart: no reader of the User sees it or its hash.
  const user = (await s.kubectl(['get', 'user', 'alice', '-o', 'json'])).stdout;
  assert.doesNotMatch(user, /secret-pw|hash|salt/i);
  assert.equal((await readFile(kubeconfig, 'utf8')).includes('alice-secret-pw'), false);
});

test('a tenant admin makes its namespaces; other tenants\' namespaces and objects are absent, not forbidden', async () => {
  await works('alice', ['create', 'namespace', 'acme-web']);
  const labels = await s.kubectl(['get', 'ns', 'acme-web', '-o', 'jsonpath={.metadata.labels.nubis\\.dev/tenant}']);
  assert.equal(labels.stdout, 'acme');
  await eventually('alice to see only acme namespaces', async () => (await works('alice', ['get', 'ns', '-o', 'name'])).trim() === 'namespace/acme-web');
  await fails('alice', ['get', 'ns', 'globex-app'], /NotFound.*namespaces "globex-app" not found/);
  await fails('alice', ['get', 'ns', 'shared'], /not found/);
  // kubectl asks for the namespace after a 404 and reports it missing, as for a namespace that does not exist.
  await fails('alice', ['get', 'pod', 'g1', '-n', 'globex-app'], /not found/);
  assert.equal((await s.request('GET', '/api/v1/namespaces/globex-app/pods/g1', { token: tokens.alice })).json().message, 'pods "g1" not found');
  assert.match((await as('alice', ['get', 'pods', '-n', 'globex-app'])).stderr, /No resources found/);
  await fails('alice', ['create', 'configmap', 'x', '-n', 'globex-app'], /namespaces "globex-app" not found/);
  await fails('alice', ['delete', 'ns', 'globex-app'], /not found/);
  await fails('alice', ['logs', 'g1', '-n', 'globex-app'], /not found/);
  await fails('alice', ['exec', 'g1', '-n', 'globex-app', '--', 'true'], /not found/);
  await fails('alice', ['port-forward', 'g1', '-n', 'globex-app', '18080:80'], /not found/);
  const proxy = await s.request('GET', '/api/v1/namespaces/globex-app/pods/g1/proxy/', { token: tokens.alice });
  assert.equal(proxy.status, 404);
  await fails('alice', ['label', 'ns', 'acme-web', 'nubis.dev/tenant=globex', '--overwrite'], /label is set by the cluster/);
  // gina sees her own and nothing of acme.
  assert.equal((await works('gina', ['get', 'ns', '-o', 'name'])).trim(), 'namespace/globex-app');
  await fails('gina', ['get', 'ns', 'acme-web'], /not found/);
});

test('roles: admin ⊃ member ⊃ reader inside the tenant; nobody reaches cluster-scoped kinds', async () => {
  await eventually('bob to write in acme-web', async () => (await as('bob', ['create', 'configmap', 'b1', '--from-literal=a=1', '-n', 'acme-web'])).code === 0);
  await works('bob', ['create', 'deployment', 'web', '--image=busybox', '-n', 'acme-web']);
  await works('bob', ['get', 'secrets', '-n', 'acme-web']);
  await fails('bob', ['create', 'rolebinding', 'x', '--clusterrole=view', '--user=eve', '-n', 'acme-web'], /forbidden/i);
  await fails('bob', ['create', 'namespace', 'acme-other'], /forbidden/i);
  await works('carol', ['get', 'deploy,cm', '-n', 'acme-web']);
  await fails('carol', ['create', 'configmap', 'c1', '-n', 'acme-web'], /forbidden/i);
  await fails('carol', ['get', 'secrets', '-n', 'acme-web'], /forbidden/i);
  await fails('carol', ['get', 'secrets', '-A'], /forbidden/i);
  await works('alice', ['create', 'rolebinding', 'eve-view', '--clusterrole=view', '--user=eve', '-n', 'acme-web']);
  for (const u of ['alice', 'bob', 'carol']) {
    await fails(u, ['get', 'nodes'], /forbidden/i);
    await fails(u, ['get', 'clusterroles'], /forbidden/i);
    await fails(u, ['create', 'clusterrolebinding', 'x', '--clusterrole=cluster-admin', `--user=${u}`], /forbidden/i);
  }
  // Across all namespaces, a tenant user lists its tenant's only.
  const all = await works('alice', ['get', 'deploy,cm', '-A', '-o', 'jsonpath={range .items[*]}{.metadata.namespace}{"\\n"}{end}']);
  assert.deepEqual([...new Set(all.trim().split('\n'))], ['acme-web']);
  // A ClusterRoleBinding for a (certificate) user named alice does not reach tenant user alice…
  await s.kubectl(['create', 'clusterrolebinding', 'cert-alice', '--clusterrole=view', '--user=alice']);
  await new Promise((r) => setTimeout(r, 300));
  await fails('alice', ['get', 'nodes'], /forbidden/i);
  // …while a binding to her own name does.
  await works('alice', ['create', 'rolebinding', 'alice-by-name', '--clusterrole=view', '--user=nubis:acme:alice', '-n', 'acme-web']);
  const list = await works('alice', ['auth', 'can-i', '--list', '-n', 'acme-web']);
  assert.match(list, /rolebindings\.rbac\.authorization\.k8s\.io/);
});

test('watches show a tenant its own objects only', async () => {
  const watch = await s.request('GET', '/api/v1/namespaces?watch=1&timeoutSeconds=1', { token: tokens.alice });
  const names = watch.body.trim().split('\n').map((l) => JSON.parse(l).object.metadata.name);
  assert.deepEqual(names, ['acme-web']);
  const pods = await s.request('GET', '/api/v1/pods?watch=1&timeoutSeconds=1', { token: tokens.gina });
  assert.deepEqual(pods.body.trim().split('\n').map((l) => JSON.parse(l).object.metadata.name), ['g1']);
});

test('users and tokens: a tenant admin manages its users only; application credentials hold a subset of roles and can be revoked', async () => {
  assert.deepEqual((await works('alice', ['get', 'users', '-o', 'name'])).trim().split('\n').sort(), ['user.nubis.dev/alice', 'user.nubis.dev/bob', 'user.nubis.dev/carol']);
  await fails('alice', ['get', 'user', 'gina'], /not found/);
  await fails('alice', ['get', 'tenant', 'globex'], /not found/);
  assert.equal((await works('alice', ['get', 'tenants', '-o', 'name'])).trim(), 'tenant.nubis.dev/acme');
  await works('alice', ['create', '-f', '-'], JSON.stringify({ apiVersion: 'nubis.dev/v1', kind: 'User', metadata: { name: 'dave' }, spec: { roles: ['reader'] } }));
  assert.equal((await s.kubectl(['get', 'user', 'dave', '-o', 'jsonpath={.spec.tenant}'])).stdout, 'acme');
  await fails('alice', ['create', '-f', '-'], /only manage users of their tenant/, JSON.stringify({ apiVersion: 'nubis.dev/v1', kind: 'User', metadata: { name: 'gus' }, spec: { tenant: 'globex' } }));
  await fails('bob', ['delete', 'user', 'carol'], /forbidden/i);
  await fails('alice', ['delete', 'tenant', 'acme'], /forbidden/i);

  const kubeconfig = path.join(home, 'alice-nubis.kubeconfig');
  await nubis(['login', '-u', 'alice', '--password-stdin', '--server', `https://127.0.0.1:${s.server.port}`, '--ca-file', path.join(s.dataDir, 'apiserver', 'pki', 'ca.crt'), '--kubeconfig', kubeconfig], 'alice-secret-pw');
  const appCred = (await nubis(['token', 'create', '--role', 'reader', '--kubeconfig', kubeconfig])).stdout.trim();
  assert.match(appCred, /^nubis-ut-[a-z0-9]{12}\.[A-Za-z0-9_-]{43}$/);
  tokens.app = appCred;
  await works('app', ['get', 'cm', '-n', 'acme-web']);
  await fails('app', ['create', 'configmap', 'x', '-n', 'acme-web'], /forbidden/i);
  const carolToken = await s.request('POST', '/apis/nubis.dev/v1/usertokens', {
    token: tokens.carol,
    body: JSON.stringify({ apiVersion: 'nubis.dev/v1', kind: 'UserToken', metadata: { name: 'ut-carolcarol01' }, spec: { user: 'carol', secretHash: 'a'.repeat(64), roles: ['admin'] } }),
  });
  assert.equal(carolToken.status, 403);
  assert.match(carolToken.json().message, /roles its user lacks: admin/);
  const name = /^nubis-(ut-[a-z0-9]{12})\./.exec(appCred)![1]!;
  await works('alice', ['delete', 'usertoken', name]);
  await eventually('the revoked token to stop working', async () => (await s.request('GET', '/api/v1/namespaces/acme-web/configmaps', { token: appCred })).status === 401);
  // Deleting a user removes its tokens (garbage collector) and its logins stop.
  await s.kubectl(['delete', 'user', 'carol']);
  await eventually('carol\'s token to stop working', async () => (await s.request('GET', '/version', { token: tokens.carol })).status === 401);
  assert.equal((await login('carol', 'carol-secret-pw')).status, 401);
});

test('pods and Services of a tenant use only what the Tenant allows, whoever creates them', async () => {
  const pod = (name: string, extra: Record<string, unknown>) => JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'c', image: 'busybox' }], ...extra } });
  await fails('alice', ['create', '-n', 'acme-web', '-f', '-'], /does not allow hostNetwork/, pod('hn0', { hostNetwork: true }));
  for (const [name, extra, what] of [
    ['hn', { hostNetwork: true }, 'hostNetwork'],
    ['hp', { volumes: [{ name: 'h', hostPath: { path: '/' } }] }, 'hostPath'],
    ['pv', { containers: [{ name: 'c', image: 'busybox', securityContext: { privileged: true } }] }, 'privileged'],
    ['hport', { containers: [{ name: 'c', image: 'busybox', ports: [{ containerPort: 80, hostPort: 8080 }] }] }, 'hostPorts'],
  ] as const) {
    const r = await s.request('POST', '/api/v1/namespaces/acme-web/pods', { body: pod(name, extra) }); // as cluster admin: the tenant's rules hold still
    assert.equal(r.status, 403, `${what}: ${r.body}`);
    assert.match(r.json().message, new RegExp(`does not allow ${what}`));
  }
  await fails('alice', ['create', 'service', 'nodeport', 'np', '--tcp=80:80', '-n', 'acme-web'], /does not allow NodePorts/);
  await s.kubectl(['create', 'service', 'nodeport', 'np', '--tcp=80:80', '-n', 'globex-app']);
  await s.kubectl(['patch', 'tenant', 'acme', '--type=merge', '-p', '{"spec":{"runtimeClassName":"nubis-microvm"}}']);
  await eventually('the runtime class to be set on new pods', async () => {
    const r = await s.request('POST', '/api/v1/namespaces/acme-web/pods', { body: pod(`rc${Date.now()}`, {}) });
    return r.status === 201 && r.json().spec.runtimeClassName === 'nubis-microvm';
  });
  const other = await s.request('POST', '/api/v1/namespaces/acme-web/pods', { body: pod('rc-other', { runtimeClassName: 'runc' }) });
  assert.equal(other.status, 403);
  assert.match(other.json().message, /runs every pod under RuntimeClass "nubis-microvm"/);
});

test('no way around: finalizers, application credentials, continue tokens, local reviews, reused user names', async () => {
  // A namespace's finalizers change only through /finalize: its content cannot outlive it.
  await works('alice', ['create', 'namespace', 'acme-tmp']);
  await works('alice', ['patch', 'namespace', 'acme-tmp', '--type=merge', '-p', '{"spec":{"finalizers":[]}}']);
  assert.equal((await s.kubectl(['get', 'ns', 'acme-tmp', '-o', 'jsonpath={.spec.finalizers}'])).stdout, '["kubernetes"]');

  // An application credential cannot buy back roles: a token it makes holds its roles and expiry, and
  // it may not set its user's password.
  const login = await login_('alice', 'alice-secret-pw');
  const reader = await s.request('POST', '/apis/nubis.dev/v1/usertokens', {
    token: login,
    body: JSON.stringify({ apiVersion: 'nubis.dev/v1', kind: 'UserToken', metadata: { name: 'ut-readerreader' }, spec: { user: 'alice', secretHash: 'b'.repeat(64), roles: ['reader'] } }),
  });
  assert.equal(reader.status, 201, reader.body);
  assert.ok(reader.json().spec.expirationTimestamp, 'a token made with a login token expires with it');
  const kubeconfig = path.join(home, 'alice-app.kubeconfig');
  await nubis(['login', '-u', 'alice', '--password-stdin', '--server', `https://127.0.0.1:${s.server.port}`, '--ca-file', path.join(s.dataDir, 'apiserver', 'pki', 'ca.crt'), '--kubeconfig', kubeconfig], 'alice-secret-pw');
  const app = (await nubis(['token', 'create', '--role', 'reader', '--kubeconfig', kubeconfig])).stdout.trim();
  const minted = await s.request('POST', '/apis/nubis.dev/v1/usertokens', {
    token: app,
    body: JSON.stringify({ apiVersion: 'nubis.dev/v1', kind: 'UserToken', metadata: { name: 'ut-mintedminted' }, spec: { user: 'alice', secretHash: 'c'.repeat(64) } }),
  });
  assert.equal(minted.status, 201, minted.body);
  assert.deepEqual(minted.json().spec.roles, ['reader']);
  const passwd = await s.request('PUT', '/apis/nubis.dev/v1/users/alice/password', { token: app, body: JSON.stringify({ password: 'taken-over-pw' }) });
  assert.equal(passwd.status, 403);

  // Scoped lists are never paged: a continue token would name the last key read, maybe another tenant's.
  for (const p of ['/api/v1/namespaces/globex-app/configmaps?limit=1', '/api/v1/namespaces?limit=1', '/apis/nubis.dev/v1/users?limit=1', '/api/v1/pods?limit=1']) {
    const r = await s.request('GET', p, { token: tokens.alice });
    assert.equal(r.status, 200, p);
    assert.equal(r.json().metadata.continue, undefined, p);
    assert.doesNotMatch(r.body, /globex/, p);
  }
  const lsar = await s.request('POST', '/apis/authorization.k8s.io/v1/namespaces/acme-web/localsubjectaccessreviews', {
    token: tokens.alice,
    body: JSON.stringify({ apiVersion: 'authorization.k8s.io/v1', kind: 'LocalSubjectAccessReview', spec: { groups: ['nubis:tenant:globex'], resourceAttributes: { resource: 'namespaces', name: 'globex-app', verb: 'get' } } }),
  });
  assert.equal(lsar.status, 400);

  // A token dies with its user: a new user of the same name does not inherit it.
  await works('alice', ['create', '-f', '-'], JSON.stringify({ apiVersion: 'nubis.dev/v1', kind: 'User', metadata: { name: 'temp' }, spec: { roles: ['admin'] } }));
  assert.equal((await s.request('PUT', '/apis/nubis.dev/v1/users/temp/password', { token: tokens.alice, body: JSON.stringify({ password: 'temp-secret-pw' }) })).status, 200);
  const old = await login_('temp', 'temp-secret-pw');
  await works('alice', ['delete', 'user', 'temp']);
  await works('alice', ['create', '-f', '-'], JSON.stringify({ apiVersion: 'nubis.dev/v1', kind: 'User', metadata: { name: 'temp' }, spec: { roles: ['admin'] } }));
  assert.equal((await s.request('GET', '/version', { token: old })).status, 401);
});

async function login_(user: string, password: string): Promise<string> {
  const l = await login(user, password);
  assert.equal(l.status, 201, l.body);
  return l.token!;
}

test('a tenant quota holds across all its namespaces; unknown quota names are refused', async () => {
  const bad = await s.kubectl(['patch', 'tenant', 'globex', '--type=merge', '-p', '{"spec":{"quota":{"gpus":"2"}}}'], { allowFail: true });
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /spec\.quota\[gpus\]: Unsupported value/);
  await s.kubectl(['patch', 'tenant', 'globex', '--type=merge', '-p', '{"spec":{"quota":{"pods":"3","requests.cpu":"1","namespaces":"2","services.nodeports":"1"}}}']);
  await works('gina', ['create', 'namespace', 'globex-two']);
  await fails('gina', ['create', 'namespace', 'globex-three'], /exceeded quota: tenant globex, requested: namespaces=1, used: namespaces=2, limited: namespaces=2/);
  const pod = (name: string, cpu: string) => JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'c', image: 'busybox', resources: { requests: { cpu } } }] } });
  await fails('gina', ['create', '-n', 'globex-two', '-f', '-'], /failed quota: tenant globex: must specify requests.cpu for: c/, JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'q0' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } }));
  // g1 (no requests) runs in globex-app already: two more pods fit, in either namespace.
  await works('gina', ['create', '-n', 'globex-two', '-f', '-'], pod('q1', '500m'));
  await fails('gina', ['create', '-n', 'globex-app', '-f', '-'], /exceeded quota: tenant globex, requested: requests.cpu=600m, used: requests.cpu=500m, limited: requests.cpu=1\s*$/, pod('q2', '600m'));
  await works('gina', ['create', '-n', 'globex-app', '-f', '-'], pod('q2', '500m'));
  await fails('gina', ['create', '-n', 'globex-two', '-f', '-'], /exceeded quota: tenant globex, requested: pods=1, used: pods=3, limited: pods=3/, pod('q3', '0'));
  // The NodePort Service made earlier holds the one NodePort allowed; another (or turning one into NodePort) is refused.
  await works('gina', ['create', 'service', 'clusterip', 'cip', '--tcp=80:80', '-n', 'globex-two']);
  await fails('gina', ['patch', 'service', 'cip', '-n', 'globex-two', '--type=merge', '-p', '{"spec":{"type":"NodePort"}}'], /exceeded quota: tenant globex, requested: services.nodeports=1/);
});
