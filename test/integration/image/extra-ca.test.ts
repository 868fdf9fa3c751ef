/**
 * NODE_EXTRA_CA_CERTS, handed over by bin/nubis as NUBIS_EXTRA_CA_CERTS, is still trusted where Nubis
 * opens outbound TLS connections (a registry here, an HTTPS server on loopback with its own CA), and
 * Node no longer parses it at start.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
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
  server = https.createServer({ cert: pki.cert, key: pki.key }, (_req, res) => res.end('trusted'));
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

test('bin/nubis hands NODE_EXTRA_CA_CERTS over instead of letting Node load it at start', () => {
  const env = { ...process.env, NODE_EXTRA_CA_CERTS: path.join(dir, 'no-such-bundle.pem') };
  const direct = spawnSync(process.execPath, ['-e', '0'], { env, encoding: 'utf8' });
  assert.match(direct.stderr, /Ignoring extra certs/, 'Node itself loads the variable at start');
  const nubis = spawnSync(path.join(ROOT, 'bin', 'nubis'), ['--version'], { env, encoding: 'utf8' });
  assert.equal(nubis.status, 0, nubis.stderr);
  assert.doesNotMatch(nubis.stderr, /Ignoring extra certs/);
});
