import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { FakeHost } from '../host/fake-host.js';
import { BridgePlugin } from './bridge-plugin.js';
import { NodeRoutes } from './node-routes.js';

const ok = (stdout = '') => ({ code: 0, signal: null, stdout, stderr: '' });
const fail = { code: 1, signal: null, stdout: '', stderr: 'Cannot find device' };

function runs(host: FakeHost): string[] {
  return host.calls.flatMap((c) => (c.op === 'run' ? [[c.cmd, ...c.args].join(' ')] : []));
}

describe('BridgePlugin', async () => {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'nubis-bridge-'));
  after(() => fs.rm(root, { recursive: true, force: true }));
  const sandbox = { podUid: 'uid-1', namespace: 'default', name: 'web', netnsPath: '/proc/42/ns/net' };

  it('names veths from the pod uid within 15 characters', () => {
    const p = new BridgePlugin({ host: new FakeHost(), podRange: '10.42.3.0/24', ipamDir: path.join(root, 'n') });
    assert.equal(p.vethName('uid-1').length, 15);
    assert.match(p.vethName('uid-1'), /^nv[0-9a-f]{13}$/);
    assert.notEqual(p.vethName('uid-1'), p.vethName('uid-2'));
  });

  it('creates the bridge, the veth pair and the pod side, and tears them down', async () => {
    const host = new FakeHost();
    host.responders.push((cmd, args) => (cmd === 'ip' && args[0] === 'link' && args[1] === 'show' ? fail : undefined));
    const p = new BridgePlugin({ host, podRange: '10.42.3.0/24', ipamDir: path.join(root, 'a'), bridge: 'tbr0' });
    assert.deepEqual(await p.setUp(sandbox), { ips: ['10.42.3.2'] });
    const veth = p.vethName('uid-1');
    const batches = host.calls.flatMap((c) => (c.op === 'run' && c.args.includes('-batch') ? [c] : []));
    assert.equal(batches.length, 3);
    const all = runs(host).join('\n');
    assert.match(all, /sysctl -q -w net\.ipv4\.ip_forward=1/);
    assert.match(all, /nsenter --net=\/proc\/42\/ns\/net -- ip -batch -/);
    assert.doesNotMatch(all, new RegExp(`link (show|del) dev ${veth}`), 'a new sandbox needs no look for an earlier veth');
    // The pod may send as its own address only: its port's entry goes in before the veth exists.
    const nft = host.calls.flatMap((c) => (c.op === 'run' && c.cmd === 'nft' ? [c.input ?? c.args.join(' ')] : []));
    assert.match(nft[0]!, /add table bridge nubis-guard-tbr0[\s\S]*iifname "nv\*" ether type ip iifname \. ip saddr != @pod-sources drop[\s\S]*ether type ip6 drop/);
    assert.equal(nft[1], `add element bridge nubis-guard-tbr0 pod-sources { "${veth}" . 10.42.3.2 }\n`);
    await p.tearDown(sandbox);
    assert.ok(runs(host).includes(`ip link del dev ${veth}`));
    assert.ok(runs(host).includes(`nft delete element bridge nubis-guard-tbr0 pod-sources { "${veth}" . 10.42.3.2 }`));
    assert.deepEqual([...(await p.ipam.list())], []);
  });

  it('releases the address when setting up fails', async () => {
    const host = new FakeHost();
    host.responders.push((cmd, args) => (args[0] === '--net=/proc/42/ns/net' && args.includes('-batch') ? { ...fail, stderr: 'boom' } : undefined));
    host.responders.push((cmd, args) => (cmd === 'ip' && args[1] === 'show' ? fail : undefined));
    const p = new BridgePlugin({ host, podRange: '10.42.3.0/24', ipamDir: path.join(root, 'b') });
    await assert.rejects(p.setUp(sandbox), /cannot set up the network of pod default\/web: .*boom/);
    assert.deepEqual([...(await p.ipam.list())], []);
  });

  it('refuses names the kernel would refuse', () => {
    assert.throws(() => new BridgePlugin({ host: new FakeHost(), podRange: '10.42.3.0/24', ipamDir: root, bridge: 'a-very-long-bridge' }), /longer than 15/);
  });
});

describe('NodeRoutes', () => {
  it('adds missing routes, changes moved ones and removes only its own stale ones', async () => {
    const host = new FakeHost();
    const table = [
      { dst: '10.42.1.0/24', gateway: '192.168.77.1' },
      { dst: '10.42.2.0/24', gateway: '192.168.77.9' },
      { dst: '10.42.9.0/24', gateway: '192.168.77.3' },
    ];
    host.responders.push((cmd, args) => (args.includes('-j') ? ok(JSON.stringify(table)) : undefined));
    const routes = new NodeRoutes(host, { nodeNetns: '/run/netns/n1' });
    const res = await routes.reconcile([
      { cidr: '10.42.1.0/24', via: '192.168.77.1' },
      { cidr: '10.42.2.0/24', via: '192.168.77.2' },
      { cidr: '10.42.4.0/24', via: '192.168.77.4' },
    ]);
    assert.deepEqual(res, { added: ['10.42.2.0/24', '10.42.4.0/24'], removed: ['10.42.9.0/24'] });
    const cmds = runs(host);
    assert.ok(cmds.includes('nsenter --net=/run/netns/n1 -- ip -j -4 route show proto 157'));
    assert.ok(cmds.includes('nsenter --net=/run/netns/n1 -- ip route replace 10.42.4.0/24 via 192.168.77.4 proto 157'));
    assert.ok(cmds.includes('nsenter --net=/run/netns/n1 -- ip route del 10.42.9.0/24 proto 157'));
    await assert.rejects(routes.reconcile([{ cidr: '10.42.1.1/24', via: '1.2.3.4' }]), /host bits set/);
  });
});
