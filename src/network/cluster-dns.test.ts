import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import dnsPacket, { type Packet, type RecordType } from 'dns-packet';
import { ClusterDns, resolvConf } from './cluster-dns.js';

const dns = new ClusterDns();
dns.reset([
  { namespace: 'default', name: 'web', clusterIP: '10.43.0.20', ports: [{ name: 'http', protocol: 'TCP', port: 80 }, { protocol: 'TCP', port: 81 }] },
  {
    namespace: 'db',
    name: 'pg',
    clusterIP: 'None',
    ports: [{ name: 'sql', protocol: 'TCP', port: 5432 }],
    endpoints: [
      { ip: '10.42.1.5', hostname: 'pg-0' },
      { ip: '10.42.2.6', ports: { sql: 6543 } },
    ],
  },
]);

/** What dns-packet decodes at run time beyond its published types. */
type Decoded = Packet & { rcode?: string; flag_aa?: boolean };
const decode = (b: Buffer) => dnsPacket.decode(b) as Decoded;

const ask = (name: string, type: RecordType = 'A', visible?: (ns: string) => boolean): Decoded => {
  const q: Packet = { type: 'query', id: 7, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name, class: 'IN' }] };
  // Through the codec both ways, as on the wire.
  return decode(dnsPacket.encode(dns.answer(dnsPacket.decode(dnsPacket.encode(q)), visible)));
};
const data = (p: Packet) => (p.answers ?? []).map((a) => ('data' in a ? a.data : undefined));

describe('ClusterDns', () => {
  it('answers a tenant\'s pods with their tenant\'s names only (and kubernetes.default)', () => {
    dns.upsert({ namespace: 'default', name: 'kubernetes', clusterIP: '10.43.0.1', ports: [{ name: 'https', protocol: 'TCP', port: 443 }] });
    const onlyDb = (ns: string) => ns === 'db';
    assert.equal(ask('web.default.svc.cluster.local', 'A', onlyDb).rcode, 'NXDOMAIN');
    assert.equal(ask('default.svc.cluster.local', 'A', onlyDb).rcode, 'NXDOMAIN');
    assert.equal(ask('10-42-9-9.default.pod.cluster.local', 'A', onlyDb).rcode, 'NXDOMAIN');
    assert.equal(ask('20.0.43.10.in-addr.arpa', 'PTR', onlyDb).rcode, 'REFUSED');
    assert.deepEqual(data(ask('pg-0.pg.db.svc.cluster.local', 'A', onlyDb)), ['10.42.1.5']);
    assert.deepEqual(data(ask('kubernetes.default.svc.cluster.local', 'A', onlyDb)), ['10.43.0.1']);
    assert.deepEqual(data(ask('web.default.svc.cluster.local')), ['10.43.0.20'], 'without a view, everything');
    dns.remove('default', 'kubernetes');
  });

  it('answers a service name with its ClusterIP, case-insensitively', () => {
    const r = ask('Web.default.svc.cluster.local');
    assert.equal(r.rcode, 'NOERROR');
    assert.equal(r.flag_aa, true);
    assert.equal(r.id, 7);
    assert.deepEqual(data(r), ['10.43.0.20']);
    assert.equal((r.answers?.[0] as { ttl?: number }).ttl, 5);
  });

  it('answers a headless service with its ready pods and named endpoints', () => {
    assert.deepEqual(data(ask('pg.db.svc.cluster.local')).sort(), ['10.42.1.5', '10.42.2.6']);
    assert.deepEqual(data(ask('pg-0.pg.db.svc.cluster.local')), ['10.42.1.5']);
    assert.equal(ask('pg-9.pg.db.svc.cluster.local').rcode, 'NXDOMAIN');
  });

  it('serves SRV records for named ports', () => {
    const r = ask('_http._tcp.web.default.svc.cluster.local', 'SRV');
    assert.deepEqual(data(r), [{ priority: 0, weight: 100, port: 80, target: 'web.default.svc.cluster.local' }]);
    assert.deepEqual(data({ answers: r.additionals } as Packet), ['10.43.0.20']);
    const h = ask('_sql._tcp.pg.db.svc.cluster.local', 'SRV');
    assert.deepEqual(
      data(h).map((d) => (d as { port: number; target: string }).target + ':' + (d as { port: number }).port).sort(),
      ['10-42-2-6.pg.db.svc.cluster.local:6543', 'pg-0.pg.db.svc.cluster.local:5432'],
    );
    assert.equal(ask('_sql._udp.pg.db.svc.cluster.local', 'SRV').rcode, 'NXDOMAIN');
  });

  it('answers pod names, NODATA for other types, NXDOMAIN with SOA for unknown names', () => {
    assert.deepEqual(data(ask('10-42-1-5.db.pod.cluster.local')), ['10.42.1.5']);
    const aaaa = ask('web.default.svc.cluster.local', 'AAAA');
    assert.equal(aaaa.rcode, 'NOERROR');
    assert.deepEqual(aaaa.answers, []);
    const nx = ask('nope.default.svc.cluster.local');
    assert.equal(nx.rcode, 'NXDOMAIN');
    assert.equal(nx.authorities?.[0]?.type, 'SOA');
    assert.equal(ask('default.svc.cluster.local').rcode, 'NOERROR');
    assert.equal(ask('nowhere.svc.cluster.local').rcode, 'NXDOMAIN');
    assert.equal(ask('web.default.svc.cluster.local.default.svc.cluster.local').rcode, 'NXDOMAIN');
  });

  it('answers reverse lookups of ClusterIPs and named headless endpoints only', () => {
    assert.deepEqual(data(ask('20.0.43.10.in-addr.arpa', 'PTR')), ['web.default.svc.cluster.local']);
    assert.deepEqual(data(ask('5.1.42.10.in-addr.arpa.', 'PTR')), ['pg-0.pg.db.svc.cluster.local']);
    assert.equal(ask('6.2.42.10.in-addr.arpa', 'PTR').rcode, 'REFUSED');
    assert.equal(ask('8.8.8.8.in-addr.arpa', 'PTR').rcode, 'REFUSED');
  });

  it('refuses names outside the cluster domain instead of recursing', () => {
    const r = ask('example.com');
    assert.equal(r.rcode, 'REFUSED');
    assert.deepEqual(r.answers, []);
    assert.equal(ask('web.default').rcode, 'REFUSED');
  });

  it('follows updates and removals', () => {
    const d = new ClusterDns({ domain: 'corp.test', ttl: 30 });
    d.upsert({ namespace: 'a', name: 's', clusterIP: '10.43.0.9', ports: [] });
    const q: Packet = { type: 'query', id: 1, questions: [{ type: 'A', name: 's.a.svc.corp.test' }] };
    assert.equal(d.answer(q).answers?.length, 1);
    d.remove('a', 's');
    assert.equal(decode(dnsPacket.encode(d.answer(q))).rcode, 'NXDOMAIN');
  });

  it('writes resolv.conf with the search path and ndots:5', () => {
    assert.equal(
      resolvConf('shop', '10.43.0.10'),
      'search shop.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.43.0.10\noptions ndots:5\n',
    );
  });
});
