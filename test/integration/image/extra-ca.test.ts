/**
 * NODE_EXTRA_CA_CERTS, handed over by bin/nubis as NUBIS_EXTRA_CA_CERTS, is still trusted where Nubis
 * opens outbound TLS connections to servers it has no CA for (a registry, an API server named by a
 * kubeconfig without one; here an HTTPS server on loopback with its own CA), and Node no longer parses
 * it at start.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ensureServerPki, pkiDir } from '../../../src/apiserver/pki.js';
import { HttpAgents, httpGet } from '../../../src/image/http-get.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
let dir: string;
let server: https.Server;
let url: string;

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'nubis-extra-ca-'));
  const pki = await ensureServerPki(dir, ['127.0.0.1']);
  // As a registry it answers anything; as an API server, discovery and a namespace list.
  const api: Record<string, unknown> = {
    '/api': { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] },
    '/apis': { kind: 'APIGroupList', apiVersion: 'v1', groups: [] },
    '/api/v1': { kind: 'APIResourceList', groupVersion: 'v1', resources: [{ name: 'namespaces', singularName: 'namespace', namespaced: false, kind: 'Namespace', verbs: ['get', 'list'], shortNames: ['ns'] }] },
    '/api/v1/namespaces': { kind: 'NamespaceList', apiVersion: 'v1', metadata: {}, items: [{ metadata: { name: 'trusted-ns' }, status: { phase: 'Active' } }] },
  };
  server = https.createServer({ cert: pki.cert, key: pki.key }, (req, res) => {
    const body = api[(req.url ?? '').split('?')[0]!];
    if (body === undefined) return res.end('trusted');
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/v2/`;
});
after(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await fs.rm(dir, { recursive: true, force: true });
});

test('a registry connection trusts the CA named by NUBIS_EXTRA_CA_CERTS, and only then', async () => {
  const before = process.env.NUBIS_EXTRA_CA_CERTS;
  try {
    delete process.env.NUBIS_EXTRA_CA_CERTS;
    const plain = new HttpAgents();
    await assert.rejects(httpGet(url, {}, { agents: plain }), /self[- ]signed|unable to (verify|get local issuer)/i);
    plain.destroy();
    process.env.NUBIS_EXTRA_CA_CERTS = path.join(pkiDir(dir), 'ca.crt');
    const agents = new HttpAgents();
    const res = await httpGet(url, {}, { agents });
    assert.equal(res.status, 200);
    agents.destroy();
  } finally {
    if (before === undefined) delete process.env.NUBIS_EXTRA_CA_CERTS;
    else process.env.NUBIS_EXTRA_CA_CERTS = before;
  }
});

test('bin/nubis hands NODE_EXTRA_CA_CERTS over: not loaded at start, still trusted by a kubeconfig without a CA', async () => {
  const missing = { ...process.env, NODE_EXTRA_CA_CERTS: path.join(dir, 'no-such-bundle.pem') };
  const direct = spawnSync(process.execPath, ['-e', '0'], { env: missing, encoding: 'utf8' });
  assert.match(direct.stderr, /Ignoring extra certs/, 'Node itself loads the variable at start');
  const quiet = spawnSync(path.join(ROOT, 'bin', 'nubis'), ['--version'], { env: missing, encoding: 'utf8' });
  assert.equal(quiet.status, 0, quiet.stderr);
  assert.doesNotMatch(quiet.stderr, /Ignoring extra certs/);

  const kubeconfig = path.join(dir, 'kubeconfig');
  await fs.writeFile(
    kubeconfig,
    `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "${new URL(url).origin}"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n`,
  );
  // Not spawnSync: the server answers from this process's event loop.
  const get = (env: NodeJS.ProcessEnv) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(path.join(ROOT, 'bin', 'nubis'), ['get', 'ns', '-o', 'name', '--kubeconfig', kubeconfig], { env, encoding: 'utf8', timeout: 30_000 }, (err, stdout, stderr) =>
        resolve({ status: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
      );
    });
  const { NODE_EXTRA_CA_CERTS: _unset, ...plain } = process.env;
  const untrusted = await get(plain);
  assert.notEqual(untrusted.status, 0, 'without the extra CA the server is not trusted');
  assert.match(untrusted.stderr, /certificate|self[- ]signed|issuer/i);
  const trusted = await get({ ...process.env, NODE_EXTRA_CA_CERTS: path.join(pkiDir(dir), 'ca.crt') });
  assert.equal(trusted.status, 0, trusted.stderr);
  assert.equal(trusted.stdout, 'namespace/trusted-ns\n');
});
