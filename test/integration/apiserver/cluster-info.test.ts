/**
 * kubeadm-style discovery: anyone may GET kube-public/cluster-info (and nothing else) without credentials;
 * the agent's join fetches the CA anonymously, checks --ca-cert-hash, and sends the join token only over
 * TLS verified against that CA, so an impostor server never sees it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ensureServerPki } from '../../../src/apiserver/pki.js';
import { RestClient } from '../../../src/client/rest-client.js';
import { caCertHash, createJoinToken, discoverCa, publishClusterInfo } from '../../../src/cmd/join.js';
import { TestServer } from './harness.js';

const CLUSTER_INFO = '/api/v1/namespaces/kube-public/configmaps/cluster-info';
let t: TestServer;
let url: string;
before(async () => {
  t = await TestServer.start();
  url = `https://127.0.0.1:${t.server.port}`;
  const admin = new RestClient({ server: url, token: t.token, ca: t.ca });
  await admin.create({ group: '', version: 'v1', resource: 'namespaces', kind: 'Namespace', namespaced: false }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kube-public' } }).catch(() => {});
  await publishClusterInfo(admin, t.ca, url);
  await admin.create({ group: '', version: 'v1', resource: 'configmaps', kind: 'ConfigMap', namespaced: true }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'other', namespace: 'kube-public' }, data: {} });
  admin.close();
});
after(async () => {
  await t?.close();
});

test('only a plain GET of kube-public/cluster-info is allowed without credentials (the bootstrap RBAC role)', async () => {
  const anon = await t.request('GET', CLUSTER_INFO, { token: null });
  assert.equal(anon.status, 200);
  assert.equal(anon.json().data['ca.crt'], t.ca);
  for (const p of ['/api/v1/namespaces/kube-public/configmaps/other', '/api/v1/namespaces/kube-public/configmaps', `${CLUSTER_INFO}?watch=true`, '/api/v1/namespaces/default/configmaps/cluster-info']) {
    assert.equal((await t.request('GET', p, { token: null })).status, 403, p);
  }
  assert.equal((await t.request('DELETE', CLUSTER_INFO, { token: null })).status, 403);
  // A bad token is refused, not treated as anonymous.
  assert.equal((await t.request('GET', CLUSTER_INFO, { token: 'abcdef.0000000000000000' })).status, 401);
});

test('join: the right pin and token give the CA; a wrong pin or token is refused', async () => {
  const token = await createJoinToken(t.dataDir);
  await new Promise((r) => setTimeout(r, 2500)); // the server re-reads its token file every 2 s
  assert.equal(await discoverCa(url, token, caCertHash(t.ca)), t.ca);
  await assert.rejects(discoverCa(url, token, `sha256:${'0'.repeat(64)}`), /does not match --ca-cert-hash/);
  await assert.rejects(discoverCa(url, 'abcdef.0123456789abcdef', caCertHash(t.ca)), /refused the join token/);
});

test('join: an impostor serving the real CA in cluster-info never receives the token', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nubis-impostor-'));
  const seen: Array<string | undefined> = [];
  const pki = await ensureServerPki(dir, ['127.0.0.1']);
  const impostor = https.createServer({ cert: pki.cert, key: pki.key }, (req, res) => {
    seen.push(req.headers.authorization);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cluster-info', namespace: 'kube-public' }, data: { 'ca.crt': t.ca } }));
  });
  try {
    await new Promise<void>((r) => impostor.listen(0, '127.0.0.1', r));
    const at = `https://127.0.0.1:${(impostor.address() as AddressInfo).port}`;
    await assert.rejects(discoverCa(at, 'abcdef.0123456789abcdef', caCertHash(t.ca)), (err: Error) => !/refused the join token/.test(err.message));
    assert.ok(seen.length >= 1, 'the CA was fetched from the impostor');
    assert.deepEqual(seen, seen.map(() => undefined), 'no request to the unverified server carried credentials');
  } finally {
    await new Promise((r) => impostor.close(r));
    await rm(dir, { recursive: true, force: true });
  }
});
