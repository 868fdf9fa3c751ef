/**
 * RuntimeClass (node.k8s.io/v1) through the real kubectl: the classes every cluster starts with, apply
 * and validation, and RuntimeClass admission of pods (a missing class refused, the class's overhead and
 * scheduling put into the pod, the overhead counted by quotas). Tenants read classes and name them in
 * their pods, but never write them. A second server on the same store makes missing default classes
 * and leaves changed ones alone.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { eventually, requireKubectl, TestServer } from './harness.js';

let s: TestServer;
let tenantToken: string;

async function works(args: string[], input?: string, token?: string): Promise<string> {
  const r = token ? await s.kubectlAs(token, args, { input, allowFail: true }) : await s.kubectl(args, { input, allowFail: true });
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function fails(args: string[], pattern: RegExp, input?: string, token?: string): Promise<void> {
  const r = token ? await s.kubectlAs(token, args, { input, allowFail: true }) : await s.kubectl(args, { input, allowFail: true });
  assert.notEqual(r.code, 0, `kubectl ${args.join(' ')} should fail`);
  assert.match(r.stderr, pattern, `kubectl ${args.join(' ')}`);
}

const podYaml = (name: string, runtimeClassName?: string, extra = '') => `
apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  ${runtimeClassName ? `runtimeClassName: ${runtimeClassName}` : ''}
  containers: [{name: c, image: busybox, resources: {requests: {cpu: 100m}, limits: {cpu: 200m, memory: 64Mi}}}]
${extra}`;

const getJson = async (args: string[], token?: string) => JSON.parse(await works([...args, '-o', 'json'], undefined, token));

before(async () => {
  requireKubectl();
  s = await TestServer.start();
  const secret = randomBytes(32).toString('base64url').slice(0, 43);
  const id = 'ut-rcacmeadmin0';
  await works(['apply', '-f', '-'], `
apiVersion: nubis.dev/v1
kind: Tenant
metadata: {name: acme}
---
apiVersion: v1
kind: Namespace
metadata: {name: acme-web, labels: {nubis.dev/tenant: acme}}
---
apiVersion: nubis.dev/v1
kind: User
metadata: {name: bob}
spec: {tenant: acme, roles: [admin]}
---
apiVersion: nubis.dev/v1
kind: UserToken
metadata: {name: ${id}}
spec: {user: bob, secretHash: ${createHash('sha256').update(secret).digest('hex')}}
`);
  tenantToken = `nubis-${id}.${secret}`;
  await eventually('the tenant token to work', async () => (await s.request('GET', '/version', { token: tenantToken })).status === 200);
});

after(async () => {
  await s?.close();
});

test('every cluster starts with runc and nubis-microvm; kubectl shows their handlers', async () => {
  const table = (await works(['get', 'runtimeclass'])).trim().split('\n');
  assert.match(table[0]!, /^NAME\s+HANDLER\s+AGE$/);
  assert.match(table[1]!, /^nubis-microvm\s+nubis-microvm\s+\d+s$/);
  assert.match(table[2]!, /^runc\s+runc\s+\d+s$/);
  assert.equal(table.length, 3);
  const vm = await getJson(['get', 'runtimeclass', 'nubis-microvm']);
  assert.deepEqual(vm.overhead, { podFixed: { cpu: '50m', memory: '160Mi' } });
  assert.equal((await getJson(['get', 'runtimeclass', 'runc'])).overhead, undefined);
  assert.match(await works(['api-resources', '--api-group=node.k8s.io']), /runtimeclasses\s+node\.k8s\.io\/v1\s+false\s+RuntimeClass/);
});

test('kubectl apply makes a RuntimeClass; its handler is checked and never changes', async () => {
  const rc = (handler: string) => `
apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata: {name: sandboxed}
handler: ${handler}
overhead: {podFixed: {memory: 0.5Gi}}
scheduling:
  nodeSelector: {sandbox.example.com/ready: "true"}
  tolerations: [{key: sandbox, operator: Exists, effect: NoSchedule}]
`;
  assert.match(await works(['apply', '-f', '-'], rc('gvisor')), /runtimeclass\.node\.k8s\.io\/sandboxed created/);
  const stored = await getJson(['get', 'runtimeclass', 'sandboxed']);
  assert.equal(stored.handler, 'gvisor');
  assert.deepEqual(stored.overhead, { podFixed: { memory: '512Mi' } });
  assert.match(await works(['get', 'runtimeclass', 'sandboxed']), /\nsandboxed\s+gvisor\s+\d+s\n/);
  await fails(['apply', '-f', '-'], /handler: Invalid value: "runsc": field is immutable/, rc('runsc'));
  await fails(['apply', '-f', '-'], /RuntimeClass "bad" is invalid: handler: Invalid value: "Not_A_Label": a lowercase RFC 1123 label/, rc('Not_A_Label').replace('sandboxed', 'bad'));
  await fails(['apply', '-f', '-'], /handler: Required value/, 'apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {name: nohandler}\n');
});

test('a pod naming a RuntimeClass that does not exist is refused with 403', async () => {
  await works(['create', 'namespace', 'rc-pods']);
  await fails(['apply', '-n', 'rc-pods', '-f', '-'], /Error from server \(Forbidden\).*pods "lost" is forbidden: pod rejected: RuntimeClass "missing" not found/, podYaml('lost', 'missing'));
  const raw = await s.request('POST', '/api/v1/namespaces/rc-pods/pods', { body: JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'lost' }, spec: { runtimeClassName: 'missing', containers: [{ name: 'c', image: 'busybox' }] } }) });
  assert.equal(raw.status, 403);
  assert.equal(raw.json().reason, 'Forbidden');
  assert.equal(raw.json().message, 'pods "lost" is forbidden: pod rejected: RuntimeClass "missing" not found');
});

test("a pod of a class gets the class's overhead and scheduling; a conflicting one is refused", async () => {
  await works(['apply', '-n', 'rc-pods', '-f', '-'], podYaml('secure', 'nubis-microvm'));
  const secure = await getJson(['get', 'pod', 'secure', '-n', 'rc-pods']);
  assert.deepEqual(secure.spec.overhead, { cpu: '50m', memory: '160Mi' });
  await works(['apply', '-n', 'rc-pods', '-f', '-'], podYaml('plain'));
  assert.equal((await getJson(['get', 'pod', 'plain', '-n', 'rc-pods'])).spec.overhead, undefined);

  await works(['apply', '-n', 'rc-pods', '-f', '-'], podYaml('sandboxed', 'sandboxed', '  nodeSelector: {disk: ssd}'));
  const sandboxed = (await getJson(['get', 'pod', 'sandboxed', '-n', 'rc-pods'])).spec;
  assert.deepEqual(sandboxed.nodeSelector, { disk: 'ssd', 'sandbox.example.com/ready': 'true' });
  assert.deepEqual(sandboxed.tolerations.filter((t: { key: string }) => t.key === 'sandbox'), [{ key: 'sandbox', operator: 'Exists', effect: 'NoSchedule' }]);
  assert.deepEqual(sandboxed.overhead, { memory: '512Mi' });
  await fails(
    ['apply', '-n', 'rc-pods', '-f', '-'],
    /pods "picky" is forbidden: conflict: runtimeClass\.scheduling\.nodeSelector\[sandbox\.example\.com\/ready\] = true; pod\.spec\.nodeSelector\[sandbox\.example\.com\/ready\] = false/,
    podYaml('picky', 'sandboxed', '  nodeSelector: {sandbox.example.com/ready: "false"}'),
  );
  await fails(['apply', '-n', 'rc-pods', '-f', '-'], /pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead/, podYaml('greedy', 'nubis-microvm', '  overhead: {cpu: "1"}'));
});

test("quotas count the class's overhead in requests and in the limits a pod sets", async () => {
  await works(['create', 'namespace', 'rc-quota']);
  await works(['create', 'quota', 'q', '-n', 'rc-quota', '--hard=requests.cpu=1,limits.cpu=1,requests.memory=1Gi,limits.memory=1Gi']);
  await works(['apply', '-f', '-'], 'apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {name: heavy}\nhandler: nubis-microvm\noverhead: {podFixed: {cpu: 250m, memory: 160Mi}}\n');
  // Each pod: 100m CPU and 64Mi memory requested (memory defaulted from its limit), 200m and 64Mi limits.
  await works(['apply', '-n', 'rc-quota', '-f', '-'], podYaml('vm1', 'heavy'));
  await eventually('the quota to count vm1', async () => (await getJson(['get', 'quota', 'q', '-n', 'rc-quota'])).status?.used?.['requests.cpu'] === '350m');
  assert.deepEqual((await getJson(['get', 'quota', 'q', '-n', 'rc-quota'])).status.used, { 'limits.cpu': '450m', 'limits.memory': '224Mi', 'requests.cpu': '350m', 'requests.memory': '224Mi' });
  await works(['apply', '-n', 'rc-quota', '-f', '-'], podYaml('vm2', 'heavy'));
  // Without the overhead a third pod (100m) would fit under requests.cpu=1; with it (350m) it does not.
  await fails(['apply', '-n', 'rc-quota', '-f', '-'], /exceeded quota: q, requested: limits\.cpu=450m,requests\.cpu=350m, used: limits\.cpu=900m,requests\.cpu=700m, limited: limits\.cpu=1,requests\.cpu=1/, podYaml('vm3', 'heavy'));
});

test('a tenant reads RuntimeClasses and names them in its pods, but cannot write them', async () => {
  assert.match(await works(['get', 'runtimeclass'], undefined, tenantToken), /\nnubis-microvm\s+nubis-microvm\s+/);
  assert.equal((await getJson(['get', 'runtimeclass', 'runc'], tenantToken)).handler, 'runc');
  await fails(['apply', '-f', '-'], /runtimeclasses\.node\.k8s\.io is forbidden: User "nubis:acme:bob" cannot create resource "runtimeclasses" in API group "node\.k8s\.io" at the cluster scope/,
    'apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata: {name: tenant-rc}\nhandler: runc\n', tenantToken);
  await fails(['delete', 'runtimeclass', 'runc'], /forbidden/, undefined, tenantToken);
  await fails(['patch', 'runtimeclass', 'nubis-microvm', '--type=merge', '-p', '{"overhead":null}'], /forbidden/, undefined, tenantToken);
  await works(['apply', '-n', 'acme-web', '-f', '-'], podYaml('tenant-vm', 'nubis-microvm'), tenantToken);
  assert.deepEqual((await getJson(['get', 'pod', 'tenant-vm', '-n', 'acme-web'], tenantToken)).spec.overhead, { cpu: '50m', memory: '160Mi' });
  // The classes are as they were.
  assert.deepEqual((await getJson(['get', 'runtimeclass', 'nubis-microvm'])).overhead, { podFixed: { cpu: '50m', memory: '160Mi' } });
  await fails(['get', 'runtimeclass', 'tenant-rc'], /NotFound/);
});

test('a starting server makes the default classes that are missing and keeps the ones an administrator changed', async () => {
  await works(['delete', 'runtimeclass', 'runc']);
  await works(['patch', 'runtimeclass', 'nubis-microvm', '--type=merge', '-p', '{"overhead":{"podFixed":{"cpu":"500m","memory":"256Mi"}}}']);
  const second = await TestServer.start({ store: s.store });
  try {
    const get = async (name: string) => JSON.parse((await second.kubectl(['get', 'runtimeclass', name, '-o', 'json'])).stdout);
    assert.equal((await get('runc')).handler, 'runc');
    assert.deepEqual((await get('nubis-microvm')).overhead, { podFixed: { cpu: '500m', memory: '256Mi' } });
  } finally {
    await second.close();
  }
});
