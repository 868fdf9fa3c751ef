/**
 * ResourceQuota and LimitRange through the real kubectl: quotas refuse what would go over them with
 * Kubernetes' messages, status.used follows creates (admission's charges) and deletes (the quota
 * controller), `kubectl get/describe` show them as Kubernetes does; LimitRanges default containers and
 * refuse what is out of range; concurrent creates on two API servers sharing one etcd never overrun a
 * quota.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { ResourceQuota } from '../../../src/api/core/v1/resource-quota.js';
import type { Pod } from '../../../src/api/core/v1/pod-types.js';
import type { RestClient } from '../../../src/client/rest-client.js';
import { startControllers, type RunningControllers } from '../../../src/controllers/index.js';
import { NAMESPACES, PODS, RESOURCEQUOTAS } from '../../../src/controllers/resources.js';
import { EtcdStore } from '../../../src/store/etcd/etcd-store.js';
import { EtcdCluster } from '../store/etcd-cluster.js';
import { clientFor, controlPlaneFor, controlPlaneRefusals } from '../controllers/harness.js';
import type { ControlPlaneClients } from '../../../src/cmd/control-plane-credentials.js';
import { runNubis } from '../client/cli-runner.js';
import { eventually, requireKubectl, TestServer } from './harness.js';

let s: TestServer;
let client: RestClient;
let controllers: RunningControllers;
let identities: ControlPlaneClients;
const abort = new AbortController();

before(async () => {
  requireKubectl();
  s = await TestServer.start();
  client = await clientFor(s);
  identities = await controlPlaneFor(s, abort.signal);
  controllers = startControllers(identities.controllerManager, { enabled: ['resourcequota'], resourceQuota: { resyncMs: 1000, settleMs: 300 }, recorder: { event: () => undefined }, clientFor: identities.controller }, abort.signal);
  await controllers.informers.waitForSync();
});

after(async () => {
  abort.abort();
  await controllers?.done;
  identities?.close();
  client?.close();
  const refused = s ? controlPlaneRefusals(s.dataDir) : [];
  await s?.close();
  assert.deepEqual(refused, [], 'RBAC refused the quota controller nothing');
});

const kubectl = (args: string[], input?: string) => s.kubectl(args, { input, allowFail: true });

async function works(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, input);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function fails(args: string[], message: string, input?: string): Promise<void> {
  const r = await kubectl(args, input);
  assert.notEqual(r.code, 0, `kubectl ${args.join(' ')} should fail`);
  assert.equal(r.stderr.trim(), message);
}

const podJson = (name: string, resources: { requests?: Record<string, string>; limits?: Record<string, string> } = {}, spec: Record<string, unknown> = {}) =>
  JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'c', image: 'busybox', resources }], ...spec } });

/** `-n <name>` of a new namespace. */
async function namespace(name: string): Promise<string[]> {
  await works(['create', 'namespace', name]);
  return ['-n', name];
}

async function quotaStatus(ns: string, name: string): Promise<ResourceQuota['status']> {
  return (JSON.parse(await works(['get', 'quota', name, '-n', ns, '-o', 'json'])) as ResourceQuota).status;
}

test('a quota refuses pods over it with Kubernetes\' messages; status.used follows creates and deletes; get and describe show it', async () => {
  const ns = await namespace('rq-compute');
  await works(['create', 'quota', 'compute', ...ns, '--hard=pods=2,requests.cpu=1,limits.memory=1Gi']);
  // The controller fills the status of a new quota.
  await eventually('the quota status', async () => (await quotaStatus('rq-compute', 'compute'))?.used?.pods === '0');
  assert.equal(
    await works(['describe', 'quota', 'compute', ...ns]),
    'Name:          compute\nNamespace:     rq-compute\nResource       Used  Hard\n--------       ----  ----\nlimits.memory  0     1Gi\npods           0     2\nrequests.cpu   0     1\n',
  );

  await fails(['run', 'bare', '--image=busybox', ...ns], 'Error from server (Forbidden): pods "bare" is forbidden: failed quota: compute: must specify limits.memory for: bare; requests.cpu for: bare');
  await works(['create', ...ns, '-f', '-'], podJson('p1', { requests: { cpu: '600m' }, limits: { memory: '512Mi' } }));
  // Admission charged the quota: used is up to date at once.
  assert.deepEqual(await quotaStatus('rq-compute', 'compute'), { hard: { 'limits.memory': '1Gi', pods: '2', 'requests.cpu': '1' }, used: { 'limits.memory': '512Mi', pods: '1', 'requests.cpu': '600m' } });
  await fails(['create', ...ns, '-f', '-'], 'Error from server (Forbidden): error when creating "STDIN": pods "p2" is forbidden: exceeded quota: compute, requested: requests.cpu=600m, used: requests.cpu=600m, limited: requests.cpu=1', podJson('p2', { requests: { cpu: '600m' }, limits: { memory: '256Mi' } }));
  await works(['create', ...ns, '-f', '-'], podJson('p2', { requests: { cpu: '400m' }, limits: { memory: '256Mi' } }));
  await fails(['create', ...ns, '-f', '-'], 'Error from server (Forbidden): error when creating "STDIN": pods "p3" is forbidden: exceeded quota: compute, requested: pods=1, used: pods=2, limited: pods=2', podJson('p3', { requests: { cpu: '0' }, limits: { memory: '0' } }));

  const table = (await works(['get', 'quota', ...ns])).split('\n');
  assert.match(table[0]!, /^NAME\s+AGE\s+REQUEST\s+LIMIT$/);
  assert.match(table[1]!, /^compute\s+\d+s\s+pods: 2\/2, requests\.cpu: 1\/1\s+limits\.memory: 768Mi\/1Gi$/);
  assert.equal(
    await works(['describe', 'quota', 'compute', ...ns]),
    'Name:          compute\nNamespace:     rq-compute\nResource       Used   Hard\n--------       ----   ----\nlimits.memory  768Mi  1Gi\npods           2      2\nrequests.cpu   1      1\n',
  );
  const mine = await runNubis(s.dataDir, ['describe', 'quota', 'compute', ...ns]);
  assert.equal(mine.code, 0, mine.stderr);
  assert.match(mine.stdout, /\nResource +Used +Hard\n-{8} +-{4} +-{4}\nlimits\.memory +768Mi +1Gi\npods +2 +2\nrequests\.cpu +1 +1\n/);

  // A deleted pod gives its share back (the controller recounts), and the next create fits.
  await works(['delete', 'pod', 'p1', ...ns]);
  await eventually('the quota to give p1 back', async () => (await quotaStatus('rq-compute', 'compute'))?.used?.['requests.cpu'] === '400m');
  assert.deepEqual((await quotaStatus('rq-compute', 'compute'))?.used, { 'limits.memory': '256Mi', pods: '1', 'requests.cpu': '400m' });
  await works(['create', ...ns, '-f', '-'], podJson('p3', { requests: { cpu: '600m' }, limits: { memory: '512Mi' } }));
});

test('object counts, Services, and scoped quotas count only what they select; scopes a quota cannot honour are refused', async () => {
  const ns = await namespace('rq-scopes');
  await works(['apply', ...ns, '-f', '-'], `
apiVersion: v1
kind: ResourceQuota
metadata: {name: objects}
spec: {hard: {count/configmaps: "2", services.nodeports: "1"}}
---
apiVersion: v1
kind: ResourceQuota
metadata: {name: best-effort}
spec: {hard: {pods: "1"}, scopes: [BestEffort]}
---
apiVersion: v1
kind: ResourceQuota
metadata: {name: high}
spec:
  hard: {pods: "1"}
  scopeSelector: {matchExpressions: [{scopeName: PriorityClass, operator: In, values: [high]}]}
`);
  // kube-root-ca.crt counts when there is one; fill the quota with ours.
  const existing = JSON.parse(await works(['get', 'configmaps', ...ns, '-o', 'json'])).items.length as number;
  for (let i = existing; i < 2; i++) await works(['create', 'configmap', `c${i}`, ...ns]);
  await fails(['create', 'configmap', 'c9', ...ns], 'error: failed to create configmap: configmaps "c9" is forbidden: exceeded quota: objects, requested: count/configmaps=1, used: count/configmaps=2, limited: count/configmaps=2');
  await works(['create', 'service', 'nodeport', 'np', '--tcp=80:80', ...ns]);
  await fails(['create', 'service', 'nodeport', 'np2', '--tcp=80:80', ...ns], 'error: failed to create NodePort service: services "np2" is forbidden: exceeded quota: objects, requested: services.nodeports=1, used: services.nodeports=1, limited: services.nodeports=1');

  await works(['run', 'be1', '--image=busybox', ...ns]);
  await fails(['run', 'be2', '--image=busybox', ...ns], 'Error from server (Forbidden): pods "be2" is forbidden: exceeded quota: best-effort, requested: pods=1, used: pods=1, limited: pods=1');
  // A pod that claims to have ended already is a new, pending pod: it counts.
  const ended = JSON.stringify({ ...JSON.parse(podJson('be3')), status: { phase: 'Succeeded' } });
  await fails(['create', ...ns, '-f', '-'], 'Error from server (Forbidden): error when creating "STDIN": pods "be3" is forbidden: exceeded quota: best-effort, requested: pods=1, used: pods=1, limited: pods=1', ended);
  await works(['create', ...ns, '-f', '-'], podJson('burstable', { requests: { cpu: '100m' } }));
  await works(['create', ...ns, '-f', '-'], podJson('h1', { requests: { cpu: '100m' } }, { priorityClassName: 'high' }));
  await fails(['create', ...ns, '-f', '-'], 'Error from server (Forbidden): error when creating "STDIN": pods "h2" is forbidden: exceeded quota: high, requested: pods=1, used: pods=1, limited: pods=1', podJson('h2', { requests: { cpu: '100m' } }, { priorityClassName: 'high' }));

  await fails(['create', 'quota', 'bad', ...ns, '--hard=requests.cpu=1', '--scopes=BestEffort'], 'error: failed to create quota: ResourceQuota "bad" is invalid: spec.scopes: Invalid value: ["BestEffort"]: unsupported scope applied to resource');
  await fails(['create', 'quota', 'bad', ...ns, '--hard=persistentvolumeclaims=1', '--scopes=VolumeAttributesClass'], 'error: failed to create quota: ResourceQuota "bad" is invalid: spec.scopes: Invalid value: ["VolumeAttributesClass"]: unsupported scope');
});

test('a LimitRange gives containers its defaults, refuses what is out of range, and shows in describe', async () => {
  const ns = await namespace('rq-limits');
  await works(['apply', ...ns, '-f', '-'], `
apiVersion: v1
kind: LimitRange
metadata: {name: limits}
spec:
  limits:
  - type: Container
    max: {cpu: "1", memory: 1Gi}
    min: {memory: 64Mi}
    default: {cpu: 500m, memory: 256Mi}
    defaultRequest: {cpu: 100m, memory: 128Mi}
---
apiVersion: v1
kind: ResourceQuota
metadata: {name: compute}
spec: {hard: {requests.cpu: "1"}}
`);
  // The defaults also satisfy the quota's "must specify requests.cpu".
  await works(['run', 'defaulted', '--image=busybox', ...ns]);
  const pod = JSON.parse(await works(['get', 'pod', 'defaulted', ...ns, '-o', 'json'])) as Pod;
  assert.deepEqual(pod.spec.containers[0]!.resources, { limits: { cpu: '500m', memory: '256Mi' }, requests: { cpu: '100m', memory: '128Mi' } });
  assert.equal(pod.metadata.annotations?.['kubernetes.io/limit-ranger'], 'LimitRanger plugin set: cpu, memory request for container defaulted; cpu, memory limit for container defaulted');
  assert.equal(pod.status?.qosClass, 'Burstable');
  assert.equal((await quotaStatus('rq-limits', 'compute'))?.used?.['requests.cpu'], '100m');

  await fails(['create', ...ns, '-f', '-'], 'Error from server (Forbidden): error when creating "STDIN": pods "big" is forbidden: maximum cpu usage per Container is 1, but limit is 2', podJson('big', { limits: { cpu: '2' } }));
  await fails(['create', ...ns, '-f', '-'], 'Error from server (Forbidden): error when creating "STDIN": pods "small" is forbidden: minimum memory usage per Container is 64Mi, but request is 32Mi', podJson('small', { requests: { memory: '32Mi' }, limits: { memory: '32Mi' } }));
  // The default limit comes from max and the default request from it (Kubernetes' defaulting), so all three are below min.
  const invalid = [
    'The LimitRange "bad" is invalid: ',
    '* spec.limits[0].min[cpu]: Invalid value: "2": min value 2 is greater than max value 1',
    '* spec.limits[0].defaultRequest[cpu]: Invalid value: "1": min value 2 is greater than default request value 1',
    '* spec.limits[0].default[cpu]: Invalid value: "2": min value 2 is greater than default value 1',
  ];
  await fails(['create', ...ns, '-f', '-'], invalid.join('\n'), JSON.stringify({ apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'bad' }, spec: { limits: [{ type: 'Container', min: { cpu: '2' }, max: { cpu: '1' } }] } }));

  assert.match(await works(['get', 'limits', ...ns]), /^NAME\s+CREATED AT\nlimits\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n$/);
  // kubectl prints a range's resources in map order: compare the lines as a set.
  const described = (await works(['describe', 'limits', 'limits', ...ns])).trimEnd().split('\n');
  assert.deepEqual(described.slice(0, 4), [
    'Name:       limits',
    'Namespace:  rq-limits',
    'Type        Resource  Min   Max  Default Request  Default Limit  Max Limit/Request Ratio',
    '----        --------  ---   ---  ---------------  -------------  -----------------------',
  ]);
  assert.deepEqual(described.slice(4).sort(), ['Container   cpu       -     1    100m             500m           -', 'Container   memory    64Mi  1Gi  128Mi            256Mi          -']);
  const mine = await runNubis(s.dataDir, ['describe', 'limitrange', 'limits', ...ns]);
  assert.match(mine.stdout, /\nType +Resource +Min +Max +Default Request +Default Limit +Max Limit\/Request Ratio\n.*\nContainer +cpu +- +1 +100m +500m +-\nContainer +memory +64Mi +1Gi +128Mi +256Mi +-\n/);
});

test('ten concurrent pod creates against pods: 3, on two API servers sharing one etcd: exactly three succeed', async () => {
  // Two servers on one etcd: each server's turn-taking cannot help, only the conditional status write can.
  const cluster = await EtcdCluster.start(1);
  const prefix = `/nubis-quota-race-${process.pid}/`;
  const stores = [0, 1].map(() => new EtcdStore({ endpoints: cluster.endpoints, prefix }));
  const servers: TestServer[] = [];
  const clients: RestClient[] = [];
  try {
    for (const store of stores) servers.push(await TestServer.start({ store }));
    for (const server of servers) clients.push(await clientFor(server));
    await servers[0]!.kubectl(['create', 'namespace', 'rq-race']);
    await servers[0]!.kubectl(['create', 'quota', 'race', '-n', 'rq-race', '--hard=pods=3']);
    // Open connections to both servers first, so the creates arrive together rather than one handshake apart.
    await Promise.all(clients.flatMap((c) => Array.from({ length: 5 }, () => c.get(NAMESPACES, 'rq-race'))));
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => clients[i % 2]!.create(PODS, { ...(JSON.parse(podJson(`p${i}`)) as Pod), metadata: { name: `p${i}`, namespace: 'rq-race' } })),
    );
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as Error);
    assert.equal(results.length - refused.length, 3, refused.map((e) => e.message).join('\n'));
    for (const e of refused) assert.equal(e.message.replace(/"p\d"/, '"p"'), 'pods "p" is forbidden: exceeded quota: race, requested: pods=1, used: pods=3, limited: pods=3');
    assert.equal((await clients[1]!.list(PODS, { namespace: 'rq-race' })).items.length, 3);
    assert.equal((await clients[1]!.get<ResourceQuota>(RESOURCEQUOTAS, 'race', { namespace: 'rq-race' })).status?.used?.pods, '3');
  } finally {
    for (const c of clients) c.close();
    for (const server of servers) await server.close();
    for (const store of stores) await store.close();
    await cluster.stop();
  }
});
