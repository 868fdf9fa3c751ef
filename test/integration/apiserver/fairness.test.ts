/**
 * Fairness: a user with as many requests in flight as it may have gets 429 with Retry-After for more;
 * other users, and the cluster admin, are served meanwhile.
 */
import assert from 'node:assert/strict';
import https from 'node:https';
import { after, before, test } from 'node:test';
import { TestServer } from './harness.js';

let s: TestServer;
before(async () => {
  s = await TestServer.start({ fairness: { perUser: 1, perTenant: 2 } });
});
after(async () => {
  await s?.close();
});

test('a user at its in-flight limit waits its turn (429); others go on', async () => {
  const alice = await s.addUser('alice', ['nubis:tenant:acme', 'nubis:tenant:acme:admin']);
  const bob = await s.addUser('bob');
  // alice's first request holds its slot while its body is still coming.
  // (A self review: allowed to everyone, so the server reads on instead of answering at once.)
  const held = https.request({ host: '127.0.0.1', port: s.server.port, method: 'POST', path: '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', ca: s.ca, headers: { Authorization: `Bearer ${alice}`, 'Content-Type': 'application/json', 'Content-Length': 1000 } });
  held.on('error', () => {});
  held.write('{"apiVersion":');
  await new Promise((r) => setTimeout(r, 300));
  const second = await s.request('GET', '/api/v1/namespaces/default/configmaps', { token: alice });
  assert.equal(second.status, 429);
  assert.equal(second.headers['retry-after'], '1');
  assert.equal(second.json().reason, 'TooManyRequests');
  assert.notEqual((await s.request('GET', '/version', { token: bob })).status, 429, 'another user');
  assert.equal((await s.request('GET', '/api/v1/namespaces')).status, 200, 'the admin');
  held.destroy();
  await new Promise((r) => setTimeout(r, 200));
  assert.notEqual((await s.request('GET', '/version', { token: alice })).status, 429, 'the slot is free again');
});
