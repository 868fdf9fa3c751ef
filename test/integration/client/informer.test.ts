/**
 * The informer against a real API server behind a TCP proxy: it syncs, follows changes, resumes after
 * its connection is cut mid-stream, and after a server restart plus compaction (410 Gone) lists again
 * and converges, telling handlers about what it missed.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { KubeObject } from '../../../src/api/meta.js';
import { ApiServer } from '../../../src/apiserver/api-server.js';
import { Informer } from '../../../src/client/informer.js';
import { connectionFor, loadKubeconfig, selectContext } from '../../../src/client/kubeconfig.js';
import { RestClient, type ResourceInfo } from '../../../src/client/rest-client.js';
import { eventually, TestServer } from '../apiserver/harness.js';
import { TcpProxy } from './tcp-proxy.js';

let s: TestServer;
let proxy: TcpProxy;
let direct: RestClient;
let viaProxy: RestClient;
const extraServers: ApiServer[] = [];

const configmaps: ResourceInfo = { group: '', version: 'v1', resource: 'configmaps', kind: 'ConfigMap', namespaced: true };
const pods: ResourceInfo = { group: '', version: 'v1', resource: 'pods', kind: 'Pod', namespaced: true };

before(async () => {
  s = await TestServer.start();
  const conn = await connectionFor(selectContext((await loadKubeconfig({ flag: s.kubeconfig })).config));
  direct = new RestClient(conn);
  proxy = await TcpProxy.start(s.server.port);
  viaProxy = new RestClient({ ...conn, server: proxy.url });
});
after(async () => {
  viaProxy?.close();
  direct?.close();
  await proxy?.close();
  for (const x of extraServers) await x.close();
  await s?.close();
});

const cm = (name: string, data: Record<string, string> = {}): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'inf' }, data });

/** The server's view, as name -> data JSON. */
async function serverState(): Promise<Map<string, string>> {
  const list = await direct.listAll(configmaps, { namespace: 'inf', fieldSelector: 'metadata.name!=kube-root-ca.crt' });
  return new Map(list.items.map((o) => [o.metadata.name, JSON.stringify(o.data ?? {})]));
}

function cacheState(inf: Informer): Map<string, string> {
  return new Map(inf.cache.list().map((o) => [o.metadata.name, JSON.stringify(o.data ?? {})]));
}

async function converged(inf: Informer): Promise<void> {
  await eventually('the informer cache to equal the server', async () => {
    const want = await serverState();
    const have = cacheState(inf);
    return JSON.stringify([...want].sort()) === JSON.stringify([...have].sort());
  });
}

test('syncs, follows changes, resumes after the connection is cut, relists after 410 and converges', async () => {
  await direct.create({ group: '', version: 'v1', resource: 'namespaces', kind: 'Namespace', namespaced: false }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'inf' } });
  for (let i = 0; i < 5; i++) await direct.create(configmaps, cm(`pre-${i}`, { i: String(i) }));

  // The namespace's own CA ConfigMap (made by the server at any moment) is not this test's.
  const inf = new Informer(viaProxy, configmaps, { namespace: 'inf', fieldSelector: 'metadata.name!=kube-root-ca.crt', pageSize: 2, backoff: { initialMs: 50, maxMs: 500 } });
  const added: string[] = [];
  const updated: string[] = [];
  const deleted: string[] = [];
  inf.addHandlers({ add: (o) => added.push(o.metadata.name), update: (_, o) => updated.push(o.metadata.name), delete: (o) => deleted.push(o.metadata.name) });
  const ac = new AbortController();
  const running = inf.run(ac.signal);
  try {
    await inf.waitForSync(AbortSignal.timeout(20_000));
    assert.ok(inf.hasSynced());
    assert.equal(inf.cache.size, 5);
    assert.deepEqual(added.sort(), ['pre-0', 'pre-1', 'pre-2', 'pre-3', 'pre-4']);

    await direct.create(configmaps, cm('live'));
    await direct.patch(configmaps, 'pre-0', { data: { i: 'changed' } }, 'merge', { namespace: 'inf' });
    await direct.delete(configmaps, 'pre-1', { namespace: 'inf' });
    await converged(inf);
    assert.ok(added.includes('live') && updated.includes('pre-0') && deleted.includes('pre-1'));

    // Cut the watch mid-stream: changes made while it reconnects arrive by resuming from its version.
    const watchesBefore = inf.stats.watches;
    const listsBefore = inf.stats.lists;
    proxy.killAll();
    await direct.create(configmaps, cm('after-cut'));
    await direct.delete(configmaps, 'pre-2', { namespace: 'inf' });
    await converged(inf);
    assert.ok(inf.stats.watches > watchesBefore, 'the informer watched again');
    assert.equal(inf.stats.lists, listsBefore, 'a cut connection resumes the watch without a relist');

    // Server gone, history compacted, a new server: the informer's version is gone (410), so it lists.
    proxy.down = true;
    proxy.killAll();
    await direct.create(configmaps, cm('while-down'));
    await direct.delete(configmaps, 'pre-3', { namespace: 'inf' });
    await direct.patch(configmaps, 'pre-4', { data: { i: 'down' } }, 'merge', { namespace: 'inf' });
    await s.store.compact(await s.store.currentRevision());
    const fresh = await ApiServer.start({ dataDir: s.dataDir, store: s.store, listen: '127.0.0.1', port: 0 });
    extraServers.push(fresh);
    proxy.target = fresh.port;
    proxy.down = false;
    await converged(inf);
    assert.ok(inf.stats.expired >= 1, `expected a 410, stats ${JSON.stringify(inf.stats)}`);
    assert.ok(inf.stats.lists > listsBefore, 'relisted');
    assert.ok(added.includes('while-down'), 'the relist reported the object created while away');
    assert.ok(deleted.includes('pre-3'), 'the relist reported the object deleted while away');
    assert.ok(updated.includes('pre-4'));

    // And it keeps following the new server.
    await direct.create(configmaps, cm('after-relist'));
    await converged(inf);
  } finally {
    ac.abort();
    await running;
  }
});

test('custom indexers: pods by spec.nodeName follow moves and deletes', async () => {
  const inf = new Informer(direct, pods, {
    namespace: 'inf',
    indexers: { node: (p) => [(p.spec as { nodeName?: string } | undefined)?.nodeName ?? ''] },
  });
  const ac = new AbortController();
  const running = inf.run(ac.signal);
  const pod = (name: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'inf' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
  try {
    await inf.waitForSync(AbortSignal.timeout(20_000));
    await direct.create(pods, pod('a'));
    await direct.create(pods, pod('b'));
    await direct.createSubresource(pods, 'a', 'binding', { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'a' }, target: { kind: 'Node', name: 'n1' } }, { namespace: 'inf' });
    await eventually('pod a indexed under n1', async () => inf.cache.byIndex('node', 'n1').map((p) => p.metadata.name).join() === 'a');
    assert.deepEqual(inf.cache.byIndex('node', '').map((p) => p.metadata.name), ['b']);
    assert.deepEqual(inf.cache.byIndex('namespace', 'inf').map((p) => p.metadata.name).sort(), ['a', 'b']);
    await direct.delete(pods, 'a', { namespace: 'inf', gracePeriodSeconds: 0 });
    await eventually('pod a gone from the index', async () => inf.cache.byIndex('node', 'n1').length === 0);
    assert.equal(inf.cache.getByName('inf', 'b')?.metadata.name, 'b');
  } finally {
    ac.abort();
    await running;
  }
});

test('the client reuses its connection: many requests, one TLS connection', async () => {
  const before = proxy.connections;
  for (let i = 0; i < 20; i++) await viaProxy.list(configmaps, { namespace: 'inf', limit: 1 });
  await Promise.all(Array.from({ length: 5 }, () => viaProxy.get(configmaps, 'live', { namespace: 'inf' })));
  const opened = proxy.connections - before;
  assert.ok(opened >= 0 && opened <= 5, `opened ${opened} connections for 25 requests`);
});
