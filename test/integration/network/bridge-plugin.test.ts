import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { RealHost } from '../../../src/host/real-host.js';
import { BridgePlugin } from '../../../src/network/bridge-plugin.js';
import { NodeRoutes } from '../../../src/network/node-routes.js';
import { ServiceRules } from '../../../src/network/service-rules.js';
import { NetnsFixture } from './netns-fixture.js';

const host = new RealHost();

function ping(netnsPath: string, ip: string): boolean {
  return spawnSync('nsenter', [`--net=${netnsPath}`, '--', 'busybox', 'ping', '-c', '1', '-W', '2', ip]).status === 0;
}

describe('bridge plugin (two nodes, each in its own namespace)', async () => {
  const fx = new NetnsFixture();
  after(async () => assert.deepEqual(await fx.cleanup(), [], 'leftover namespaces or links'));

  const n1 = fx.netns('n1');
  const n2 = fx.netns('n2');
  fx.wire(n1, '192.168.77.1/24', n2, '192.168.77.2/24');
  const dir = await fx.tmpDir();
  const p1 = new BridgePlugin({ host, podRange: '10.42.1.0/24', ipamDir: path.join(dir, 'n1'), bridge: 'nubis0', nodeNetns: fx.path(n1) });
  const p2 = new BridgePlugin({ host, podRange: '10.42.2.0/24', ipamDir: path.join(dir, 'n2'), bridge: 'nubis0', nodeNetns: fx.path(n2) });
  const r1 = new NodeRoutes(host, { nodeNetns: fx.path(n1) });
  const r2 = new NodeRoutes(host, { nodeNetns: fx.path(n2) });
  const meta = (uid: string) => ({ podUid: uid, namespace: 'default', name: uid });

  it('gives pods addresses, loopback and a route to their node; setUp is idempotent', async () => {
    const a = await fx.sandbox();
    const b = await fx.sandbox();
    const ipA = (await p1.setUp({ ...meta('a'), ...a })).ips[0]!;
    const ipB = (await p1.setUp({ ...meta('b'), ...b })).ips[0]!;
    assert.equal(ipA, '10.42.1.2');
    assert.equal(ipB, '10.42.1.3');
    assert.deepEqual(await p1.setUp({ ...meta('a'), ...a }), { ips: [ipA] });
    assert.ok(ping(a.netnsPath, ipB), 'pod to pod on one node');
    assert.ok(ping(a.netnsPath, '10.42.1.1'), 'pod to its node (gateway)');
    assert.ok(ping(a.netnsPath, '127.0.0.1'), 'loopback up inside');
    const lo = spawnSync('nsenter', [`--net=${a.netnsPath}`, '--', 'ip', '-o', 'link', 'show', 'lo'], { encoding: 'utf8' }).stdout;
    assert.match(lo, /UP/);
    await p1.tearDown(meta('b'));
    assert.ok(!ping(a.netnsPath, ipB), 'torn-down pod unreachable');
    assert.equal(fx.try(n1, 'ip', ['link', 'show', p1.vethName('b')]).code, 1, 'veth removed');
    assert.deepEqual([...(await p1.ipam.list()).values()], ['a']);
    await p1.tearDown(meta('b'));
    await p1.tearDown(meta('a'));
  });

  it('routes pod to pod across nodes without NAT, and reconcile removes its stale routes', async () => {
    const a = await fx.sandbox();
    const c = await fx.sandbox();
    const ipA = (await p1.setUp({ ...meta('x1'), ...a })).ips[0]!;
    const ipC = (await p2.setUp({ ...meta('x2'), ...c })).ips[0]!;
    assert.ok(!ping(a.netnsPath, ipC), 'no route yet');
    assert.deepEqual(await r1.reconcile([{ cidr: '10.42.2.0/24', via: '192.168.77.2' }]), { added: ['10.42.2.0/24'], removed: [] });
    await r2.reconcile([{ cidr: '10.42.1.0/24', via: '192.168.77.1' }]);
    assert.ok(ping(a.netnsPath, ipC), `pod ${ipA} on node 1 to pod ${ipC} on node 2`);
    // No NAT: the pod on node 2 sees node 1's pod address as the source.
    await fx.echoServer(c.netnsPath, 9000, 'c');
    assert.equal(fx.request(a.netnsPath, ipC, 9000), `c ${ipA}`);
    assert.deepEqual(await r1.list(), [{ cidr: '10.42.2.0/24', via: '192.168.77.2' }]);
    assert.deepEqual(await r1.reconcile([]), { added: [], removed: ['10.42.2.0/24'] });
    assert.deepEqual(await r1.list(), []);
    assert.ok(!ping(a.netnsPath, ipC), 'route gone');
    // Routes not ours are left alone.
    assert.match(fx.exec(n1, 'ip', ['route']), /192\.168\.77\.0\/24/);
    await r2.reconcile([]);
  });

  it('balances a ClusterIP on one node to a pod on the other; a NodePort from outside is masqueraded', async () => {
    const a = await fx.sandbox();
    const c = await fx.sandbox();
    const ipA = (await p1.setUp({ ...meta('y1'), ...a })).ips[0]!;
    const ipC = (await p2.setUp({ ...meta('y2'), ...c })).ips[0]!;
    await r1.reconcile([{ cidr: '10.42.2.0/24', via: '192.168.77.2' }]);
    await r2.reconcile([{ cidr: '10.42.1.0/24', via: '192.168.77.1' }]);
    await fx.echoServer(c.netnsPath, 8080, 'c');
    const rules = new ServiceRules({ host, netns: fx.path(n1) });
    await rules.sync([{ key: 'default/c', clusterIP: '10.43.0.30', ports: [{ protocol: 'TCP', port: 80, nodePort: 30080, endpoints: [{ ip: ipC, port: 8080, ready: true }] }] }]);
    assert.equal(fx.request(a.netnsPath, '10.43.0.30', 80), `c ${ipA}`, 'pod address kept across nodes');
    // From node 2's own namespace (outside node 1) to node 1's NodePort: the reply must return through node 1.
    assert.equal(fx.exec(n2, 'busybox', ['nc', '-w', '2', '192.168.77.1', '30080'], '').trim(), 'c 192.168.77.1');
    await rules.clear();
    await r1.reconcile([]);
    await r2.reconcile([]);
    await p1.tearDown(meta('y1'));
    await p2.tearDown(meta('y2'));
  });

  it('reclaims addresses and veths of pods gone while the agent was down', async () => {
    const s = await fx.sandbox();
    await p2.setUp({ ...meta('live'), ...(await fx.sandbox()) });
    await p2.setUp({ ...meta('gone'), ...s });
    const restarted = new BridgePlugin({ host, podRange: '10.42.2.0/24', ipamDir: p2.ipam.dir, bridge: 'nubis0', nodeNetns: fx.path(n2) });
    const freed = await restarted.reclaim(['live', 'x2']);
    assert.equal(freed.length, 1);
    assert.equal(fx.try(n2, 'ip', ['link', 'show', p2.vethName('gone')]).code, 1);
    assert.equal(fx.try(n2, 'ip', ['link', 'show', p2.vethName('live')]).code, 0);
    await restarted.reclaim([]);
    assert.deepEqual([...(await restarted.ipam.list())], []);
    assert.doesNotMatch(fx.exec(n2, 'ip', ['-o', 'link', 'show', 'type', 'veth']), /nv[0-9a-f]{13}/);
    await p1.removeBridge();
    await p2.removeBridge();
  });
});
