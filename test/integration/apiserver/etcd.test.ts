/** Two API servers on one real etcd (loopback): kubectl works on etcd, and a watch on A sees writes through B. */
import assert from 'node:assert/strict';
import https from 'node:https';
import { after, before, test } from 'node:test';
import { EtcdStore } from '../../../src/store/etcd/etcd-store.js';
import { EtcdCluster } from '../store/etcd-cluster.js';
import { eventually, requireKubectl, TestServer } from './harness.js';

let cluster: EtcdCluster | undefined;
let a: TestServer | undefined;
let b: TestServer | undefined;
const stores: EtcdStore[] = [];

before(async () => {
  requireKubectl();
  cluster = await EtcdCluster.start(1);
  const prefix = `/nubis-apiserver-${process.pid}/`;
  for (let i = 0; i < 2; i++) stores.push(new EtcdStore({ endpoints: cluster.endpoints, prefix }));
  a = await TestServer.start({ store: stores[0] });
  b = await TestServer.start({ store: stores[1] });
});

after(async () => {
  await a?.close();
  await b?.close();
  for (const st of stores) await st.close();
  await cluster?.stop();
});

test('kubectl apply/get/delete on an etcd-backed server', async () => {
  await a!.kubectl(['apply', '-f', '-'], { input: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: on-etcd}\ndata: {k: v}\n' });
  assert.equal((await b!.kubectl(['get', 'cm', 'on-etcd', '-o', 'jsonpath={.data.k}'])).stdout, 'v');
  assert.deepEqual((await b!.kubectl(['get', 'ns', '-o', 'name'])).stdout.trim().split('\n').length, 4);
  await b!.kubectl(['delete', 'cm', 'on-etcd']);
  assert.equal((await a!.request('GET', '/api/v1/namespaces/default/configmaps/on-etcd')).status, 404);
});

test('a watch on server A sees a write made through server B', async () => {
  const list = (await a!.request('GET', '/api/v1/namespaces/default/configmaps')).json();
  const lines: string[] = [];
  const req = https.request({
    host: '127.0.0.1',
    port: a!.server.port,
    path: `/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${list.metadata.resourceVersion}`,
    ca: a!.ca,
    headers: { Authorization: `Bearer ${a!.token}` },
  });
  req.on('response', (res) => {
    let buf = '';
    res.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        lines.push(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    });
  });
  req.on('error', () => {});
  req.end();
  try {
    const created = await b!.request('POST', '/api/v1/namespaces/default/configmaps', { body: JSON.stringify({ metadata: { name: 'via-b' }, data: { x: '1' } }) });
    assert.equal(created.status, 201);
    await b!.request('PATCH', '/api/v1/namespaces/default/configmaps/via-b', {
      body: JSON.stringify({ data: { x: '2' } }),
      headers: { 'Content-Type': 'application/merge-patch+json' },
    });
    const events = await eventually('both events on A', async () => {
      const evs = lines.map((l) => JSON.parse(l)).filter((e) => e.object.metadata.name === 'via-b');
      return evs.length >= 2 ? evs : undefined;
    });
    assert.deepEqual(events.map((e) => `${e.type} ${e.object.data.x}`), ['ADDED 1', 'MODIFIED 2']);
    assert.equal(events[0].object.metadata.resourceVersion, created.json().metadata.resourceVersion);
  } finally {
    req.destroy();
  }
});
