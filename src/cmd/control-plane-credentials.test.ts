import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { CONTROLLER_ROLES } from '../apiserver/authz/control-plane-policy.js';
import { bootstrapPolicy } from '../apiserver/authz/bootstrap-policy.js';
import { ensureServerPki, pkiDir } from '../apiserver/pki.js';
import { CONTROLLER_ACCOUNTS } from '../controllers/index.js';
import { controlPlaneClients } from './control-plane-credentials.js';

test('every controller account has its bootstrap role and binding, and every such role a controller', () => {
  const p = bootstrapPolicy();
  const accounts = new Set(Object.values(CONTROLLER_ACCOUNTS));
  for (const account of accounts) {
    assert.ok(p.clusterRoles.some((r) => r.metadata.name === `system:controller:${account}` && (r.rules ?? []).length > 0), `ClusterRole system:controller:${account}`);
    const binding = p.clusterRoleBindings.find((b) => b.metadata.name === `system:controller:${account}`);
    assert.deepEqual(binding?.subjects, [{ kind: 'ServiceAccount', apiGroup: '', name: account, namespace: 'kube-system' }]);
    assert.equal(binding?.roleRef.name, `system:controller:${account}`);
  }
  assert.deepEqual(Object.keys(CONTROLLER_ROLES).sort(), [...accounts].sort());
  for (const [name, user] of [['system:kube-scheduler', 'system:kube-scheduler'], ['system:kube-controller-manager', 'system:kube-controller-manager']]) {
    assert.deepEqual(p.clusterRoleBindings.find((b) => b.metadata.name === name)?.subjects, [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: user }]);
  }
});

test('the control loops get certificates of the cluster CA naming them, made in memory', async () => {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'nubis-cp-creds-'));
  const abort = new AbortController();
  try {
    const pki = await ensureServerPki(dataDir, ['127.0.0.1']);
    const files = await readdir(pkiDir(dataDir));
    const clients = await controlPlaneClients(dataDir, { url: 'https://127.0.0.1:1' }, abort.signal);
    const subject = (pem: unknown) => {
      const c = new X509Certificate(String(pem));
      assert.ok(c.verify(new X509Certificate(pki.caCert).publicKey), 'signed by the cluster CA');
      assert.ok(Date.parse(c.validTo) > Date.now() + 300 * 86_400_000, 'valid for about a year');
      return c.subject;
    };
    assert.equal(subject(clients.scheduler.connection.cert), 'CN=system:kube-scheduler');
    assert.equal(subject(clients.controllerManager.connection.cert), 'CN=system:kube-controller-manager');
    const rs = clients.controller('replicaset-controller');
    assert.equal(subject(rs.connection.cert), 'O=system:serviceaccounts\nO=system:serviceaccounts:kube-system\nCN=system:serviceaccount:kube-system:replicaset-controller');
    assert.equal(clients.controller('replicaset-controller'), rs, 'one client per account');
    assert.deepEqual(await readdir(pkiDir(dataDir)), files, 'nothing written to disk');
    clients.close();
  } finally {
    abort.abort();
    await rm(dataDir, { recursive: true, force: true });
  }
});
