import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RealHost } from '../../../src/host/real-host.js';
import { BridgePlugin } from '../../../src/network/bridge-plugin.js';
import { ServiceRules, type ServiceRule } from '../../../src/network/service-rules.js';
import { NetnsFixture } from './netns-fixture.js';

const host = new RealHost();
const CLUSTER_IP = '10.43.0.10';

describe('service rules in a node namespace (pods on a bridge)', async () => {
  const fx = new NetnsFixture();
  const node = fx.netns('node');
  const dir = await fx.tmpDir();
  const plugin = new BridgePlugin({ host, podRange: '10.42.1.0/24', ipamDir: path.join(dir, 'ipam'), nodeNetns: fx.path(node) });
  const rules = new ServiceRules({ host, netns: fx.path(node), serviceCidr: '10.43.0.0/16' });
  const pods: { name: string; ip: string; netnsPath: string }[] = [];
  let client!: { ip: string; netnsPath: string };

  after(async () => {
    assert.deepEqual(await fx.cleanup(), [], 'leftover namespaces or links');
  });

  before(async () => {
    for (const name of ['s1', 's2', 's3', 'client']) {
      const sb = await fx.sandbox();
      const { ips } = await plugin.setUp({ podUid: name, namespace: 'default', name, ...sb });
      if (name === 'client') client = { ip: ips[0]!, netnsPath: sb.netnsPath };
      else {
        await fx.echoServer(sb.netnsPath, 8080, name);
        pods.push({ name, ip: ips[0]!, netnsPath: sb.netnsPath });
      }
    }
  });

  const service = (ready: Record<string, boolean>, extra: Partial<ServiceRule> = {}): ServiceRule => ({
    key: 'default/web',
    clusterIP: CLUSTER_IP,
    ports: [
      {
        name: 'http',
        protocol: 'TCP',
        port: 80,
        nodePort: 30080,
        endpoints: pods.map((p) => ({ ip: p.ip, port: 8080, ready: ready[p.name] ?? true })),
      },
    ],
    ...extra,
  });

  const hits = (from: string, n: number, ip = CLUSTER_IP, port = 80) => {
    const seen = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const answer = fx.request(from, ip, port);
      seen.set(answer, (seen.get(answer) ?? 0) + 1);
    }
    return seen;
  };

  it('balances a ClusterIP over every ready endpoint, keeping the client address', async () => {
    await rules.sync([service({})]);
    const seen = hits(client.netnsPath, 24);
    assert.deepEqual([...seen.keys()].sort(), ['s1', 's2', 's3'].map((s) => `${s} ${client.ip}`));
  });

  it('sends nothing to endpoints that are not ready', async () => {
    await rules.update(service({ s3: false }));
    const seen = hits(client.netnsPath, 16);
    assert.deepEqual([...seen.keys()].sort(), [`s1 ${client.ip}`, `s2 ${client.ip}`]);
  });

  it('serves the NodePort on the node addresses', async () => {
    const seen = hits(client.netnsPath, 12, '10.42.1.1', 30080);
    assert.ok([...seen.keys()].every((k) => /^s[12] /.test(k)), [...seen.keys()].join(','));
  });

  it('lets a pod reach itself through its service (hairpin)', async () => {
    await rules.update(service({ s2: false, s3: false }));
    const s1 = pods[0]!;
    assert.match(fx.request(s1.netnsPath, CLUSTER_IP, 80), /^s1 /);
  });

  it('keeps a client on one endpoint with ClientIP affinity', async () => {
    await rules.update(service({}, { sessionAffinity: 'ClientIP', affinityTimeoutSeconds: 30 }));
    const seen = hits(client.netnsPath, 10);
    assert.equal(seen.size, 1, [...seen.keys()].join(','));
  });

  it('refuses connections to a service without ready endpoints', async () => {
    await rules.update(service({ s1: false, s2: false, s3: false }));
    assert.equal(fx.request(client.netnsPath, CLUSTER_IP, 80, 1), '');
    await rules.update(service({}));
    assert.match(fx.request(client.netnsPath, CLUSTER_IP, 80), /^s\d /);
  });

  it('forwards a hostPort on the node addresses to its pod', async () => {
    await rules.setHostPorts([{ pod: 'default/s2', protocol: 'TCP', hostPort: 8081, podIP: pods[1]!.ip, containerPort: 8080 }]);
    assert.equal(fx.request(client.netnsPath, '10.42.1.1', 8081), `s2 ${client.ip}`);
    await rules.setHostPorts([]);
    assert.equal(fx.request(client.netnsPath, '10.42.1.1', 8081, 1), '');
  });

  it('keeps established connections through a full re-sync by a restarted agent', async () => {
    await fx.echoServer(pods[0]!.netnsPath, 7000, 'long', true);
    const svc: ServiceRule = {
      key: 'default/long',
      clusterIP: '10.43.0.11',
      ports: [{ protocol: 'TCP', port: 70, endpoints: [{ ip: pods[0]!.ip, port: 7000, ready: true }] }],
    };
    await rules.update(svc);
    const conn = fx.connect(client.netnsPath, '10.43.0.11', 70);
    assert.equal(await conn.greeting, `long ${client.ip}`);
    assert.equal(await conn.say('one'), 'long one');
    // A restarted agent knows nothing of what was applied: it rebuilds the whole table in one transaction.
    const restarted = new ServiceRules({ host, netns: fx.path(node), serviceCidr: '10.43.0.0/16' });
    await restarted.sync([service({}), svc]);
    assert.equal(await conn.say('two'), 'long two');
    await restarted.sync([service({})]);
    assert.equal(await conn.say('three'), 'long three', 'the conntrack entry outlives the rule');
    assert.equal(fx.request(client.netnsPath, '10.43.0.11', 70, 1), '', 'new connections no longer served');
    conn.close();
    await rules.sync([service({})]);
  });

  it('leaves no rule behind for a removed service, and no table after clear', async () => {
    await rules.remove('default/web');
    const listed = fx.exec(node, 'nft', ['list', 'table', 'ip', 'nubis']);
    assert.doesNotMatch(listed, /10\.43\.0\.10|30080|chain (svc|ep|np)-|set aff-/);
    assert.equal(fx.request(client.netnsPath, CLUSTER_IP, 80, 1), '');
    await rules.clear();
    // (The bridge plugin's source guard, a table of its own, stays with the bridge.)
    assert.doesNotMatch(fx.exec(node, 'nft', ['list', 'tables']), /^table ip nubis$/m);
  });
});
