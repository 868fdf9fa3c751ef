/**
 * ServiceAccounts through the real kubectl: every namespace has `default` and the CA ConfigMap;
 * `kubectl create token` gives JWTs that authenticate as the account while it (and the pod a token is
 * bound to) exists; RBAC decides what an account may do; an account in a tenant's namespace sees only its
 * tenant; pods get the API access volume unless they opt out; nodes ask for tokens of their own pods
 * only; `default/kubernetes` sits on the first service address, which no other Service gets.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { eventually, requireKubectl, TestServer } from './harness.js';

let s: TestServer;

before(async () => {
  requireKubectl();
  s = await TestServer.start();
  await s.kubectl(['apply', '-f', '-'], {
    input: `
apiVersion: v1
kind: Namespace
metadata: {name: team}
---
apiVersion: nubis.dev/v1
kind: Tenant
metadata: {name: acme}
---
apiVersion: v1
kind: Namespace
metadata: {name: acme-app, labels: {nubis.dev/tenant: acme}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: robot, namespace: team}
automountServiceAccountToken: false
`,
  });
});

after(async () => {
  await s?.close();
});

const token = async (args: string[]) => (await s.kubectl(['create', 'token', ...args])).stdout.trim();
const whoami = (t: string) => s.kubectlAs(t, ['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username} {.status.userInfo.groups}'], { allowFail: true });

test('every namespace, old and new, gets the default ServiceAccount and the cluster CA', async () => {
  for (const ns of ['default', 'kube-system', 'team', 'acme-app']) {
    await eventually(`default SA and CA in ${ns}`, async () => {
      const sa = await s.kubectl(['get', 'sa', 'default', '-n', ns], { allowFail: true });
      const cm = await s.kubectl(['get', 'cm', 'kube-root-ca.crt', '-n', ns, '-o', 'jsonpath={.data.ca\\.crt}'], { allowFail: true });
      return sa.code === 0 && cm.stdout === s.ca;
    });
  }
  const listed = (await s.kubectl(['get', 'serviceaccounts', '-n', 'team'])).stdout;
  assert.match(listed, /^NAME\s+SECRETS\s+AGE/m);
  assert.match(listed, /^robot\s+0\s/m);
});

test('kubectl create token: a JWT that is the account, as long as the account is the same one', async () => {
  await eventually('team/default', async () => (await s.kubectl(['get', 'sa', 'default', '-n', 'team'], { allowFail: true })).code === 0);
  const t = await token(['default', '-n', 'team']);
  assert.equal(t.split('.').length, 3, 'a JWT');
  const claims = JSON.parse(Buffer.from(t.split('.')[1]!, 'base64url').toString());
  assert.equal(claims.sub, 'system:serviceaccount:team:default');
  assert.equal(claims.iss, 'https://kubernetes.default.svc.cluster.local');
  assert.ok(claims.exp - claims.iat >= 3590 && claims.exp - claims.iat <= 3600, `an hour by default: ${claims.exp - claims.iat}`);
  const me = await whoami(t);
  assert.equal(me.code, 0, me.stderr);
  assert.equal(me.stdout, 'system:serviceaccount:team:default ["system:serviceaccounts","system:serviceaccounts:team","system:authenticated"]');

  // Nothing but discovery by default; a RoleBinding gives it its namespace's pods, and nothing elsewhere.
  const denied = await s.kubectlAs(t, ['get', 'pods', '-n', 'team'], { allowFail: true });
  assert.match(denied.stderr, /pods is forbidden: User "system:serviceaccount:team:default" cannot list resource "pods"/);
  await s.kubectl(['create', 'rolebinding', 'robots-view', '-n', 'team', '--clusterrole', 'view', '--serviceaccount', 'team:default']);
  await eventually('the binding to apply', async () => (await s.kubectlAs(t, ['get', 'pods', '-n', 'team'], { allowFail: true })).code === 0);
  assert.notEqual((await s.kubectlAs(t, ['get', 'pods', '-n', 'default'], { allowFail: true })).code, 0);

  // Another audience is not the API's; a too short life is refused as Kubernetes does.
  const vault = await token(['default', '-n', 'team', '--audience', 'vault']);
  assert.match((await whoami(vault)).stderr, /Unauthorized|must be logged in/);
  const short = await s.kubectl(['create', 'token', 'default', '-n', 'team', '--duration', '5m'], { allowFail: true });
  assert.match(short.stderr, /may not specify a duration less than 10 minutes/);
  const missing = await s.kubectl(['create', 'token', 'nobody', '-n', 'team'], { allowFail: true });
  assert.match(missing.stderr, /serviceaccounts "nobody" not found/);

  // The same name made again is another account: the old token is worthless.
  const robot = await token(['robot', '-n', 'team']);
  assert.equal((await whoami(robot)).code, 0);
  await s.kubectl(['delete', 'sa', 'robot', '-n', 'team']);
  await s.kubectl(['create', 'sa', 'robot', '-n', 'team']);
  assert.match((await whoami(robot)).stderr, /Unauthorized|must be logged in/);
});

test('a token bound to a pod dies with the pod', async () => {
  await s.kubectl(['apply', '-f', '-'], {
    input: `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"holder","namespace":"team"},"spec":{"serviceAccountName":"robot","containers":[{"name":"c","image":"busybox"}]}}`,
  });
  const bound = await token(['robot', '-n', 'team', '--bound-object-kind', 'Pod', '--bound-object-name', 'holder']);
  const claims = JSON.parse(Buffer.from(bound.split('.')[1]!, 'base64url').toString());
  assert.equal(claims['kubernetes.io'].pod.name, 'holder');
  const me = await s.kubectlAs(bound, ['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.extra}']);
  assert.match(me.stdout, /"authentication.kubernetes.io\/pod-name":\["holder"\]/);
  const wrong = await s.kubectl(['create', 'token', 'default', '-n', 'team', '--bound-object-kind', 'Pod', '--bound-object-name', 'holder'], { allowFail: true });
  assert.match(wrong.stderr, /runs as "robot"/);
  await s.kubectl(['delete', 'pod', 'holder', '-n', 'team', '--grace-period', '0', '--force']);
  await eventually('the pod to go', async () => (await s.kubectl(['get', 'pod', 'holder', '-n', 'team'], { allowFail: true })).code !== 0);
  assert.match((await whoami(bound)).stderr, /Unauthorized|must be logged in/);
});

test('pods get the API access volume in every container, unless the pod or its account opts out; a missing account is refused', async () => {
  const pod = (name: string, extra: string) =>
    `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"${name}","namespace":"team"},"spec":{${extra}"initContainers":[{"name":"i","image":"busybox"}],"containers":[{"name":"a","image":"busybox"},{"name":"b","image":"busybox"}]}}`;
  await s.kubectl(['apply', '-f', '-'], { input: pod('auto', '') });
  const spec = JSON.parse((await s.kubectl(['get', 'pod', 'auto', '-n', 'team', '-o', 'json'])).stdout).spec;
  assert.equal(spec.serviceAccountName, 'default');
  const vol = spec.volumes.find((v: { name: string }) => v.name.startsWith('kube-api-access-'));
  assert.ok(vol, JSON.stringify(spec.volumes));
  assert.deepEqual(vol.projected.sources.map((x: object) => Object.keys(x)[0]), ['serviceAccountToken', 'configMap', 'downwardAPI']);
  assert.equal(vol.projected.sources[0].serviceAccountToken.path, 'token');
  for (const c of [...spec.initContainers, ...spec.containers]) {
    assert.deepEqual(c.volumeMounts, [{ name: vol.name, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true }], c.name);
  }
  await s.kubectl(['apply', '-f', '-'], { input: pod('optout', '"automountServiceAccountToken":false,') });
  await s.kubectl(['patch', 'sa', 'robot', '-n', 'team', '-p', '{"automountServiceAccountToken":false}']);
  await s.kubectl(['apply', '-f', '-'], { input: pod('robot', '"serviceAccountName":"robot",') });
  for (const name of ['optout', 'robot']) {
    const p = JSON.parse((await s.kubectl(['get', 'pod', name, '-n', 'team', '-o', 'json'])).stdout).spec;
    assert.equal(p.volumes, undefined, `${name}: ${JSON.stringify(p.volumes)}`);
  }
  const none = await s.kubectl(['apply', '-f', '-'], { input: pod('ghost', '"serviceAccountName":"ghost",'), allowFail: true });
  assert.match(none.stderr, /error looking up service account team\/ghost: serviceaccount "ghost" not found/);
  await s.kubectl(['delete', 'pods', '--all', '-n', 'team', '--grace-period', '0', '--force'], { allowFail: true });
});

test('an account in a tenant\'s namespace sees its tenant only: others are absent, not forbidden', async () => {
  await eventually('acme-app/default', async () => (await s.kubectl(['get', 'sa', 'default', '-n', 'acme-app'], { allowFail: true })).code === 0);
  const t = await token(['default', '-n', 'acme-app']);
  const me = await whoami(t);
  assert.match(me.stdout, /"nubis:tenant:acme"/);
  const ns = await s.kubectlAs(t, ['get', 'ns', '-o', 'name']);
  assert.equal(ns.stdout.trim(), 'namespace/acme-app');
  const other = await s.kubectlAs(t, ['get', 'sa', 'default', '-n', 'team'], { allowFail: true });
  assert.match(other.stderr, /namespaces "team" not found/);
  assert.match((await s.kubectlAs(t, ['get', 'pods', '-n', 'team'], { allowFail: true })).stderr, /No resources found/);
  const own = await s.kubectlAs(t, ['get', 'pods', '-n', 'acme-app'], { allowFail: true });
  assert.match(own.stderr, /forbidden/, 'inside its tenant RBAC decides, and grants nothing yet');
});

test('a node asks for tokens of its own pods only', async () => {
  const node = await s.addUser('system:node:n1', ['system:nodes']);
  await s.kubectl(['apply', '-f', '-'], {
    input: ['n1', 'n2'].map((n) => `apiVersion: v1\nkind: Pod\nmetadata: {name: on-${n}, namespace: team}\nspec: {nodeName: ${n}, containers: [{name: c, image: busybox}]}\n`).join('---\n'),
  });
  const ask = async (pod?: string) => {
    const uid = pod ? JSON.parse((await s.kubectl(['get', 'pod', pod, '-n', 'team', '-o', 'json'])).stdout).metadata.uid : undefined;
    const spec = pod ? { boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: pod, uid } } : {};
    return s.request('POST', '/api/v1/namespaces/team/serviceaccounts/default/token', { token: node, body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec }) });
  };
  const mine = await ask('on-n1');
  assert.equal(mine.status, 201, mine.body);
  assert.equal(mine.json().status.token.split('.').length, 3);
  assert.match(mine.json().status.expirationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.equal((await ask('on-n2')).status, 403);
  assert.equal((await ask()).status, 403);
  await s.kubectl(['delete', 'pods', '--all', '-n', 'team', '--grace-period', '0', '--force'], { allowFail: true });
});

test('default/kubernetes holds the first service address; other Services never get it', async () => {
  const svc = JSON.parse((await s.kubectl(['get', 'svc', 'kubernetes', '-n', 'default', '-o', 'json'])).stdout);
  assert.equal(svc.spec.clusterIP, '10.43.0.1');
  assert.deepEqual(svc.spec.ports.map((p: { name: string; port: number }) => [p.name, p.port]), [['https', 443]]);
  await s.kubectl(['create', 'service', 'clusterip', 'first', '-n', 'team', '--tcp', '80:80']);
  const ip = (await s.kubectl(['get', 'svc', 'first', '-n', 'team', '-o', 'jsonpath={.spec.clusterIP}'])).stdout;
  assert.ok(ip !== '10.43.0.1' && ip !== '10.43.0.10', ip);
});

test('review fixes: internal identities have no tokens; an empty account name is written as default; tokens outlive no credential; edit writes no EndpointSlices', async () => {
  await s.kubectl(['create', 'sa', 'generic-garbage-collector', '-n', 'kube-system']);
  const internal = await s.kubectl(['create', 'token', 'generic-garbage-collector', '-n', 'kube-system'], { allowFail: true });
  assert.match(internal.stderr, /API server's own identities/);
  await s.kubectl(['create', 'sa', 'replicaset-controller', '-n', 'kube-system']);
  const controller = await s.kubectl(['create', 'token', 'replicaset-controller', '-n', 'kube-system'], { allowFail: true });
  assert.match(controller.stderr, /API server's own identities/, 'the control plane\'s accounts have no tokens either');

  await s.kubectl(['apply', '-f', '-'], { input: `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"unnamed","namespace":"team"},"spec":{"serviceAccountName":"","containers":[{"name":"c","image":"busybox"}]}}` });
  assert.equal((await s.kubectl(['get', 'pod', 'unnamed', '-n', 'team', '-o', 'jsonpath={.spec.serviceAccountName}'])).stdout, 'default');
  await s.kubectl(['delete', 'pod', 'unnamed', '-n', 'team', '--grace-period', '0', '--force']);

  // An application credential of acme's admin that ends within the hour: the token it asks for ends with it.
  const secret = randomBytes(32).toString('base64url').slice(0, 43);
  const ends = new Date(Date.now() + 3600_000).toISOString().replace(/\.\d+Z$/, 'Z');
  await s.kubectl(['apply', '-f', '-'], {
    input: `apiVersion: nubis.dev/v1
kind: User
metadata: {name: ada}
spec: {tenant: acme, roles: [admin]}
---
apiVersion: nubis.dev/v1
kind: UserToken
metadata: {name: ut-reviewfix001}
spec: {user: ada, secretHash: ${createHash('sha256').update(secret).digest('hex')}, expirationTimestamp: "${ends}"}
`,
  });
  const credential = `nubis-ut-reviewfix001.${secret}`;
  await eventually('the credential to work', async () => (await s.kubectlAs(credential, ['auth', 'whoami'], { allowFail: true })).code === 0);
  const made = await s.kubectlAs(credential, ['create', 'token', 'default', '-n', 'acme-app', '--duration', '48h']);
  const exp = JSON.parse(Buffer.from(made.stdout.trim().split('.')[1]!, 'base64url').toString()).exp * 1000;
  assert.ok(exp <= Date.parse(ends) + 1000, `the token ends at ${new Date(exp).toISOString()}, after its credential (${ends})`);

  const slice = await s.kubectlAs(credential, ['apply', '-f', '-'], {
    allowFail: true,
    input: `{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"meta","namespace":"acme-app","labels":{"kubernetes.io/service-name":"x"}},"addressType":"IPv4","endpoints":[{"addresses":["10.1.2.3"]}]}`,
  });
  assert.match(slice.stderr, /forbidden/i, 'tenant admins write no EndpointSlices');
  const metadata = await s.kubectl(['apply', '-f', '-'], {
    allowFail: true,
    input: `{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"meta","namespace":"team"},"addressType":"IPv4","endpoints":[{"addresses":["169.254.169.254"]}]}`,
  });
  assert.match(metadata.stderr, /endpoints\[0\]\.addresses\[0\]: Invalid value: "169\.254\.169\.254": may not be in the link-local range/);
});
