/**
 * `nubis get` and `describe` against a real API server, compared with what kubectl 1.32 prints for the
 * same objects: tables (server-side Table rendering), -o wide, -A, --show-labels, several types, json,
 * yaml, name and jsonpath; `get -w` as a real process.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import YAML from 'yaml';
import { eventually, requireKubectl, TestServer } from '../apiserver/harness.js';
import { runNubis, spawnNubis } from './cli-runner.js';

let s: TestServer;
const nubis = (...args: string[]) => runNubis(s.dataDir, args);

before(async () => {
  requireKubectl();
  s = await TestServer.start();
  const manifest = `apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web, tier: front}}
spec:
  containers:
  - {name: c, image: busybox, command: [sleep, "3600"], ports: [{containerPort: 80}]}
---
apiVersion: v1
kind: Pod
metadata: {name: db, namespace: kube-public, labels: {app: db}}
spec:
  containers: [{name: c, image: "redis:7"}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, labels: {app: web}}
data: {a: "1", b: "2"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: front}
spec:
  replicas: 2
  selector: {matchLabels: {app: front}}
  template:
    metadata: {labels: {app: front}}
    spec: {containers: [{name: c, image: "nginx:1.27"}]}
`;
  await s.kubectl(['apply', '-f', '-'], { input: manifest });
});
after(async () => {
  await s?.close();
});

/**
 * Table lines without the AGE cell (the last column unless -o wide), so two runs seconds apart compare.
 * Without headers (--no-headers) every age-like cell (0s, 5m3s, 2d) is blanked instead.
 */
function withoutAge(text: string): string[] {
  const lines = text.trimEnd().split('\n');
  if (lines[0]!.indexOf('AGE') < 0) return lines.map((l) => l.replace(/(?<=\s|^)(\d+[smhdy])+(?=\s|$)/g, '|'));
  // Several kinds print several tables, each under its own header.
  let ageAt = -1;
  return lines.map((l) => {
    if (l.startsWith('NAME')) ageAt = l.indexOf('AGE');
    return ageAt < 0 || l === '' ? l : `${l.slice(0, ageAt)}|${l.slice(ageAt).replace(/^\S+/, '')}`;
  });
}

async function sameAsKubectl(args: string[]): Promise<void> {
  const mine = await nubis(...args);
  const theirs = await s.kubectl(args);
  assert.equal(mine.code, 0, mine.stderr);
  assert.deepEqual(withoutAge(mine.stdout), withoutAge(theirs.stdout), `nubis ${args.join(' ')}\n${mine.stdout}\nkubectl:\n${theirs.stdout}`);
}

test('tables match kubectl: plain, wide, -A, --show-labels, -L, several types, cluster-scoped, selectors', async () => {
  await sameAsKubectl(['get', 'pods']);
  await sameAsKubectl(['get', 'pods', '-o', 'wide']);
  await sameAsKubectl(['get', 'pods', '-A']);
  await sameAsKubectl(['get', 'po', '--show-labels']);
  await sameAsKubectl(['get', 'pods', '-L', 'app,tier']);
  await sameAsKubectl(['get', 'pods,cm']);
  await sameAsKubectl(['get', 'deploy/front', 'pod/web']);
  await sameAsKubectl(['get', 'ns']);
  await sameAsKubectl(['get', 'deployments.apps', '-o', 'wide']);
  await sameAsKubectl(['get', 'pods', '-l', 'app=web', '--no-headers']);
  await sameAsKubectl(['get', 'pods', '-A', '--field-selector', 'metadata.namespace=kube-public']);
  await sameAsKubectl(['get', 'pod', 'db', '-n', 'kube-public']);
});

test('json, yaml, name and jsonpath print what kubectl prints', async () => {
  for (const args of [
    ['get', 'pod', 'web', '-o', 'json'],
    ['get', 'cm', '-o', 'json'],
    ['get', 'pods', '-A', '-o', 'name'],
    ['get', 'deploy', 'front', '-o', 'jsonpath={.spec.template.spec.containers[0].image}'],
    ['get', 'pods', '-A', '-o', 'jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}{"\\n"}{end}'],
    ['get', 'pods', '-o', 'jsonpath={.items[?(@.metadata.labels.tier=="front")].metadata.name}'],
  ]) {
    const mine = await nubis(...args);
    assert.equal(mine.code, 0, mine.stderr);
    assert.equal(mine.stdout, (await s.kubectl(args)).stdout, args.join(' '));
  }
  const yamlArgs = ['get', 'deploy', 'front', '-o', 'yaml'];
  const mine = await nubis(...yamlArgs);
  assert.deepEqual(YAML.parse(mine.stdout), YAML.parse((await s.kubectl(yamlArgs)).stdout));
  assert.match(mine.stdout, /^ {6}containers:\n {6}- image: nginx:1\.27$/m, 'lists are not indented under their key');
});

test('missing objects and unknown types fail with one-line messages; empty lists say so', async () => {
  const missing = await nubis('get', 'pod', 'nope');
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, 'nubis: pods "nope" not found\n');
  const unknown = await nubis('get', 'nosuch');
  assert.equal(unknown.code, 125);
  assert.equal(unknown.stderr, 'nubis: the server doesn\'t have a resource type "nosuch"\n');
  const empty = await nubis('get', 'pods', '-l', 'app=none');
  assert.equal(empty.code, 0);
  assert.equal(empty.stdout, '');
  assert.equal(empty.stderr, 'No resources found in default namespace.\n');
  const badOutput = await nubis('get', 'pods', '-o', 'table');
  assert.match(badOutput.stderr, /unable to match a printer suitable for the output format "table"/);
});

test('describe shows sections, containers, conditions and the object\'s events', async () => {
  const pod = JSON.parse((await s.kubectl(['get', 'pod', 'web', '-o', 'json'])).stdout);
  const event = {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: 'web.1', namespace: 'default' },
    involvedObject: { apiVersion: 'v1', kind: 'Pod', name: 'web', namespace: 'default', uid: pod.metadata.uid },
    reason: 'Scheduled',
    message: 'Successfully assigned default/web to node-1',
    type: 'Normal',
    source: { component: 'default-scheduler' },
    firstTimestamp: new Date().toISOString(),
    lastTimestamp: new Date().toISOString(),
    count: 1,
  };
  const r = await s.request('POST', '/api/v1/namespaces/default/events', { body: JSON.stringify(event) });
  assert.equal(r.status, 201, r.body);
  const { stdout, code } = await nubis('describe', 'pod', 'web');
  assert.equal(code, 0);
  assert.match(stdout, /^Name:\s+web$/m);
  assert.match(stdout, /^Namespace:\s+default$/m);
  assert.match(stdout, /^Labels:\s+app=web\n\s+tier=front$/m);
  assert.match(stdout, /^Status:\s+Pending$/m);
  assert.match(stdout, /^Containers:\n  c:\n    Image:\s+busybox\n    Port:\s+80\/TCP\n    Command:\s+sleep\n\s+3600$/m);
  assert.match(stdout, /^Events:\n  Type\s+Reason\s+Age\s+From\s+Message\n  ----\s+------\s+---\s+----\s+-------\n  Normal\s+Scheduled\s+\S+\s+default-scheduler\s+Successfully assigned default\/web to node-1$/m);
  const deploy = await nubis('describe', 'deploy', 'front');
  assert.match(deploy.stdout, /^Replicas:\s+2 desired \| 0 updated \| 0 total \| 0 available \| 0 unavailable$/m);
  assert.match(deploy.stdout, /^Pod Template:\n  Labels:\s+app=front\n  Containers:\n {4}c:\n {6}Image:\s+nginx:1\.27$/m);
  assert.match(deploy.stdout, /^Events:\s+<none>$/m);
  const cm = await nubis('describe', 'cm', 'sett');
  assert.match(cm.stdout, /^Name:\s+settings$/m, 'a name prefix describes the matching objects');
  assert.match(cm.stdout, /^Data:\n====\na:\n----\n1$/m);
});

test('get -w prints the table, then each change as a row, until interrupted', async () => {
  let seen = '';
  const child = spawnNubis(s.dataDir, ['get', 'cm', '-w'], (text) => (seen = text));
  try {
    await eventually('the initial table', async () => /^settings\s+2\s+\S+$/m.test(seen), 30_000);
    await s.request('POST', '/api/v1/namespaces/default/configmaps', { body: JSON.stringify({ metadata: { name: 'watched' }, data: { k: 'v' } }) });
    await eventually('a row for the new config map', async () => /^watched\s+1\s+\S+$/m.test(seen), 30_000);
  } finally {
    child.kill('SIGINT');
  }
  const r = await child.done;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^NAME\s+DATA\s+AGE$/m);
  assert.equal(r.stdout.match(/^NAME/gm)?.length, 1, 'one header');
});
