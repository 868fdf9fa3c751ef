/** The real kubectl 1.32 against a Nubis API server on SQLite: the everyday commands work unmodified. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { eventually, requireKubectl, TestServer } from './harness.js';

let s: TestServer;

before(async () => {
  requireKubectl();
  s = await TestServer.start();
});
after(async () => {
  await s?.close();
});

const POD = `apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web}
spec:
  containers:
  - name: c
    image: busybox
    command: [sleep, "3600"]
`;

test('kubectl get ns lists the default namespaces from the admin kubeconfig', async () => {
  const { stdout } = await s.kubectl(['get', 'ns', '-o', 'name']);
  assert.deepEqual(stdout.trim().split('\n').sort(), ['namespace/default', 'namespace/kube-node-lease', 'namespace/kube-public', 'namespace/kube-system']);
});

test('kubectl api-resources shows the served kinds with short names', async () => {
  const { stdout } = await s.kubectl(['api-resources', '--no-headers']);
  for (const kind of ['Pod', 'Deployment', 'ReplicaSet', 'DaemonSet', 'Job', 'Lease', 'EndpointSlice', 'ConfigMap', 'Secret', 'Event', 'Node', 'Service', 'Endpoints', 'Namespace']) {
    assert.match(stdout, new RegExp(`\\s${kind}\\n`), `${kind} missing from api-resources`);
  }
  assert.match(stdout, /^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m);
});

test('kubectl apply creates, then updates; get prints wide, yaml, json, name and jsonpath', async () => {
  const file = path.join(s.dataDir, 'pod.yaml');
  await writeFile(file, POD);
  assert.match((await s.kubectl(['apply', '-f', file])).stdout, /pod\/web created/);
  await writeFile(file, POD.replace('app: web', 'app: web, tier: front'));
  assert.match((await s.kubectl(['apply', '-f', file])).stdout, /pod\/web configured/);
  const wide = (await s.kubectl(['get', 'pods', '-o', 'wide'])).stdout;
  assert.match(wide, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE/m);
  assert.match(wide, /^web\s+0\/1\s+Pending/m);
  const obj = JSON.parse((await s.kubectl(['get', 'pod', 'web', '-o', 'json'])).stdout);
  assert.equal(obj.metadata.labels.tier, 'front');
  assert.ok(obj.metadata.uid && obj.metadata.creationTimestamp && obj.metadata.resourceVersion);
  assert.equal(obj.spec.restartPolicy, 'Always', 'defaults applied');
  assert.match((await s.kubectl(['get', 'pod', 'web', '-o', 'yaml'])).stdout, /^kind: Pod$/m);
  assert.equal((await s.kubectl(['get', 'pods', '-o', 'name'])).stdout.trim(), 'pod/web');
  assert.equal((await s.kubectl(['get', 'pod', 'web', '-o', 'jsonpath={.spec.containers[0].image}'])).stdout, 'busybox');
  assert.match((await s.kubectl(['describe', 'pod', 'web'])).stdout, /^Name:\s+web$/m);
});

test('kubectl create -f, label, annotate, patch (merge, json, strategic) and edit', async () => {
  await s.kubectl(['create', '-f', '-'], {
    input: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm1}\ndata: {a: b}\n',
  });
  await s.kubectl(['label', 'cm', 'cm1', 'x=1']);
  await s.kubectl(['annotate', 'cm', 'cm1', 'note=hi']);
  await s.kubectl(['patch', 'cm', 'cm1', '--type=merge', '-p', '{"data":{"c":"d"}}']);
  await s.kubectl(['patch', 'cm', 'cm1', '--type=json', '-p', '[{"op":"add","path":"/data/e","value":"f"}]']);
  await s.kubectl(['patch', 'cm', 'cm1', '-p', '{"data":{"g":"h"}}']);
  const editor = path.join(s.dataDir, 'editor.sh');
  await writeFile(editor, '#!/bin/sh\nsed -i "s/^  a: b$/  a: edited/" "$1"\n', { mode: 0o755 });
  await s.kubectl(['edit', 'cm', 'cm1'], { env: { EDITOR: editor, KUBE_EDITOR: editor } });
  const cm = JSON.parse((await s.kubectl(['get', 'cm', 'cm1', '-o', 'json'])).stdout);
  assert.deepEqual(cm.data, { a: 'edited', c: 'd', e: 'f', g: 'h' });
  assert.equal(cm.metadata.labels.x, '1');
  assert.equal(cm.metadata.annotations.note, 'hi');
  assert.equal((await s.kubectl(['get', 'cm', '-l', 'x=1', '-o', 'name'])).stdout.trim(), 'configmap/cm1');
  assert.equal((await s.kubectl(['get', 'cm', '-l', 'x=2', '-o', 'name'])).stdout.trim(), '');
});

test('strategic merge patch merges containers by name', async () => {
  await s.kubectl(['apply', '-f', '-'], {
    input: `apiVersion: apps/v1
kind: Deployment
metadata: {name: d1}
spec:
  replicas: 1
  selector: {matchLabels: {app: d1}}
  template:
    metadata: {labels: {app: d1}}
    spec:
      containers: [{name: a, image: nginx}, {name: b, image: redis}]
`,
  });
  await s.kubectl(['patch', 'deploy', 'd1', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"b","image":"redis:7"}]}}}}']);
  const d = JSON.parse((await s.kubectl(['get', 'deploy', 'd1', '-o', 'json'])).stdout);
  assert.deepEqual(
    d.spec.template.spec.containers.map((c: { name: string; image: string }) => `${c.name}=${c.image}`),
    ['a=nginx', 'b=redis:7'],
  );
  await s.kubectl(['scale', 'deploy', 'd1', '--replicas=4']);
  assert.equal((await s.kubectl(['get', 'deploy', 'd1', '-o', 'jsonpath={.spec.replicas}'])).stdout, '4');
});

test('kubectl create namespace/configmap/secret/deployment/service/job (protobuf request bodies) store what was asked', async () => {
  const file = path.join(s.dataDir, 'settings.conf');
  await writeFile(file, 'level=debug\n');
  await s.kubectl(['create', 'namespace', 'made']);
  await s.kubectl(['create', 'configmap', 'cfg', '-n', 'made', '--from-literal=a=b', `--from-file=${file}`]);
  await s.kubectl(['create', 'secret', 'generic', 'sec', '-n', 'made', '--from-literal=password=hunter2']);
  await s.kubectl(['create', 'deployment', 'web', '-n', 'made', '--image=nginx:1.27', '--replicas=3', '--port=80']);
  await s.kubectl(['create', 'deployment', 'idle', '-n', 'made', '--image=nginx', '--replicas=0']);
  await s.kubectl(['create', 'service', 'clusterip', 'web', '-n', 'made', '--tcp=5678:8080']);
  await s.kubectl(['create', 'job', 'once', '-n', 'made', '--image=busybox', '--', 'echo', 'hi']);
  const get = async (what: string) => JSON.parse((await s.kubectl(['get', '-n', 'made', what, '-o', 'json'])).stdout);
  assert.equal((await get('namespace/made')).status.phase, 'Active');
  assert.deepEqual((await get('configmap/cfg')).data, { a: 'b', 'settings.conf': 'level=debug\n' });
  const secret = await get('secret/sec');
  assert.equal(secret.type, 'Opaque');
  assert.equal(Buffer.from(secret.data.password, 'base64').toString(), 'hunter2');
  const web = await get('deployment/web');
  assert.equal(web.spec.replicas, 3);
  assert.deepEqual(web.spec.selector, { matchLabels: { app: 'web' } });
  assert.equal(web.spec.template.spec.containers[0].image, 'nginx:1.27');
  assert.deepEqual(web.spec.template.spec.containers[0].ports, [{ containerPort: 80, protocol: 'TCP' }]);
  assert.equal((await get('deployment/idle')).spec.replicas, 0, 'an explicit zero is kept');
  const svc = await get('service/web');
  assert.deepEqual(svc.spec.ports, [{ name: '5678-8080', port: 5678, protocol: 'TCP', targetPort: 8080 }]);
  assert.deepEqual(svc.spec.selector, { app: 'web' });
  const job = await get('job/once');
  assert.deepEqual(job.spec.template.spec.containers[0].command, ['echo', 'hi']);
  assert.equal(job.spec.template.spec.restartPolicy, 'Never');
});

test('kubectl apply --server-side: create, update, conflict with kubectl-client-side-apply, --force-conflicts', async () => {
  const file = path.join(s.dataDir, 'ssa.yaml');
  const deploy = (replicas: number, image: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ssa}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ssa}}
  template:
    metadata: {labels: {app: ssa}}
    spec:
      containers: [{name: web, image: "${image}"}]
`;
  const managers = async () => {
    const d = JSON.parse((await s.kubectl(['get', 'deploy', 'ssa', '-o', 'json', '--show-managed-fields'])).stdout);
    return { d, entries: (d.metadata.managedFields as Array<{ manager: string; operation: string; fieldsV1: Record<string, unknown> }>) ?? [] };
  };
  // Client-side apply creates it: the create is recorded as an Update by kubectl-client-side-apply.
  await writeFile(file, deploy(2, 'nginx:1.25'));
  assert.match((await s.kubectl(['apply', '-f', file])).stdout, /deployment.apps\/ssa created/);
  let { entries } = await managers();
  assert.deepEqual(entries.map((e) => `${e.manager}/${e.operation}`), ['kubectl-client-side-apply/Update']);
  // Server-side apply of other replicas conflicts with that manager, in Kubernetes' words.
  await writeFile(file, deploy(3, 'nginx:1.25'));
  const refused = await s.kubectl(['apply', '--server-side', '-f', file], { allowFail: true });
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps\/v1: \.spec\.replicas/);
  assert.equal(JSON.parse((await s.kubectl(['get', 'deploy', 'ssa', '-o', 'json'])).stdout).spec.replicas, 2, 'nothing written');
  // --force-conflicts takes the field; kubectl then moves the client-side manager's fields to its own.
  assert.match((await s.kubectl(['apply', '--server-side', '--force-conflicts', '-f', file])).stdout, /deployment.apps\/ssa serverside-applied/);
  let d;
  ({ d, entries } = await managers());
  assert.equal(d.spec.replicas, 3);
  const own = entries.find((e) => e.manager === 'kubectl' && e.operation === 'Apply');
  assert.ok(own && (own.fieldsV1['f:spec'] as Record<string, unknown>)['f:replicas'], 'kubectl owns spec.replicas');
  assert.ok(!entries.some((e) => e.manager === 'kubectl-client-side-apply' && JSON.stringify(e.fieldsV1).includes('f:replicas')));
  // A plain update and a server-side apply of a new image; an apply that changes nothing writes nothing.
  await writeFile(file, deploy(3, 'nginx:1.27'));
  assert.match((await s.kubectl(['apply', '--server-side', '-f', file])).stdout, /serverside-applied/);
  const rv = JSON.parse((await s.kubectl(['get', 'deploy', 'ssa', '-o', 'json'])).stdout).metadata.resourceVersion;
  await s.kubectl(['apply', '--server-side', '-f', file]);
  ({ d } = await managers());
  assert.equal(d.spec.template.spec.containers[0].image, 'nginx:1.27');
  assert.equal(d.metadata.resourceVersion, rv, 'the repeated apply is no write');
  // Server-side apply also creates.
  await writeFile(file, deploy(1, 'nginx').replaceAll('ssa', 'ssa-new'));
  assert.match((await s.kubectl(['apply', '--server-side', '-f', file])).stdout, /deployment.apps\/ssa-new serverside-applied/);
  const created = JSON.parse((await s.kubectl(['get', 'deploy', 'ssa-new', '-o', 'json', '--show-managed-fields'])).stdout);
  assert.deepEqual(created.metadata.managedFields.map((e: { manager: string; operation: string }) => `${e.manager}/${e.operation}`), ['kubectl/Apply']);
});

test('kubectl get -w receives an update', async () => {
  await s.kubectl(['create', '-f', '-'], { input: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: watched}\ndata: {a: b}\n' });
  const child = spawn('kubectl', ['--kubeconfig', s.kubeconfig, 'get', 'cm', 'watched', '-w', '-o', 'jsonpath={.data.a}{"\\n"}'], {
    env: { ...process.env, KUBECACHEDIR: path.join(s.dataDir, 'kubecache') },
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  try {
    await eventually('the initial state', async () => out.includes('b\n'));
    await s.kubectl(['patch', 'cm', 'watched', '--type=merge', '-p', '{"data":{"a":"changed"}}']);
    await eventually('the update on the watch', async () => out.includes('changed\n'));
  } finally {
    child.kill();
  }
});

test('kubectl explain reads the OpenAPI v3 schema', async () => {
  const { stdout } = await s.kubectl(['explain', 'pod.spec.containers']);
  assert.match(stdout, /KIND:\s+Pod/);
  assert.match(stdout, /image\s+<string>/);
});

test('kubectl delete removes the object', async () => {
  await s.kubectl(['delete', 'cm', 'cm1']);
  const { stdout, code } = await s.kubectl(['get', 'cm', 'cm1'], { allowFail: true });
  assert.notEqual(code, 0);
  assert.equal(stdout, '');
});
