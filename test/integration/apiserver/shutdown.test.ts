/**
 * The API server's own ends: in-process connections (connectLocal) authenticate like any other, and
 * close() ends every connection at once, also those still in their TLS handshake, which kept it (and
 * so `nubis server` after SIGTERM) waiting for as long as their clients held them.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { RestClient } from '../../../src/client/rest-client.js';
import { NAMESPACES } from '../../../src/controllers/resources.js';
import { auditRecords } from '../controllers/harness.js';
import { TestServer } from './harness.js';

let s: TestServer | undefined;
const sockets: net.Socket[] = [];
before(async () => {
  s = await TestServer.start();
});
after(async () => {
  for (const socket of sockets) socket.destroy();
  await s?.close();
});

test('a connection made in-process is authenticated and audited like any other', async () => {
  const local = new RestClient({ server: s!.server.url, ca: s!.ca, token: s!.token, dial: () => s!.server.connectLocal() }, { userAgent: 'local-test' });
  try {
    assert.equal((await local.get(NAMESPACES, 'default')).metadata.name, 'default');
    const anonymous = new RestClient({ server: s!.server.url, ca: s!.ca, dial: () => s!.server.connectLocal() });
    await assert.rejects(anonymous.get(NAMESPACES, 'default'), { code: 'Forbidden' });
    anonymous.close();
  } finally {
    local.close();
  }
  await new Promise((r) => setTimeout(r, 100));
  const audited = auditRecords(s!.dataDir).filter((r) => r.resource === 'namespaces' && r.name === 'default');
  assert.ok(audited.some((r) => r.user === 'admin' && r.code === 200));
  assert.ok(audited.some((r) => r.user === 'system:anonymous' && r.code === 403));
});

test('close() ends connections that never finished their TLS handshake, and in-process ones', async () => {
  const port = s!.server.port;
  for (let i = 0; i < 20; i++) sockets.push(net.connect({ host: '127.0.0.1', port }).on('error', () => {}));
  await Promise.all(sockets.map((socket) => new Promise((r) => socket.once('connect', r))));
  const local = s!.server.connectLocal();
  const localClosed = new Promise((r) => local.once('close', r));
  await new Promise((r) => setTimeout(r, 200));
  const started = Date.now();
  await s!.server.close();
  const ms = Date.now() - started;
  assert.ok(ms < 2000, `close() took ${ms} ms`);
  await localClosed;
  await Promise.all(sockets.map((socket) => (socket.closed ? undefined : new Promise((r) => socket.once('close', r)))));
  assert.ok(sockets.every((socket) => socket.destroyed), 'the stalled connections were closed by the server');
});
