import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  connectionFor,
  kubeconfigFiles,
  loadKubeconfig,
  mergeKubeconfigs,
  minifyKubeconfig,
  parseKubeconfig,
  redactKubeconfig,
  selectContext,
  serializeKubeconfig,
  writeKubeconfig,
} from './kubeconfig.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'nubis-kubeconfig-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const A = `apiVersion: v1
kind: Config
clusters:
- name: one
  cluster: {server: "https://127.0.0.1:6443", certificate-authority: ca.crt}
users:
- name: admin
  user: {token: secret-a}
contexts:
- name: ctx-a
  context: {cluster: one, user: admin, namespace: team}
current-context: ctx-a
`;

const B = `clusters:
- name: one
  cluster: {server: "https://10.0.0.1:6443"}
- name: two
  cluster: {server: "https://127.0.0.2:6443/", insecure-skip-tls-verify: true}
users:
- name: certs
  user: {client-certificate-data: ${Buffer.from('CERT').toString('base64')}, client-key-data: ${Buffer.from('KEY').toString('base64')}}
contexts:
- name: ctx-b
  context: {cluster: two, user: certs}
current-context: ctx-b
`;

test('parses, makes file references absolute and selects the current context', () => {
  const cfg = parseKubeconfig(A, '/etc/nubis/admin.kubeconfig');
  assert.equal(cfg.clusters[0]!.cluster['certificate-authority'], '/etc/nubis/ca.crt');
  const sel = selectContext(cfg);
  assert.equal(sel.name, 'ctx-a');
  assert.equal(sel.namespace, 'team');
  assert.equal(sel.cluster.server, 'https://127.0.0.1:6443');
  assert.equal(sel.user.token, 'secret-a');
});

test('merging: the first file that names an entry or sets current-context wins', () => {
  const merged = mergeKubeconfigs([parseKubeconfig(A), parseKubeconfig(B)]);
  assert.deepEqual(merged.clusters.map((c) => [c.name, c.cluster.server]), [
    ['one', 'https://127.0.0.1:6443'],
    ['two', 'https://127.0.0.2:6443/'],
  ]);
  assert.equal(merged['current-context'], 'ctx-a');
  assert.equal(selectContext(merged, 'ctx-b').namespace, 'default');
});

test('clear errors for a missing context, cluster or current-context', () => {
  const cfg = parseKubeconfig(A);
  assert.throws(() => selectContext(cfg, 'nope'), /context "nope" does not exist/);
  assert.throws(() => selectContext({ ...cfg, 'current-context': undefined }), /current-context is not set/);
  assert.throws(() => selectContext(parseKubeconfig('')), /no kubeconfig found/);
  assert.throws(() => selectContext({ ...cfg, clusters: [] }), /cluster "one" of context "ctx-a" does not exist/);
  assert.throws(() => parseKubeconfig('clusters: {a: 1}', 'f'), /f: "clusters" must be a list/);
  assert.throws(() => parseKubeconfig('users:\n- name: x\n', 'f'), /has no user/);
});

test('the connection reads CA, token and client certificate data', async () => {
  await writeFile(path.join(dir, 'ca.crt'), 'PEM-CA');
  await writeFile(path.join(dir, 'token'), 'from-file\n');
  const file = path.join(dir, 'kc');
  const cfg = parseKubeconfig(A.replace('{token: secret-a}', '{tokenFile: token}'), file);
  const conn = await connectionFor(selectContext(cfg));
  assert.equal(conn.ca?.toString(), 'PEM-CA');
  assert.equal(conn.token, 'from-file');
  const certs = await connectionFor(selectContext(parseKubeconfig(B)));
  assert.equal(certs.server, 'https://127.0.0.2:6443');
  assert.equal(certs.cert?.toString(), 'CERT');
  assert.equal(certs.key?.toString(), 'KEY');
  assert.equal(certs.insecureSkipTLSVerify, true);
  assert.equal(certs.token, undefined);
});

test('which files: --kubeconfig, then KUBECONFIG, then <data-dir>/admin.kubeconfig, then ~/.kube/config', async () => {
  const dataDir = path.join(dir, 'data');
  await mkdir(dataDir, { recursive: true });
  const home = path.join(dir, 'home');
  assert.deepEqual(await kubeconfigFiles({ flag: 'x.yaml', env: 'a:b', dataDir, home }), { files: [path.resolve('x.yaml')], explicit: true });
  assert.deepEqual((await kubeconfigFiles({ env: '/a:/b', dataDir, home })).files, ['/a', '/b']);
  assert.deepEqual((await kubeconfigFiles({ dataDir, home })).files, [path.join(home, '.kube', 'config')]);
  await writeFile(path.join(dataDir, 'admin.kubeconfig'), A);
  assert.deepEqual((await kubeconfigFiles({ dataDir, home })).files, [path.join(dataDir, 'admin.kubeconfig')]);
  await assert.rejects(loadKubeconfig({ flag: path.join(dir, 'missing') }), /does not exist/);
  const envA = path.join(dir, 'a.yaml');
  await writeFile(envA, A);
  const loaded = await loadKubeconfig({ env: `${path.join(dir, 'missing')}:${envA}` });
  assert.equal(loaded.parts.length, 1);
  assert.equal(loaded.config['current-context'], 'ctx-a');
});

test('view hides secrets, minify keeps one context, write round-trips with mode 0600', async () => {
  const merged = mergeKubeconfigs([parseKubeconfig(A), parseKubeconfig(B)]);
  const redacted = redactKubeconfig(merged);
  assert.equal(redacted.users[0]!.user.token, 'REDACTED');
  assert.equal(redacted.users[1]!.user['client-key-data'], 'DATA+OMITTED');
  assert.equal(merged.users[0]!.user.token, 'secret-a', 'the original is untouched');
  const mini = minifyKubeconfig(merged, 'ctx-b');
  assert.deepEqual([mini.clusters.map((c) => c.name), mini.users.map((u) => u.name), mini['current-context']], [['two'], ['certs'], 'ctx-b']);
  const file = path.join(dir, 'out.kubeconfig');
  await writeKubeconfig(file, merged);
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  const back = parseKubeconfig(await readFile(file, 'utf8'));
  assert.deepEqual(back.contexts, merged.contexts);
  assert.match(serializeKubeconfig(merged), /^current-context: ctx-a$/m);
});
