import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RealHost } from '../../../src/host/real-host.js';
import { BridgePlugin } from '../../../src/network/bridge-plugin.js';
import { PolicyRules, type PolicyModel, type PolicyPod } from '../../../src/network/policy-rules.js';
import { ServiceRules } from '../../../src/network/service-rules.js';
import { NetnsFixture } from './netns-fixture.js';

const host = new RealHost();

describe('network policy in a node namespace (pods on a bridge)', async () => {
  const fx = new NetnsFixture();
  const node = fx.netns('node');
  const dir = await fx.tmpDir();
  const plugin = new BridgePlugin({ host, podRange: '10.42.1.0/24', ipamDir: path.join(dir, 'ipam'), nodeNetns: fx.path(node) });
  const policy = new PolicyRules({ host, netns: fx.path(node) });
  const pods = new Map<string, PolicyPod & { netnsPath: string }>();

  after(async () => {
    assert.deepEqual(await fx.cleanup(), [], 'leftover namespaces or links');
  });

  before(async () => {
    for (const app of ['client', 'other', 'server']) {
      const sb = await fx.sandbox();
      const { ips } = await plugin.setUp({ podUid: app, namespace: 'default', name: app, ...sb });
      pods.set(app, { namespace: 'default', name: app, ip: ips[0]!, labels: { app }, netnsPath: sb.netnsPath });
    }
    const server = pods.get('server')!;
    await fx.echoServer(server.netnsPath, 8080, 'server');
    await fx.echoServer(server.netnsPath, 9090, 'server');
    await fx.echoServer(pods.get('other')!.netnsPath, 8080, 'other');
  });

  const model = (policies: PolicyModel['policies']): PolicyModel => ({
    pods: [...pods.values()],
    namespaces: [{ name: 'default', labels: {} }],
    policies,
  });
  const req = (from: string, to: string, port: number) => fx.request(pods.get(from)!.netnsPath, pods.get(to)!.ip, port, 1);

  it('lets everything through without policies', async () => {
    await policy.sync(model([]));
    assert.match(req('other', 'server', 8080), /^server /);
  });

  it('admits only the selected peers on the selected port', async () => {
    await policy.sync(
      model([
        {
          namespace: 'default',
          name: 'server-from-client',
          spec: {
            podSelector: { matchLabels: { app: 'server' } },
            ingress: [{ from: [{ podSelector: { matchLabels: { app: 'client' } } }], ports: [{ protocol: 'TCP', port: 8080 }] }],
          },
        },
      ]),
    );
    assert.equal(req('client', 'server', 8080), `server ${pods.get('client')!.ip}`);
    assert.equal(req('other', 'server', 8080), '', 'peer not selected');
    assert.equal(req('client', 'server', 9090), '', 'port not selected');
    // The server may still start connections (only its ingress is isolated).
    assert.match(req('server', 'other', 8080), /^other /);
    // Through a ClusterIP the policy sees the real pod addresses (DNAT happens before filtering).
    const services = new ServiceRules({ host, netns: fx.path(node) });
    await services.sync([{ key: 'default/server', clusterIP: '10.43.0.40', ports: [{ protocol: 'TCP', port: 80, endpoints: [{ ip: pods.get('server')!.ip, port: 8080, ready: true }] }] }]);
    assert.match(fx.request(pods.get('client')!.netnsPath, '10.43.0.40', 80, 1), /^server /);
    assert.equal(fx.request(pods.get('other')!.netnsPath, '10.43.0.40', 80, 1), '');
    await services.clear();
  });

  it('limits egress to an ipBlock minus its exceptions', async () => {
    await policy.sync(
      model([
        {
          namespace: 'default',
          name: 'client-egress',
          spec: {
            podSelector: { matchLabels: { app: 'client' } },
            policyTypes: ['Egress'],
            egress: [{ to: [{ ipBlock: { cidr: '10.42.1.0/24', except: [`${pods.get('other')!.ip}/32`] } }] }],
          },
        },
      ]),
    );
    assert.match(req('client', 'server', 9090), /^server /);
    assert.equal(req('client', 'other', 8080), '', 'excepted address');
  });

  it('keeps tenants apart, directly and through a Service; a policy cannot open the way across', async () => {
    // client and server belong to tenant acme, other to globex.
    const ns = { client: 'acme-a', server: 'acme-b', other: 'globex-a' } as Record<string, string>;
    const tenantModel = (policies: PolicyModel['policies']): PolicyModel => ({
      pods: [...pods.values()].map((p) => ({ ...p, namespace: ns[p.name]! })),
      namespaces: [
        { name: 'acme-a', labels: { 'nubis.dev/tenant': 'acme' } },
        { name: 'acme-b', labels: { 'nubis.dev/tenant': 'acme' } },
        { name: 'globex-a', labels: { 'nubis.dev/tenant': 'globex' } },
      ],
      policies,
    });
    await policy.sync(tenantModel([]));
    assert.match(req('client', 'server', 8080), /^server /, 'same tenant, other namespace');
    assert.equal(req('other', 'server', 8080), '', 'globex to acme');
    assert.equal(req('server', 'other', 8080), '', 'acme to globex');
    const services = new ServiceRules({ host, netns: fx.path(node) });
    await services.sync([{ key: 'acme-b/server', clusterIP: '10.43.0.41', ports: [{ protocol: 'TCP', port: 80, endpoints: [{ ip: pods.get('server')!.ip, port: 8080, ready: true }] }] }]);
    assert.match(fx.request(pods.get('client')!.netnsPath, '10.43.0.41', 80, 1), /^server /);
    assert.equal(fx.request(pods.get('other')!.netnsPath, '10.43.0.41', 80, 1), '', 'through a ClusterIP');
    await services.clear();
    // An allow-all ingress policy of acme's server does not let globex in.
    await policy.sync(tenantModel([{ namespace: 'acme-b', name: 'all', spec: { podSelector: {}, ingress: [{ from: [{ namespaceSelector: {} }] }] } }]));
    assert.equal(req('other', 'server', 8080), '', 'a policy cannot open the way across tenants');
    assert.match(req('client', 'server', 8080), /^server /);
  });

  it('refuses pods it does not know yet, and a pod that poses as another (a spoofed source) gets nowhere', async () => {
    const ns = { client: 'acme-a', server: 'acme-b', other: 'globex-a' } as Record<string, string>;
    const namespaces = [
      { name: 'acme-a', labels: { 'nubis.dev/tenant': 'acme' } },
      { name: 'acme-b', labels: { 'nubis.dev/tenant': 'acme' } },
      { name: 'globex-a', labels: { 'nubis.dev/tenant': 'globex' } },
    ];
    const known = (names: string[]): PolicyModel => ({ pods: names.map((n) => ({ ...pods.get(n)!, namespace: ns[n]! })), namespaces, policies: [], podNetworks: ['10.42.1.0/24'] });
    await policy.sync(known(['client', 'server']));
    assert.match(req('client', 'server', 8080), /^server /);
    assert.equal(req('other', 'server', 8080), '', 'an unknown pod reaches no pod');
    assert.equal(req('server', 'other', 8080), '', 'and no pod reaches it');
    await policy.sync(known(['client', 'server', 'other']));

    // "other" (globex) takes acme's client address as a second one and sends UDP from it to acme's server.
    const received = spawn('nsenter', [`--net=${pods.get('server')!.netnsPath}`, '--', process.execPath, '-e', "const s=require('dgram').createSocket('udp4');s.on('message',(m)=>console.log('got '+m));s.bind(7070,()=>console.log('bound'))"], { stdio: ['ignore', 'pipe', 'inherit'] });
    let heard = '';
    received.stdout!.on('data', (d: Buffer) => (heard += d.toString()));
    try {
      await new Promise((r) => received.stdout!.once('data', r));
      const send = (from: string, source: string, text: string) =>
        spawnSync('nsenter', [`--net=${pods.get(from)!.netnsPath}`, '--', process.execPath, '-e', `const s=require('dgram').createSocket('udp4');s.bind({address:'${source}'},()=>s.send('${text}',7070,'${pods.get('server')!.ip}',()=>s.close()))`], { timeout: 5000 });
      send('client', pods.get('client')!.ip, 'genuine');
      const otherNs = pods.get('other')!.netnsPath;
      spawnSync('nsenter', [`--net=${otherNs}`, '--', 'ip', 'addr', 'add', `${pods.get('client')!.ip}/32`, 'dev', 'eth0'], { timeout: 5000 });
      for (let i = 0; i < 3; i++) send('other', pods.get('client')!.ip, 'spoofed');
      await new Promise((r) => setTimeout(r, 500));
      spawnSync('nsenter', [`--net=${otherNs}`, '--', 'ip', 'addr', 'del', `${pods.get('client')!.ip}/32`, 'dev', 'eth0'], { timeout: 5000 });
      assert.match(heard, /got genuine/);
      assert.doesNotMatch(heard, /spoofed/, 'a spoofed source is dropped where the pod\'s frames enter the bridge');
    } finally {
      received.kill();
    }
  });

  it('removes every rule on clear', async () => {
    await policy.clear();
    assert.doesNotMatch(fx.exec(node, 'nft', ['list', 'tables']), /nubis-policy/);
    assert.match(req('client', 'other', 8080), /^other /);
  });
});
