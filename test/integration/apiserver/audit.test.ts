/**
 * The audit log: a JSON line per request with who, what, the answer and how long it took; never a
 * body (a password set or a Secret created leaves no trace of its value); rotated by size.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { auditLogFile } from '../../../src/apiserver/audit-log.js';
import { eventually, requireKubectl, TestServer } from './harness.js';

let s: TestServer;
before(async () => {
  requireKubectl();
  s = await TestServer.start({ audit: { maxBytes: 64 * 1024, keep: 2 } });
});
after(async () => {
  await s?.close();
});

const lines = async () => (await readFile(auditLogFile(s.dataDir), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

test('every request is a line: user, verb, resource, namespace, name, code, latency; no bodies', async () => {
  await s.kubectl(['create', 'secret', 'generic', 'db', '--from-literal=password=hunter2-very-secret']);
  await s.kubectl(['get', 'secret', 'nope'], { allowFail: true });
  const bob = await s.addUser('bob');
  await s.kubectlAs(bob, ['get', 'pods'], { allowFail: true });
  await s.request('GET', '/api/v1/namespaces', { token: 'nubis-wrong' });
  const all = await eventually('the lines to be written', async () => {
    const l = await lines();
    return l.some((e) => e.user === 'bob' && e.code === 403) ? l : undefined;
  });
  const create = all.find((e) => e.verb === 'create' && e.resource === 'secrets');
  assert.ok(create, 'the secret creation');
  assert.equal(create.user, 'admin');
  assert.equal(create.namespace, 'default');
  assert.equal(create.code, 201);
  assert.equal(typeof create.latencyMs, 'number');
  assert.ok(all.some((e) => e.verb === 'get' && e.name === 'nope' && e.code === 404));
  assert.ok(all.some((e) => e.user === 'bob' && e.verb === 'list' && e.resource === 'pods' && e.code === 403));
  assert.ok(all.some((e) => e.user === '' && e.code === 401), 'a bad token: no user, 401');
  const text = await readFile(auditLogFile(s.dataDir), 'utf8');
  assert.doesNotMatch(text, /hunter2|aHVudGVyMi/, 'no secret value, plain or base64');
});

test('the log rotates by size and keeps the number of files asked for', async () => {
  for (let i = 0; i < 900; i++) await s.request('GET', `/api/v1/namespaces/default/configmaps/x${i}`);
  await eventually('rotation', async () => {
    const files = (await readdir(path.dirname(auditLogFile(s.dataDir)))).filter((f) => f.startsWith('audit.log'));
    return files.sort().join(',') === 'audit.log,audit.log.1,audit.log.2';
  });
});
