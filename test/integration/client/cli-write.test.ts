/**
 * The writing verbs end to end against a real API server: apply (files, directories, stdin, multi-document
 * YAML, taking turns with kubectl), create, label, patch, edit, delete (names, -l, --all, -f, cascade,
 * wait) and config.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import YAML from 'yaml';
import { eventually, requireKubectl, TestServer } from '../apiserver/harness.js';
import { runNubis } from './cli-runner.js';

let s: TestServer;
const nubis = (args: string[], opts: { stdin?: string; env?: Record<string, string> } = {}) => runNubis(s.dataDir, args, opts);
const ok = async (...args: string[]) => {
  const r = await nubis(args);
  assert.equal(r.code, 0, `nubis ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const getJson = async (...args: string[]) => JSON.parse((await s.kubectl(['get', ...args, '-o', 'json'])).stdout);

before(async () => {
  requireKubectl();
  s = await TestServer.start();
});
after(async () => {
  await s?.close();
});

const DEPLOY = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        env: [{name: A, value: "1"}, {name: B, value: "2"}]
      - name: sidecar
        image: busybox
`;

test('apply creates, configures with a three-way patch, reports unchanged, and takes turns with kubectl', async () => {
  const dir = path.join(s.dataDir, 'manifests');
  await mkdir(path.join(dir, 'sub'), { recursive: true });
  await writeFile(path.join(dir, 'deploy.yaml'), DEPLOY);
  await writeFile(path.join(dir, 'cms.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one}\ndata: {a: "1"}\n---\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: two}\n');
  await writeFile(path.join(dir, 'sub', 'three.json'), JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'three' } }));
  await writeFile(path.join(dir, 'notes.txt'), 'not a manifest');
  assert.equal(await ok('apply', '-f', dir), 'configmap/one created\nconfigmap/two created\ndeployment.apps/web created\n');
  assert.equal(await ok('apply', '-f', dir, '-R'), 'configmap/one unchanged\nconfigmap/two unchanged\ndeployment.apps/web unchanged\nconfigmap/three created\n');
  // Someone else scales and adds a label; the file drops env B and the sidecar and changes the image.
  await s.kubectl(['scale', 'deploy/web', '--replicas=5']);
  await s.kubectl(['label', 'deploy/web', 'owner=ops']);
  const edited = DEPLOY.replace('  replicas: 2\n', '').replace(', {name: B, value: "2"}', '').replace('nginx:1.27', 'nginx:1.28').replace('      - name: sidecar\n        image: busybox\n', '');
  await writeFile(path.join(dir, 'deploy.yaml'), edited);
  assert.equal(await ok('apply', '-f', path.join(dir, 'deploy.yaml')), 'deployment.apps/web configured\n');
  const d = await getJson('deploy', 'web');
  assert.deepEqual(d.spec.template.spec.containers.map((c: { name: string; image: string; env: unknown }) => [c.name, c.image, c.env]), [['web', 'nginx:1.28', [{ name: 'A', value: '1' }]]]);
  assert.equal(d.spec.replicas, 1, 'replicas dropped from the file are removed, then defaulted, as with kubectl');
  assert.equal(d.metadata.labels.owner, 'ops', 'a label set by someone else stays');
  assert.equal((await s.kubectl(['apply', '-f', path.join(dir, 'deploy.yaml')])).stdout, 'deployment.apps/web unchanged\n');
  await s.kubectl(['apply', '-f', '-'], { input: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: by-kubectl}\ndata: {x: "1"}\n' });
  const again = await nubis(['apply', '-f', '-'], { stdin: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: by-kubectl}\ndata: {x: "1"}\n' });
  assert.equal(again.stdout, 'configmap/by-kubectl unchanged\n');
});

test('apply --server-side creates, takes turns with kubectl --server-side, reports conflicts and takes fields with --force-conflicts', async () => {
  const file = path.join(s.dataDir, 'ssa-cli.yaml');
  const doc = DEPLOY.replaceAll('web', 'ssa-cli');
  await writeFile(file, doc);
  assert.equal(await ok('apply', '--server-side', '-f', file), 'deployment.apps/ssa-cli serverside-applied\n');
  // kubectl applies as the same manager ("kubectl"): no conflict, nothing to write.
  const rv = (await getJson('deploy', 'ssa-cli')).metadata.resourceVersion;
  assert.match((await s.kubectl(['apply', '--server-side', '-f', file])).stdout, /serverside-applied/);
  assert.equal((await getJson('deploy', 'ssa-cli')).metadata.resourceVersion, rv);
  // Someone scales: the file's replicas now conflict with that writer.
  await s.kubectl(['scale', 'deploy/ssa-cli', '--replicas=4']);
  const refused = await nubis(['apply', '--server-side', '-f', file]);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /Apply failed with 1 conflict: conflict with "kubectl" with subresource "scale" using apps\/v1: \.spec\.replicas/);
  assert.equal((await getJson('deploy', 'ssa-cli')).spec.replicas, 4);
  assert.equal(await ok('apply', '--server-side', '--force-conflicts', '-f', file), 'deployment.apps/ssa-cli serverside-applied\n');
  assert.equal((await getJson('deploy', 'ssa-cli')).spec.replicas, 2);
  // Dropping a container from the file removes it: this manager owned it alone.
  await writeFile(file, doc.replace('      - name: sidecar\n        image: busybox\n', ''));
  await ok('apply', '--server-side', '-f', file);
  assert.deepEqual((await getJson('deploy', 'ssa-cli')).spec.template.spec.containers.map((c: { name: string }) => c.name), ['ssa-cli']);
});

test('apply refuses an object in another namespace than -n, reports bad objects and goes on', async () => {
  const r = await nubis(['apply', '-n', 'kube-public', '-f', '-'], { stdin: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: default}\n' });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /the namespace from the provided object "default" does not match the namespace "kube-public"/);
  const mixed = await nubis(['apply', '-f', '-'], { stdin: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Bad_Name}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: good}\n' });
  assert.equal(mixed.code, 1);
  assert.match(mixed.stderr, /^nubis: error when applying "STDIN": ConfigMap "Bad_Name" is invalid/m);
  assert.equal(mixed.stdout, 'configmap/good created\n');
  const notYaml = await nubis(['apply', '-f', '-'], { stdin: 'kind: [' });
  assert.equal(notYaml.code, 125);
  assert.match(notYaml.stderr, /^nubis: error parsing STDIN/);
  const dry = await nubis(['apply', '--dry-run=server', '-f', '-'], { stdin: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: dry}\n' });
  assert.equal(dry.stdout, 'configmap/dry created (server dry run)\n');
  assert.equal((await s.kubectl(['get', 'cm', 'dry'], { allowFail: true })).code, 1);
});

test('create -f, namespace, configmap and secret generic; create twice is AlreadyExists', async () => {
  assert.equal((await nubis(['create', '-f', '-'], { stdin: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: made}\ndata: {k: v}\n' })).stdout, 'configmap/made created\n');
  const twice = await nubis(['create', '-f', '-'], { stdin: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: made}\n' });
  assert.equal(twice.code, 1);
  assert.equal(twice.stderr, 'nubis: error when creating "STDIN": configmaps "made" already exists\n');
  assert.equal(await ok('create', 'namespace', 'team'), 'namespace/team created\n');
  const file = path.join(s.dataDir, 'app.properties');
  await writeFile(file, 'x=1\n');
  assert.equal(await ok('create', 'configmap', 'cfg', '-n', 'team', '--from-literal=a=b', `--from-file=${file}`, '--from-file', `renamed=${file}`), 'configmap/cfg created\n');
  assert.deepEqual((await getJson('cm', 'cfg', '-n', 'team')).data, { a: 'b', 'app.properties': 'x=1\n', renamed: 'x=1\n' });
  assert.equal(await ok('create', 'secret', 'generic', 'pw', '--from-literal=password=s3cret', '-n', 'team'), 'secret/pw created\n');
  const secret = await getJson('secret', 'pw', '-n', 'team');
  assert.equal(Buffer.from(secret.data.password, 'base64').toString(), 's3cret');
  assert.equal(secret.type, 'Opaque');
  const yaml = await ok('create', 'cm', 'preview', '--from-literal=k=v', '--dry-run=client', '-o', 'yaml');
  assert.deepEqual(YAML.parse(yaml), { apiVersion: 'v1', data: { k: 'v' }, kind: 'ConfigMap', metadata: { name: 'preview', namespace: 'default' } });
  assert.equal((await s.kubectl(['get', 'cm', 'preview'], { allowFail: true })).code, 1, 'a client dry run creates nothing');
  const cm = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: saved}\ndata: {k: v}\n';
  assert.equal((await nubis(['create', '--save-config', '-f', '-'], { stdin: cm })).stdout, 'configmap/saved created\n');
  assert.equal((await s.kubectl(['apply', '-f', '-'], { input: cm })).stdout, 'configmap/saved unchanged\n', 'kubectl apply follows a --save-config create');
});

test('label adds, refuses to overwrite without --overwrite, overwrites and removes', async () => {
  await s.kubectl(['create', '-f', '-'], { input: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lab, labels: {keep: "yes"}}\n' });
  assert.equal(await ok('label', 'cm', 'lab', 'a=1', 'b=2'), 'configmap/lab labeled\n');
  const refused = await nubis(['label', 'cm/lab', 'a=9']);
  assert.equal(refused.code, 125);
  assert.equal(refused.stderr, "nubis: 'a' already has a value (1), and --overwrite is false\n");
  assert.equal(await ok('label', 'cm', 'lab', 'a=9', '--overwrite'), 'configmap/lab labeled\n');
  assert.equal(await ok('label', 'cm', 'lab', 'b-'), 'configmap/lab unlabeled\n');
  assert.equal(await ok('label', 'cm', 'lab', 'a=9'), 'configmap/lab not labeled\n');
  assert.deepEqual((await getJson('cm', 'lab')).metadata.labels, { keep: 'yes', a: '9' });
  assert.equal(await ok('label', 'cm', '-l', 'keep=yes', 'sel=1'), 'configmap/lab labeled\n');
  assert.equal(await ok('get', 'cm', '-l', 'sel=1', '-o', 'name'), 'configmap/lab\n');
});

test('patch with strategic, merge and json patches; no change says so', async () => {
  await s.kubectl(['apply', '-f', '-'], { input: DEPLOY.replace('name: web\n  labels', 'name: patched\n  labels') });
  assert.equal(await ok('patch', 'deploy', 'patched', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"busybox:1.36"}]}}}}'), 'deployment.apps/patched patched\n');
  const d = await getJson('deploy', 'patched');
  assert.deepEqual(d.spec.template.spec.containers.map((c: { image: string }) => c.image), ['nginx:1.27', 'busybox:1.36'], 'strategic: merged by name');
  await ok('patch', 'deploy/patched', '--type', 'merge', '-p', 'spec: {replicas: 4}');
  await ok('patch', 'deploy', 'patched', '--type=json', '-p', '[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"nginx:1.29"}]');
  const after = await getJson('deploy', 'patched');
  assert.equal(after.spec.replicas, 4);
  assert.equal(after.spec.template.spec.containers[0].image, 'nginx:1.29');
  const noop = ['patch', 'deploy', 'patched', '--type', 'merge', '-p', '{"spec":{"replicas":4}}'];
  assert.equal(await ok(...noop), (await s.kubectl(noop)).stdout, 'a patch that changes nothing is reported as kubectl reports it');
  const bad = await nubis(['patch', 'deploy', 'patched', '--type=json', '-p', '[{"op":"remove","path":"/spec/nothing"}]']);
  assert.equal(bad.code, 125);
  assert.match(bad.stderr, /^nubis: .*nothing/);
});

test('edit opens the editor, saves the change as a patch, reopens with the error, cancels on no change', async () => {
  await s.kubectl(['create', '-f', '-'], { input: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ed}\ndata: {a: b}\n' });
  const editor = path.join(s.dataDir, 'editor.sh');
  await writeFile(editor, '#!/bin/sh\nsed -i "s/^  a: b$/  a: edited/" "$1"\n', { mode: 0o755 });
  assert.equal((await nubis(['edit', 'cm', 'ed'], { env: { EDITOR: editor } })).stdout, 'configmap/ed edited\n');
  assert.deepEqual((await getJson('cm', 'ed')).data, { a: 'edited' });
  assert.equal((await nubis(['edit', 'cm/ed'], { env: { KUBE_EDITOR: 'true' } })).stdout, 'Edit cancelled, no changes made.\n');
  // First save breaks the name (refused), the reopened file shows the error, the second save fixes it.
  const twice = path.join(s.dataDir, 'editor2.sh');
  const log = path.join(s.dataDir, 'editor2.log');
  await writeFile(
    twice,
    `#!/bin/sh\nif [ ! -e ${log} ]; then sed -i "s/^  name: ed$/  name: renamed/" "$1"; else grep -q "was not valid" "$1" && sed -i "s/^  name: renamed$/  name: ed/; s/^  a: edited$/  a: fixed/" "$1"; fi\necho x >> ${log}\n`,
    { mode: 0o755 },
  );
  const r = await nubis(['edit', 'cm', 'ed'], { env: { EDITOR: twice } });
  assert.equal(r.stdout, 'configmap/ed edited\n', r.stderr);
  assert.equal((await readFile(log, 'utf8')).split('\n').filter(Boolean).length, 2, 'the editor opened twice');
  assert.deepEqual((await getJson('cm', 'ed')).data, { a: 'fixed' });
});

test('delete by name, -l, --all and -f; cascade background and orphan; missing objects', async () => {
  assert.equal(await ok('create', 'ns', 'delns'), 'namespace/delns created\n');
  for (const n of ['d1', 'd2', 'd3']) await s.kubectl(['create', '-f', '-'], { input: `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${n}, namespace: delns, labels: {del: "yes"}}\n` });
  assert.equal(await ok('delete', 'cm', 'd1', '-n', 'delns'), 'configmap "d1" deleted\n');
  assert.equal(await ok('delete', 'cm', '-l', 'del=yes', '-n', 'delns'), 'configmap "d2" deleted\nconfigmap "d3" deleted\n');
  const missing = await nubis(['delete', 'cm', 'd1', '-n', 'delns']);
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, 'nubis: configmaps "d1" not found\n');
  assert.equal((await nubis(['delete', 'cm', 'd1', '-n', 'delns', '--ignore-not-found'])).code, 0);
  const file = path.join(s.dataDir, 'del.yaml');
  await writeFile(file, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: byfile, namespace: delns}\n');
  await s.kubectl(['apply', '-f', file]);
  assert.equal(await ok('delete', '-f', file), 'configmap "byfile" deleted\n');

  // Garbage collection follows ownerReferences: background removes dependents, orphan keeps them.
  const owner = async (name: string) => {
    await s.kubectl(['create', '-f', '-'], { input: `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}, namespace: delns}\n` });
    const uid = (await getJson('cm', name, '-n', 'delns')).metadata.uid;
    await s.kubectl(['create', '-f', '-'], {
      input: `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}-dep, namespace: delns, ownerReferences: [{apiVersion: v1, kind: ConfigMap, name: ${name}, uid: ${uid}}]}\n`,
    });
  };
  await owner('bg');
  await owner('orph');
  await ok('delete', 'cm', 'bg', '-n', 'delns');
  await ok('delete', 'cm', 'orph', '-n', 'delns', '--cascade=orphan');
  await eventually('the background dependent collected', async () => (await s.kubectl(['get', 'cm', 'bg-dep', '-n', 'delns'], { allowFail: true })).code !== 0);
  await eventually('the orphan released', async () => ((await getJson('cm', 'orph-dep', '-n', 'delns')).metadata.ownerReferences ?? []).length === 0);
  // Foreground: delete waits until the owner is gone, which needs its dependents gone first.
  await owner('fg');
  assert.equal(await ok('delete', 'cm', 'fg', '-n', 'delns', '--cascade=foreground', '--timeout=60s'), 'configmap "fg" deleted\n');
  assert.equal((await s.kubectl(['get', 'cm', 'fg', 'fg-dep', '-n', 'delns', '--ignore-not-found', '-o', 'name'])).stdout, '');
  // --all takes the namespace's CA ConfigMap too, as in Kubernetes (the server makes it again).
  await eventually('the namespace\'s CA ConfigMap', async () => (await s.kubectl(['get', 'cm', 'kube-root-ca.crt', '-n', 'delns'], { allowFail: true })).code === 0);
  assert.equal(await ok('delete', 'cm', '--all', '-n', 'delns'), 'configmap "kube-root-ca.crt" deleted\nconfigmap "orph-dep" deleted\n');
  // A finalizer holds the object: delete waits, and gives up after --timeout; --wait=false returns at once.
  await s.kubectl(['create', '-f', '-'], { input: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: held, namespace: delns, finalizers: [example.com/hold]}\n' });
  const held = await nubis(['delete', 'cm', 'held', '-n', 'delns', '--timeout=1s']);
  assert.equal(held.stdout, 'configmap "held" deleted\n');
  assert.equal(held.code, 125);
  assert.equal(held.stderr, 'nubis: timed out waiting for configmap "held" to be deleted\n');
  assert.ok((await getJson('cm', 'held', '-n', 'delns')).metadata.deletionTimestamp, 'still there, terminating');
  assert.equal((await nubis(['delete', 'cm', 'held', '-n', 'delns', '--wait=false'])).code, 0);
  await ok('patch', 'cm', 'held', '-n', 'delns', '--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]');
  await eventually('the released object gone', async () => (await s.kubectl(['get', 'cm', 'held', '-n', 'delns'], { allowFail: true })).code !== 0);
  const noName = await nubis(['delete', 'cm']);
  assert.match(noName.stderr, /no name was specified/);
});

test('config: view hides secrets, --raw shows them, write merges a context into a file, use-context and get-contexts', async () => {
  const view = await ok('config', 'view');
  assert.match(view, /token: REDACTED/);
  assert.match(view, /certificate-authority-data: DATA\+OMITTED/);
  const raw = YAML.parse(await ok('config', 'view', '--raw'));
  assert.equal(raw.users[0].user.token, s.token);
  assert.deepEqual(YAML.parse(await ok('config')), raw, 'bare config prints the selected context with credentials');
  const home = path.join(s.dataDir, 'home-kube');
  const target = path.join(home, 'config');
  await mkdir(home, { recursive: true });
  await writeFile(target, YAML.stringify({ apiVersion: 'v1', kind: 'Config', clusters: [{ name: 'other', cluster: { server: 'https://127.0.0.1:1' } }], users: [], contexts: [{ name: 'other', context: { cluster: 'other', user: 'x' } }], 'current-context': 'other' }));
  assert.equal(await ok('config', 'write', target), `wrote context "nubis" to ${target}\n`);
  const written = YAML.parse(await readFile(target, 'utf8'));
  assert.deepEqual(written.contexts.map((c: { name: string }) => c.name), ['other', 'nubis']);
  assert.equal(written['current-context'], 'nubis');
  assert.equal((await s.kubectl(['--kubeconfig', target, 'get', 'ns', 'default', '-o', 'name'])).stdout, 'namespace/default\n', 'kubectl uses the written file');
  assert.equal(await ok('get', 'ns', 'default', '-o', 'name', '--kubeconfig', target), 'namespace/default\n');
  assert.equal((await nubis(['get', 'ns', 'default', '-o', 'name'], { env: { KUBECONFIG: target } })).stdout, 'namespace/default\n');
  assert.equal(await ok('config', 'use-context', 'other', '--kubeconfig', target), 'Switched to context "other".\n');
  assert.equal(await ok('config', 'current-context', '--kubeconfig', target), 'other\n');
  assert.match(await ok('config', 'get-contexts', '--kubeconfig', target), /^CURRENT\s+NAME\s+CLUSTER\s+AUTHINFO\s+NAMESPACE\n\s+nubis\s+nubis\s+nubis-admin\s+default\n\*\s+other\s+other\s+x\s+$/);
  const unreachable = await nubis(['get', 'ns', '--kubeconfig', target]);
  assert.equal(unreachable.code, 125);
  assert.match(unreachable.stderr, /^nubis: cannot reach the API server at https:\/\/127\.0\.0\.1:1/);
  assert.equal((await nubis(['get', 'ns', 'default', '-o', 'name', '--kubeconfig', target, '--context', 'nubis'])).stdout, 'namespace/default\n');
  const noContext = await nubis(['get', 'ns', '--context', 'nope']);
  assert.equal(noContext.stderr, 'nubis: context "nope" does not exist in the kubeconfig\n');
});
