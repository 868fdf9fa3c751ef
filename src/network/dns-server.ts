import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket, { type Packet } from 'dns-packet';
import { unavailable } from '../lib/errors.js';
import { logger } from '../lib/log.js';
import type { ClusterDns } from './cluster-dns.js';

const log = logger('dns');

/** Classic DNS over UDP without EDNS: larger answers are truncated and the client retries over TCP. */
const UDP_LIMIT = 512;

export interface DnsServerOptions {
  /** Address to listen on (the cluster DNS Service IP on a node; 127.0.0.1 in tests). */
  host?: string;
  /** Port (default 53; 0 picks a free one, the same for UDP and TCP when possible). */
  port?: number;
  /**
   * Servers ("ip" or "ip:port") that names outside the cluster domain are forwarded to, over UDP (the
   * node's own resolvers); without them such names are REFUSED. Over TCP they are always REFUSED.
   */
  upstream?: string[];
  /**
   * Which namespaces' names a client may resolve, by its address (a tenant's pods see their tenant's
   * only); absent, or undefined for an address: every namespace.
   */
  viewOf?: (clientIp: string) => ((namespace: string) => boolean) | undefined;
}

/** How long a forwarded query waits for its upstream answer. */
const FORWARD_TIMEOUT_MS = 2000;

/**
 * The cluster DNS server: answers from a `ClusterDns` model over UDP and TCP (two-byte length framing,
 * several queries per connection). Malformed packets are dropped on UDP and close a TCP connection.
 */
export class DnsServer {
  private udp?: dgram.Socket;
  private tcp?: net.Server;
  private readonly conns = new Set<net.Socket>();

  /** Where names outside the cluster domain go (opts.upstream, parsed once). */
  private readonly upstream: { ip: string; port: number }[];

  constructor(
    private readonly dns: ClusterDns,
    private readonly opts: DnsServerOptions = {},
  ) {
    this.upstream = (opts.upstream ?? []).map((server) => {
      const [ip, port] = server.split(':');
      return { ip: ip!, port: port ? Number(port) : 53 };
    });
  }

  /** Starts listening; resolves with the address and the port both transports listen on. */
  async start(): Promise<{ host: string; port: number }> {
    const host = this.opts.host ?? '127.0.0.1';
    const udp = dgram.createSocket('udp4');
    udp.on('message', (msg, rinfo) => {
      const res = this.respond(msg, true, rinfo.address);
      if (!res) return;
      if (this.upstream.length > 0 && (res[3]! & 0x0f) === 5) {
        // REFUSED: outside the cluster domain. The node's resolvers answer it, or it stays REFUSED.
        void this.forward(msg).then((up) => udp.send(up ?? res, rinfo.port, rinfo.address));
        return;
      }
      udp.send(res, rinfo.port, rinfo.address);
    });
    udp.on('error', (err) => log.warn(`udp: ${err.message}`));
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(this.opts.port ?? 53, host, () => {
        udp.off('error', reject);
        resolve();
      });
    }).catch((err: Error) => {
      udp.close();
      throw unavailable(`cannot listen for DNS on ${host}:${this.opts.port ?? 53}/udp: ${err.message}`, err);
    });
    this.udp = udp;
    const port = udp.address().port;
    const tcp = net.createServer((sock) => this.serveTcp(sock));
    tcp.on('error', (err) => log.warn(`tcp: ${err.message}`)); // an accept error (EMFILE...) must not crash the agent
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(port, host, () => {
        tcp.off('error', reject);
        resolve();
      });
    }).catch(async (err: Error) => {
      await this.close();
      throw unavailable(`cannot listen for DNS on ${host}:${port}/tcp: ${err.message}`, err);
    });
    this.tcp = tcp;
    return { host, port };
  }

  /** Asks the first upstream server that answers in time; undefined when none does. */
  private async forward(msg: Buffer): Promise<Buffer | undefined> {
    for (const { ip, port } of this.upstream) {
      const answer = await new Promise<Buffer | undefined>((resolve) => {
        const sock = dgram.createSocket('udp4');
        const done = (b?: Buffer) => {
          clearTimeout(timer);
          sock.close();
          resolve(b);
        };
        const timer = setTimeout(() => done(), FORWARD_TIMEOUT_MS);
        sock.on('error', () => done());
        sock.on('message', (m) => done(m));
        sock.send(msg, port, ip);
      });
      if (answer) return answer;
    }
    return undefined;
  }

  private respond(msg: Buffer, udp: boolean, client: string): Buffer | undefined {
    let query: Packet;
    try {
      query = dnsPacket.decode(msg);
    } catch {
      return undefined;
    }
    if (query.type === 'response') return undefined;
    const answer = this.dns.answer(query, this.opts.viewOf?.(client));
    let out = dnsPacket.encode(answer);
    const limit = query.additionals?.find((a) => a.type === 'OPT') ? 4096 : UDP_LIMIT;
    if (udp && out.length > limit) {
      out = dnsPacket.encode({ ...answer, flags: (answer.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE, answers: [], additionals: [], authorities: [] });
    }
    return out;
  }

  private serveTcp(sock: net.Socket): void {
    this.conns.add(sock);
    sock.setTimeout(10_000, () => sock.destroy());
    sock.on('close', () => this.conns.delete(sock));
    sock.on('error', () => sock.destroy());
    let buf = Buffer.alloc(0);
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) break;
        const res = this.respond(buf.subarray(2, 2 + len), false, sock.remoteAddress?.replace(/^::ffff:/, '') ?? '');
        buf = buf.subarray(2 + len);
        if (!res) return void sock.destroy();
        const head = Buffer.alloc(2);
        head.writeUInt16BE(res.length);
        sock.write(Buffer.concat([head, res]));
      }
    });
  }

  async close(): Promise<void> {
    for (const c of this.conns) c.destroy();
    await Promise.all([
      this.udp ? new Promise<void>((r) => this.udp!.close(() => r())) : undefined,
      this.tcp ? new Promise<void>((r) => this.tcp!.close(() => r())) : undefined,
    ]);
    this.udp = undefined;
    this.tcp = undefined;
  }
}
