import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { RealHost } from '../../../src/host/real-host.js';
import { BridgePlugin } from '../../../src/network/bridge-plugin.js';
import { resolvConf, type DnsService } from '../../../src/network/cluster-dns.js';
import { ServiceRules } from '../../../src/network/service-rules.js';
import { NetnsFixture } from './netns-fixture.js';

const host = new RealHost();
const DNS_IP = '10.43.0.10';
const here = path.dirname(fileURLToPath(import.meta.url));

describe('cluster DNS reached through its Service IP, resolved by the C library of a pod', async () => {
  const fx = new NetnsFixture();
  const node = fx.netns('node');
  const dir = await fx.tmpDir();
  const plugin = new BridgePlugin({ host, podRange: '10.42.7.0/24', ipamDir: path.join(dir, 'ipam'), nodeNetns: fx.path(node) });
  const rules = new ServiceRules({ host, netns: fx.path(node) });
  let pod = '';
  const resolvFile = path.join(dir, 'resolv.conf');
  after(async () => assert.deepEqual(await fx.cleanup(), [], 'leftover namespaces or links'));

  before(async () => {
    const sb = await fx.sandbox();
    await plugin.setUp({ podUid: 'p', namespace: 'shop', name: 'p', ...sb });
    pod = sb.netnsPath;
    const services: DnsService[] = [
      { namespace: 'shop', name: 'web', clusterIP: '10.43.0.20', ports: [{ name: 'http', protocol: 'TCP', port: 80 }] },
      { namespace: 'ops', name: 'mon', clusterIP: '10.43.0.21', ports: [] },
      { namespace: 'shop', name: 'db', clusterIP: 'None', ports: [], endpoints: [{ ip: '10.42.7.50' }, { ip: '10.42.7.51' }] },
    ];
    // The DNS server listens on the node's bridge address; its Service forwards UDP and TCP 53 there.
    const child = fx.start('nsenter', [`--net=${fx.path(node)}`, '--', process.execPath, '--import', 'tsx', path.join(here, 'dns-child.ts'), '10.42.7.1', '5353', JSON.stringify(services)], ['ignore', 'pipe', 'inherit']);
    await new Promise<void>((resolve, reject) => {
      child.stdout!.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`dns server exited (${code})`)));
    });
    const ep = [{ ip: '10.42.7.1', port: 5353, ready: true }];
    await rules.sync([{ key: 'kube-system/dns', clusterIP: DNS_IP, ports: [{ name: 'dns', protocol: 'UDP', port: 53, endpoints: ep }, { name: 'dns-tcp', protocol: 'TCP', port: 53, endpoints: ep }] }]);
    await fs.writeFile(resolvFile, resolvConf('shop', DNS_IP));
  });

  /** getent in the pod's network namespace with the pod's resolv.conf bind-mounted in a private mount namespace. */
  const lookup = (name: string) => {
    const r = spawnSync('nsenter', [`--net=${pod}`, '--', 'unshare', '-m', 'sh', '-c', `mount --bind "$0" /etc/resolv.conf && exec getent ahostsv4 "$1"`, resolvFile, name], {
      encoding: 'utf8',
      timeout: 15_000,
    });
    return [...new Set(r.stdout.split('\n').filter(Boolean).map((l) => l.split(/\s+/)[0]))].sort();
  };

  it('resolves full names, short names through the search path, and headless services', () => {
    assert.deepEqual(lookup('web.shop.svc.cluster.local'), ['10.43.0.20']);
    assert.deepEqual(lookup('web'), ['10.43.0.20']);
    assert.deepEqual(lookup('mon.ops'), ['10.43.0.21']);
    assert.deepEqual(lookup('db'), ['10.42.7.50', '10.42.7.51']);
    assert.deepEqual(lookup('nothere'), []);
  });
});
