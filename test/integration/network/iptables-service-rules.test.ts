import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RealHost } from '../../../src/host/real-host.js';
import { BridgePlugin } from '../../../src/network/bridge-plugin.js';
import { IptablesServiceRules } from '../../../src/network/iptables-service-rules.js';
import type { ServiceRule } from '../../../src/network/service-rules.js';
import { NetnsFixture } from './netns-fixture.js';

const host = new RealHost();

// The fallback runs on the legacy (xtables) backend here, as on a host without nftables.
describe('iptables fallback service rules (legacy backend, node namespace)', async () => {
  const fx = new NetnsFixture();
  const node = fx.netns('node');
  const dir = await fx.tmpDir();
  const plugin = new BridgePlugin({ host, podRange: '10.42.5.0/24', ipamDir: path.join(dir, 'ipam'), nodeNetns: fx.path(node) });
  const opts = { host, netns: fx.path(node), restore: 'iptables-legacy-restore', iptables: 'iptables-legacy', serviceCidr: '10.43.0.0/16' };
  const rules = new IptablesServiceRules(opts);
  const servers: { ip: string; netnsPath: string }[] = [];
  let client = '';
  after(async () => assert.deepEqual(await fx.cleanup(), [], 'leftover namespaces or links'));

  before(async () => {
    for (const name of ['a', 'b', 'c']) {
      const sb = await fx.sandbox();
      const { ips } = await plugin.setUp({ podUid: name, namespace: 'default', name, ...sb });
      await fx.echoServer(sb.netnsPath, 8080, name);
      servers.push({ ip: ips[0]!, netnsPath: sb.netnsPath });
    }
    const sb = await fx.sandbox();
    await plugin.setUp({ podUid: 'client', namespace: 'default', name: 'client', ...sb });
    client = sb.netnsPath;
  });

  const svc = (ready: boolean[], extra: Partial<ServiceRule> = {}): ServiceRule => ({
    key: 'default/web',
    clusterIP: '10.43.0.10',
    ports: [{ protocol: 'TCP', port: 80, nodePort: 30080, endpoints: servers.map((s, i) => ({ ip: s.ip, port: 8080, ready: ready[i] ?? true })) }],
    ...extra,
  });
  const names = (from: string, n: number, ip = '10.43.0.10', port = 80) =>
    new Set(Array.from({ length: n }, () => fx.request(from, ip, port).split(' ')[0]));

  it('balances over ready endpoints, serves the NodePort and follows readiness', async () => {
    await rules.sync([svc([true, true, true])]);
    assert.deepEqual([...names(client, 24)].sort(), ['a', 'b', 'c']);
    assert.deepEqual([...names(client, 6, '10.42.5.1', 30080)].every((n) => ['a', 'b', 'c'].includes(n!)), true);
    await rules.update(svc([true, false, true]));
    assert.deepEqual([...names(client, 16)].sort(), ['a', 'c']);
  });

  it('handles hairpin, ClientIP affinity and services without endpoints', async () => {
    await rules.update(svc([true, false, false]));
    assert.match(fx.request(servers[0]!.netnsPath, '10.43.0.10', 80), /^a /);
    await rules.update(svc([true, true, true], { sessionAffinity: 'ClientIP', affinityTimeoutSeconds: 30 }));
    assert.equal(names(client, 8).size, 1);
    await rules.update(svc([false, false, false]));
    assert.equal(fx.request(client, '10.43.0.10', 80, 1), '');
  });

  it('forwards hostPorts', async () => {
    await rules.setHostPorts([{ pod: 'default/b', protocol: 'TCP', hostPort: 8081, podIP: servers[1]!.ip, containerPort: 8080 }]);
    assert.match(fx.request(client, '10.42.5.1', 8081), /^b /);
    await assert.rejects(rules.setHostPorts([{ pod: 'default/b', protocol: 'TCP', hostPort: 30080, podIP: servers[1]!.ip, containerPort: 8080 }]), /already used by NodePort of default\/web/);
    await rules.setHostPorts([]);
    assert.equal(fx.request(client, '10.42.5.1', 8081, 1), '');
  });

  it('a restarted agent removes chains it no longer wants; clear removes everything', async () => {
    await rules.update(svc([true, true, true]));
    const restarted = new IptablesServiceRules(opts);
    await restarted.sync([]);
    const nat = fx.exec(node, 'iptables-legacy', ['-t', 'nat', '-S']);
    assert.doesNotMatch(nat, /NUBIS-(SVC|SEP|NP)-|10\.43\.0\.10/);
    await restarted.clear();
    assert.doesNotMatch(fx.exec(node, 'iptables-legacy-save', []), /NUBIS/);
  });
});
