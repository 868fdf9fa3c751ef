import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import dnsPacket, { type Packet, type RecordType } from 'dns-packet';
import { ClusterDns } from './cluster-dns.js';
import { DnsServer } from './dns-server.js';

const query = (name: string, type: RecordType = 'A', id = 1): Buffer =>
  dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name, class: 'IN' }] });

function udpAsk(port: number, msg: Buffer): Promise<Packet & { rcode?: string; flag_tc?: boolean }> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    const timer = setTimeout(() => (s.close(), reject(new Error('no UDP answer'))), 2000);
    s.on('message', (m) => {
      clearTimeout(timer);
      s.close();
      resolve(dnsPacket.decode(m));
    });
    s.send(msg, port, '127.0.0.1');
  });
}

function tcpAsk(port: number, msgs: Buffer[]): Promise<Packet[]> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const out: Packet[] = [];
    let buf = Buffer.alloc(0);
    sock.on('error', reject);
    sock.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        out.push(dnsPacket.decode(buf.subarray(2, 2 + buf.readUInt16BE(0))));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
      if (out.length === msgs.length) sock.end(() => resolve(out));
    });
    // Both queries in one write: the server must split the stream by the length prefixes.
    sock.write(Buffer.concat(msgs.map((m) => Buffer.concat([Buffer.from([m.length >> 8, m.length & 255]), m]))));
  });
}

describe('DnsServer on 127.0.0.1', () => {
  const dns = new ClusterDns();
  const server = new DnsServer(dns, { host: '127.0.0.1', port: 0 });
  let port = 0;
  before(async () => {
    dns.upsert({ namespace: 'default', name: 'web', clusterIP: '10.43.0.20', ports: [] });
    dns.upsert({
      namespace: 'default',
      name: 'many',
      clusterIP: 'None',
      ports: [],
      endpoints: Array.from({ length: 60 }, (_, i) => ({ ip: `10.42.1.${i + 2}` })),
    });
    port = (await server.start()).port;
  });
  after(() => server.close());

  it('answers over UDP', async () => {
    const r = await udpAsk(port, query('web.default.svc.cluster.local', 'A', 42));
    assert.equal(r.id, 42);
    assert.deepEqual(r.answers?.map((a) => ('data' in a ? a.data : '')), ['10.43.0.20']);
    assert.equal((await udpAsk(port, query('example.com'))).rcode, 'REFUSED');
  });

  it('answers several queries on one TCP connection', async () => {
    const [a, b] = await tcpAsk(port, [query('web.default.svc.cluster.local', 'A', 1), query('x.default.svc.cluster.local', 'A', 2)]);
    assert.equal(a!.id, 1);
    assert.equal(a!.answers?.length, 1);
    assert.equal((b as { rcode?: string }).rcode, 'NXDOMAIN');
  });

  it('truncates large UDP answers so the client retries over TCP', async () => {
    const u = await udpAsk(port, query('many.default.svc.cluster.local'));
    assert.equal(u.flag_tc, true);
    assert.deepEqual(u.answers, []);
    const [t] = await tcpAsk(port, [query('many.default.svc.cluster.local')]);
    assert.equal(t!.answers?.length, 60);
  });

  it('ignores garbage and keeps serving', async () => {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.send(Buffer.from([1, 2, 3]), port, '127.0.0.1', () => r()));
    s.close();
    assert.equal((await udpAsk(port, query('web.default.svc.cluster.local'))).answers?.length, 1);
  });

  it('fails clearly when the port is taken', async () => {
    const other = new DnsServer(dns, { host: '127.0.0.1', port });
    await assert.rejects(other.start(), /cannot listen for DNS on 127\.0\.0\.1:\d+\/udp/);
  });
});

describe('DnsServer forwarding', () => {
  it('forwards names outside the cluster domain to its upstream (here a fake on 127.0.0.1), answers its own', async () => {
    const upstream = dgram.createSocket('udp4');
    upstream.on('message', (m, r) => {
      const q = dnsPacket.decode(m);
      upstream.send(dnsPacket.encode({ type: 'response', id: q.id, flags: dnsPacket.RECURSION_AVAILABLE, questions: q.questions, answers: [{ type: 'A', name: q.questions![0]!.name, ttl: 60, data: '192.0.2.7' }] }), r.port, r.address);
    });
    await new Promise<void>((r) => upstream.bind(0, '127.0.0.1', () => r()));
    const dns = new ClusterDns();
    dns.upsert({ namespace: 'default', name: 'web', clusterIP: '10.43.0.20', ports: [] });
    const server = new DnsServer(dns, { host: '127.0.0.1', port: 0, upstream: [`127.0.0.1:${upstream.address().port}`] });
    const { port } = await server.start();
    try {
      const outside = await udpAsk(port, query('example.test', 'A', 7));
      assert.equal(outside.id, 7);
      assert.deepEqual(outside.answers?.map((a) => (a as { data?: unknown }).data), ['192.0.2.7']);
      const inside = await udpAsk(port, query('web.default.svc.cluster.local', 'A', 8));
      assert.deepEqual(inside.answers?.map((a) => (a as { data?: unknown }).data), ['10.43.0.20']);
      const missing = await udpAsk(port, query('nope.default.svc.cluster.local', 'A', 9));
      assert.equal(missing.rcode, 'NXDOMAIN', 'names in the cluster domain are never forwarded');
    } finally {
      await server.close();
      upstream.close();
    }
  });
});
