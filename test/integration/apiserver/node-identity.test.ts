/**
 * Node identity: a join token only bootstraps (it may ask for a certificate, nothing else); the node
 * certificate it gets makes the agent `system:node:<name>`, which the Node authorizer and
 * NodeRestriction hold to its own Node, Lease and pods and to the Secrets and ConfigMaps its pods use.
 * Client certificates for people wait for an administrator's approval.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { RestClient, type ResourceInfo } from '../../../src/client/rest-client.js';
import { createJoinToken } from '../../../src/cmd/join.js';
import { renewNodeCertificate, requestNodeCertificate } from '../../../src/cmd/node-certificate.js';
import { isNubisError } from '../../../src/lib/errors.js';
import { makeCertificate, makeCertificateSigningRequest } from '../../../src/lib/x509.js';
import { eventually, requireKubectl, TestServer } from './harness.js';

const core = (resource: string, kind: string, namespaced = true): ResourceInfo => ({ group: '', version: 'v1', resource, kind, namespaced });
const PODS = core('pods', 'Pod');
const NODES = core('nodes', 'Node', false);
const SECRETS = core('secrets', 'Secret');
const CONFIGMAPS = core('configmaps', 'ConfigMap');
const LEASES: ResourceInfo = { group: 'coordination.k8s.io', version: 'v1', resource: 'leases', kind: 'Lease', namespaced: true };
const CSRS: ResourceInfo = { group: 'certificates.k8s.io', version: 'v1', resource: 'certificatesigningrequests', kind: 'CertificateSigningRequest', namespaced: false };

let s: TestServer;
let admin: RestClient;
let bootstrap: RestClient;
let n1: RestClient;
let n2: RestClient;

async function forbidden(p: Promise<unknown>, what: string): Promise<void> {
  await assert.rejects(p, (err) => isNubisError(err, 'Forbidden'), what);
}

before(async () => {
  requireKubectl();
  s = await TestServer.start();
  const server = `https://127.0.0.1:${s.server.port}`;
  admin = new RestClient({ server, ca: s.ca, token: s.token });
  const token = await createJoinToken(s.dataDir);
  bootstrap = new RestClient({ server, ca: s.ca, token });
  await eventually('the join token to be accepted', async () => (await s.request('GET', '/version', { token })).status === 200);
  const c1 = await requestNodeCertificate(bootstrap, 'n1', 20_000);
  const c2 = await requestNodeCertificate(bootstrap, 'n2', 20_000);
  n1 = new RestClient({ server, ca: s.ca, ...c1 });
  n2 = new RestClient({ server, ca: s.ca, ...c2 });
  for (const [c, name] of [[n1, 'n1'], [n2, 'n2']] as const) {
    await c.create(NODES, { apiVersion: 'v1', kind: 'Node', metadata: { name } });
  }
});
after(async () => {
  for (const c of [admin, bootstrap, n1, n2]) c?.close();
  await s?.close();
});

test('the issued certificate names the node, chains to the cluster CA and is for client auth only', async () => {
  const csrs = await admin.list(CSRS);
  const issued = csrs.items.find((c) => c.metadata.name.startsWith('node-csr-n1-'))!;
  const status = issued.status as { conditions: Array<{ type: string; reason: string }>; certificate: string };
  assert.equal(status.conditions[0]!.type, 'Approved');
  assert.equal((issued.spec as { username: string }).username.startsWith('system:bootstrap:'), true);
  const cert = new X509Certificate(Buffer.from(status.certificate, 'base64'));
  assert.equal(cert.subject, 'O=system:nodes\nCN=system:node:n1');
  assert.ok(cert.verify(new X509Certificate(s.ca).publicKey));
  assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.2']);
  const who = await s.kubectl(['get', 'csr', issued.metadata.name, '--no-headers']);
  assert.match(who.stdout, /kubernetes\.io\/kube-apiserver-client-kubelet\s+system:bootstrap:\w+\s+Approved,Issued/);
});

test('a join token may ask for a certificate and nothing else', async () => {
  await forbidden(bootstrap.list(PODS, { namespace: 'default' }), 'bootstrap lists pods');
  await forbidden(bootstrap.get(NODES, 'n1'), 'bootstrap reads a node');
  await forbidden(bootstrap.create(NODES, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n9' } }), 'bootstrap registers a node');
});

test('a node writes only its own Node and Lease', async () => {
  await n1.patch(NODES, 'n1', { metadata: { labels: { zone: 'a' } } }, 'merge');
  await forbidden(n1.patch(NODES, 'n2', { metadata: { labels: { zone: 'a' } } }, 'merge'), 'n1 labels n2');
  await forbidden(n1.patch(NODES, 'n2', { status: { phase: 'x' } }, 'merge', { subresource: 'status' }), 'n1 writes n2 status');
  await forbidden(n1.patch(NODES, 'n1', { metadata: { labels: { 'node-restriction.kubernetes.io/tenant': 'acme' } } }, 'merge'), 'n1 sets a restricted label');
  await forbidden(n1.delete(NODES, 'n2'), 'n1 deletes n2');
  const lease = (name: string) => ({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace: 'kube-node-lease' }, spec: { holderIdentity: name } });
  await n1.create(LEASES, lease('n1'));
  await forbidden(n1.create(LEASES, lease('n2')), 'n1 creates n2 lease');
  await forbidden(n1.create(LEASES, { ...lease('n1'), metadata: { name: 'n1', namespace: 'default' } }), 'n1 creates a lease elsewhere');
  assert.equal((await n1.get(NODES, 'n2')).metadata.name, 'n2', 'nodes read other nodes (routes)');
});

test('a node reads the Secrets and ConfigMaps its pods use, and changes only its pods status', async () => {
  await s.kubectl(['create', 'secret', 'generic', 'used', '--from-literal=a=1']);
  await s.kubectl(['create', 'secret', 'generic', 'unused', '--from-literal=a=1']);
  await s.kubectl(['create', 'configmap', 'cfg', '--from-literal=a=1']);
  const pod = (name: string, node: string) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: {
      nodeName: node,
      containers: [{ name: 'c', image: 'busybox', envFrom: [{ configMapRef: { name: 'cfg' } }] }],
      volumes: [{ name: 's', secret: { secretName: 'used' } }],
    },
  });
  await admin.create(PODS, pod('p1', 'n1'));
  await admin.create(PODS, pod('p2', 'n2'));
  assert.equal((await n1.get(SECRETS, 'used', { namespace: 'default' })).metadata.name, 'used');
  assert.equal((await n1.get(CONFIGMAPS, 'cfg', { namespace: 'default' })).metadata.name, 'cfg');
  await forbidden(n1.get(SECRETS, 'unused', { namespace: 'default' }), 'n1 reads a secret no pod of it uses');
  await forbidden(n1.list(SECRETS, { namespace: 'default' }), 'n1 lists secrets');
  await n1.patch(PODS, 'p1', { status: { phase: 'Running' } }, 'merge', { namespace: 'default', subresource: 'status' });
  await forbidden(n1.patch(PODS, 'p2', { status: { phase: 'Failed' } }, 'merge', { namespace: 'default', subresource: 'status' }), 'n1 writes p2 status');
  await forbidden(n1.patch(PODS, 'p1', { metadata: { labels: { a: 'b' } } }, 'merge', { namespace: 'default' }), 'n1 relabels its pod');
  await forbidden(n1.delete(PODS, 'p2', { namespace: 'default' }), 'n1 deletes p2');
  await forbidden(n1.create(PODS, pod('p3', 'n1')), 'n1 creates a pod');
  // Once p2 is gone from n2, n2 loses the secret.
  assert.equal((await n2.get(SECRETS, 'used', { namespace: 'default' })).metadata.name, 'used');
  await admin.delete(PODS, 'p2', { namespace: 'default', gracePeriodSeconds: 0 });
  await eventually('n2 to lose the secret', async () => {
    try {
      await n2.get(SECRETS, 'used', { namespace: 'default' });
      return false;
    } catch (err) {
      return isNubisError(err, 'Forbidden');
    }
  });
});

test('a node certificate for another node is not approved for a node, and a person\'s waits for an admin', async () => {
  const key = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const req = (cn: string, orgs: string[]) => Buffer.from(makeCertificateSigningRequest({ commonName: cn, organizations: orgs, key })).toString('base64');
  const csr = (name: string, request: string, signerName: string) => ({ apiVersion: 'certificates.k8s.io/v1', kind: 'CertificateSigningRequest', metadata: { name }, spec: { request, signerName, usages: ['digital signature', 'client auth'] } });
  await n1.create(CSRS, csr('steal-n2', req('system:node:n2', ['system:nodes']), 'kubernetes.io/kube-apiserver-client-kubelet'));
  await admin.create(CSRS, csr('dave', req('dave', ['devs']), 'kubernetes.io/kube-apiserver-client'));
  await new Promise((r) => setTimeout(r, 500));
  for (const name of ['steal-n2', 'dave']) {
    const got = await admin.get(CSRS, name);
    assert.equal(got.status, undefined, `${name} stays pending`);
  }
  await s.kubectl(['certificate', 'approve', 'dave']);
  const issued = await eventually('dave to be issued', async () => (await admin.get(CSRS, 'dave')).status as { certificate?: string } | undefined);
  assert.ok(issued.certificate);
  const cert = new X509Certificate(Buffer.from(issued.certificate, 'base64'));
  assert.equal(cert.subject, 'O=devs\nCN=dave');
  // A pending request cannot be given a certificate by its requester.
  await forbidden(n1.patch(CSRS, 'steal-n2', { status: { certificate: issued.certificate } }, 'merge', { subresource: 'status' }), 'n1 issues itself a certificate');
});

test('a node renews its certificate as itself before it expires, and keeps working', async () => {
  const pki = path.join(s.dataDir, 'apiserver', 'pki');
  const ca = { cert: await readFile(path.join(pki, 'ca.crt'), 'utf8'), key: await readFile(path.join(pki, 'ca.key'), 'utf8') };
  const key = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  // Issued an hour ago (the CA back-dates by an hour) and valid for two minutes more: past 80% of its life.
  const old = makeCertificate({ commonName: 'system:node:n3', organizations: ['system:nodes'], key, issuer: ca, validDays: 120 / 86_400, ca: false, usage: 'client' });
  const n3 = new RestClient({ server: `https://127.0.0.1:${s.server.port}`, ca: s.ca, cert: old, key });
  await n3.create(NODES, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n3' } }); // only a registered node renews
  const stop = new AbortController();
  try {
    assert.equal((await n3.get(NODES, 'n1')).metadata.name, 'n1');
    let saved: { cert: string } | undefined;
    renewNodeCertificate(n3, 'n3', async (c) => void (saved = c), stop.signal, () => {});
    await eventually('the renewed certificate', async () => saved);
    const renewed = new X509Certificate(saved!.cert);
    assert.equal(renewed.subject, 'O=system:nodes\nCN=system:node:n3');
    assert.ok(Date.parse(renewed.validTo) > Date.now() + 300 * 86_400_000, 'a year-long certificate');
    assert.equal(n3.connection.cert, saved!.cert, 'the client uses it');
    assert.equal((await n3.get(NODES, 'n1')).metadata.name, 'n1');
    const csrs = (await admin.list(CSRS)).items.filter((c) => c.metadata.name.startsWith('node-csr-n3-'));
    assert.equal((csrs[0]!.spec as { username: string }).username, 'system:node:n3', 'asked as the node itself');
  } finally {
    stop.abort();
    n3.close();
  }
});

test('a join token does not take over the name of a Ready node', async () => {
  await admin.patch(NODES, 'n1', { status: { conditions: [{ type: 'Ready', status: 'True', reason: 'AgentReady', lastHeartbeatTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }] } }, 'merge', { subresource: 'status' });
  await assert.rejects(requestNodeCertificate(bootstrap, 'n1', 10_000), /a Ready node named n1 is registered/);
});

test('finished certificate requests are cleaned up after an hour, pending ones after a day', async () => {
  const signer = (s.server as unknown as { signer: { sweep(now: number): Promise<void> } }).signer;
  await signer.sweep(Date.now() + 2 * 3600_000);
  const names = (await admin.list(CSRS)).items.map((c) => c.metadata.name);
  assert.deepEqual(names, ['steal-n2']); // the denied n1 request went with the finished ones
  await signer.sweep(Date.now() + 25 * 3600_000);
  assert.deepEqual((await admin.list(CSRS)).items, []);
});
