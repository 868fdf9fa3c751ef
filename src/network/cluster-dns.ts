import dnsPacket, { type Answer, type Packet, type Question } from 'dns-packet';

/** A Service as DNS needs it. Headless services (no ClusterIP or "None") answer with ready endpoints. */
export interface DnsService {
  namespace: string;
  name: string;
  clusterIP?: string;
  ports: { name?: string; protocol: 'TCP' | 'UDP' | 'SCTP'; port: number }[];
  /** Ready endpoints (only headless services use them); hostname gives <hostname>.<svc>.<ns>.svc names. */
  endpoints?: { ip: string; hostname?: string; ports?: Record<string, number> }[];
}

export interface ClusterDnsOptions {
  /** Cluster domain (default cluster.local). */
  domain?: string;
  /** TTL of every answer in seconds (default 5, as Kubernetes' DNS). */
  ttl?: number;
}

const RCODE = { NOERROR: 0, NXDOMAIN: 3, REFUSED: 5, FORMERR: 1, NOTIMP: 4 } as const;

/**
 * The cluster DNS model and its answers, without sockets: `<svc>.<ns>.svc.<domain>` A records (the
 * ClusterIP, or the ready pods of a headless service), `<hostname>.<svc>.<ns>.svc.<domain>` for named
 * endpoints, SRV records `_<port>._<proto>.<svc>.<ns>.svc.<domain>` for named ports, and
 * `a-b-c-d.<ns>.pod.<domain>`, and PTR records for ClusterIPs and named headless endpoints. Unknown
 * names in the cluster domain get NXDOMAIN; names outside it (and other reverse lookups) get REFUSED: it
 * never recurses.
 */
export class ClusterDns {
  readonly domain: string;
  readonly ttl: number;
  private readonly services = new Map<string, DnsService>();

  constructor(opts: ClusterDnsOptions = {}) {
    this.domain = (opts.domain ?? 'cluster.local').toLowerCase().replace(/\.$/, '');
    this.ttl = opts.ttl ?? 5;
  }

  upsert(svc: DnsService): void {
    this.services.set(`${svc.name}.${svc.namespace}`.toLowerCase(), svc);
  }

  remove(namespace: string, name: string): void {
    this.services.delete(`${name}.${namespace}`.toLowerCase());
  }

  /** Replaces the whole model. */
  reset(services: DnsService[]): void {
    this.services.clear();
    for (const s of services) this.upsert(s);
  }

  /**
   * The response to a decoded query. With `visible`, names of namespaces it refuses do not exist for
   * this client (NXDOMAIN, no reverse names), so a tenant's pods cannot resolve or discover other
   * tenants' Services; `kubernetes.default` is always visible.
   */
  answer(query: Packet, visible?: (namespace: string) => boolean): Packet {
    const q = query.questions?.[0];
    const reply = (rcode: number, answers: Answer[] = [], additionals: Answer[] = [], aa = true): Packet => ({
      type: 'response',
      id: query.id ?? 0,
      flags: (aa ? dnsPacket.AUTHORITATIVE_ANSWER : 0) | ((query.flags ?? 0) & dnsPacket.RECURSION_DESIRED) | rcode,
      questions: q ? [q] : [],
      answers,
      additionals,
      authorities: rcode === RCODE.NXDOMAIN || (rcode === RCODE.NOERROR && answers.length === 0) ? [this.soa()] : [],
    });
    if (!q || (query.questions?.length ?? 0) !== 1) return reply(RCODE.FORMERR, [], [], false);
    if ((query.flags ?? 0) & (0xf << 11)) return reply(RCODE.NOTIMP, [], [], false); // only standard queries
    const name = q.name.toLowerCase().replace(/\.$/, '');
    const ptr = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\.in-addr\.arpa$/.exec(name);
    if (ptr) {
      // Reverse lookups of addresses the cluster knows; any other address is not ours to answer.
      const target = this.reverse(`${ptr[4]}.${ptr[3]}.${ptr[2]}.${ptr[1]}`, visible);
      if (!target) return reply(RCODE.REFUSED, [], [], false);
      const answers: Answer[] = q.type === 'PTR' ? [{ type: 'PTR', name: q.name, ttl: this.ttl, class: 'IN', data: target }] : [];
      return reply(RCODE.NOERROR, answers);
    }
    if (name !== this.domain && !name.endsWith(`.${this.domain}`)) return reply(RCODE.REFUSED, [], [], false);
    const found = this.lookup(name, q, visible ? (ns, svc) => visible(ns) || (ns === 'default' && svc === 'kubernetes') : () => true);
    if (!found) return reply(RCODE.NXDOMAIN);
    return reply(RCODE.NOERROR, found.answers.filter((a) => a.type === q.type || (q.type as string) === 'ANY'), found.additionals);
  }

  /** Every record of `name` (any type), or undefined when the name does not exist. */
  private lookup(name: string, q: Question, sees: (namespace: string, service?: string) => boolean): { answers: Answer[]; additionals: Answer[] } | undefined {
    const rel = name === this.domain ? [] : name.slice(0, -(this.domain.length + 1)).split('.');
    const a = (n: string, ip: string): Answer => ({ type: 'A', name: n, ttl: this.ttl, class: 'IN', data: ip });
    if (rel.length === 0) return { answers: [this.soa()], additionals: [] };
    const kind = rel.at(-1);
    if ((kind === 'pod' || kind === 'svc') && rel.length >= 2 && !sees(rel.at(-2)!, kind === 'svc' ? rel.at(-3) : undefined)) return undefined;
    if (kind === 'pod' && rel.length === 3) {
      const ip = rel[0]!.replace(/-/g, '.');
      return /^\d+\.\d+\.\d+\.\d+$/.test(ip) ? { answers: [a(q.name, ip)], additionals: [] } : undefined;
    }
    // Names that exist without records of their own: svc.<domain>, pod.<domain>, <ns>.pod.<domain>, <ns>.svc.<domain>.
    const empty = { answers: [], additionals: [] };
    if (rel.length === 1) return kind === 'svc' || kind === 'pod' ? empty : undefined;
    if (kind === 'pod') return rel.length === 2 ? empty : undefined;
    if (kind !== 'svc') return undefined;
    if (rel.length === 2) return this.hasNamespace(rel[0]!) ? empty : undefined;
    const ns = rel.at(-2)!;
    if (rel.length === 5 && rel[0]!.startsWith('_') && rel[1]!.startsWith('_')) {
      return this.srv(q.name, rel[0]!.slice(1), rel[1]!.slice(1), this.services.get(`${rel[2]}.${ns}`));
    }
    const svcName = rel.at(-3)!;
    const svc = this.services.get(`${svcName}.${ns}`);
    if (!svc) return undefined;
    const headless = !svc.clusterIP || svc.clusterIP === 'None';
    if (rel.length === 3) {
      const ips = headless ? (svc.endpoints ?? []).map((e) => e.ip) : [svc.clusterIP!];
      return { answers: ips.map((ip) => a(q.name, ip)), additionals: [] };
    }
    if (rel.length === 4 && headless) {
      const ep = (svc.endpoints ?? []).find((e) => e.hostname?.toLowerCase() === rel[0]);
      return ep ? { answers: [a(q.name, ep.ip)], additionals: [] } : undefined;
    }
    return undefined;
  }

  private srv(qname: string, portName: string, proto: string, svc: DnsService | undefined) {
    const port = svc?.ports.find((p) => p.name?.toLowerCase() === portName && p.protocol.toLowerCase() === proto);
    if (!svc || !port) return undefined;
    const base = `${svc.name}.${svc.namespace}.svc.${this.domain}`;
    const answers: Answer[] = [];
    const additionals: Answer[] = [];
    const headless = !svc.clusterIP || svc.clusterIP === 'None';
    if (!headless) {
      answers.push({ type: 'SRV', name: qname, ttl: this.ttl, class: 'IN', data: { priority: 0, weight: 100, port: port.port, target: base } });
      additionals.push({ type: 'A', name: base, ttl: this.ttl, class: 'IN', data: svc.clusterIP! });
    } else {
      const eps = svc.endpoints ?? [];
      for (const e of eps) {
        const target = `${e.hostname ?? e.ip.replace(/\./g, '-')}.${base}`;
        const p = e.ports?.[port.name!] ?? port.port;
        answers.push({ type: 'SRV', name: qname, ttl: this.ttl, class: 'IN', data: { priority: 0, weight: Math.max(1, Math.floor(100 / eps.length)), port: p, target } });
        additionals.push({ type: 'A', name: target, ttl: this.ttl, class: 'IN', data: e.ip });
      }
    }
    return { answers, additionals };
  }

  /** The name of a ClusterIP, or of a headless service's endpoint that has a hostname. */
  private reverse(ip: string, visible?: (namespace: string) => boolean): string | undefined {
    for (const s of this.services.values()) {
      if (visible && !visible(s.namespace) && !(s.namespace === 'default' && s.name === 'kubernetes')) continue;
      const base = `${s.name}.${s.namespace}.svc.${this.domain}`;
      if (s.clusterIP === ip) return base;
      const ep = (s.endpoints ?? []).find((e) => e.ip === ip && e.hostname);
      if (ep && (!s.clusterIP || s.clusterIP === 'None')) return `${ep.hostname}.${base}`;
    }
    return undefined;
  }

  private hasNamespace(ns: string): boolean {
    for (const s of this.services.values()) if (s.namespace.toLowerCase() === ns) return true;
    return false;
  }

  private soa(): Answer {
    return {
      type: 'SOA',
      name: this.domain,
      ttl: this.ttl,
      class: 'IN',
      data: { mname: `ns.dns.${this.domain}`, rname: `hostmaster.${this.domain}`, serial: 1, refresh: 7200, retry: 1800, expire: 86400, minimum: this.ttl },
    };
  }
}

/** A pod's /etc/resolv.conf pointing at the cluster DNS, with Kubernetes' search path and ndots:5. */
export function resolvConf(namespace: string, dnsIP: string, domain = 'cluster.local'): string {
  return `search ${namespace}.svc.${domain} svc.${domain} ${domain}\nnameserver ${dnsIP}\noptions ndots:5\n`;
}
