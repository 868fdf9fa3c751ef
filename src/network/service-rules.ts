import { createHash } from 'node:crypto';
import type { Host } from '../host/host.js';
import { invalid } from '../lib/errors.js';
import { contains, parseCidr, parseIp } from '../lib/cidr.js';
import { netnsRunner, nftApply, type NetnsRunner } from './netns-runner.js';

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

/** One backend of a service port, resolved from Endpoints/EndpointSlices. */
export interface EndpointRule {
  ip: string;
  port: number;
  ready: boolean;
}

/** A service port with its endpoints (EndpointSlice ports are matched to service ports by name). */
export interface ServicePortRule {
  name?: string;
  protocol: Protocol;
  port: number;
  nodePort?: number;
  endpoints: EndpointRule[];
}

/** A pod's hostPort: connections to any local address of the node on that port go to the pod. */
export interface HostPortRule {
  /** namespace/name of the pod, for error messages. */
  pod: string;
  protocol: Protocol;
  hostPort: number;
  podIP: string;
  containerPort: number;
}

/** What the kernel rules need to know of one Service. */
export interface ServiceRule {
  /** namespace/name: identifies the service across updates. */
  key: string;
  /** Absent or "None" for headless services, which get no rules (DNS answers with pod addresses). */
  clusterIP?: string;
  ports: ServicePortRule[];
  sessionAffinity?: 'None' | 'ClientIP';
  /** ClientIP affinity lifetime (Kubernetes' default: 10800 s). */
  affinityTimeoutSeconds?: number;
  /**
   * Connections leave with the node's address: for endpoints outside the pod network (an API server,
   * manual Endpoints), which could not route a reply back to a pod's address.
   */
  masquerade?: boolean;
}

export interface ServiceRulesOptions {
  host: Host;
  /** Network namespace of the node when not ours (tests). */
  netns?: string;
  /** nftables table name in family ip (default nubis). */
  table?: string;
  /** Mark bit for connections to masquerade: hairpin and NodePort traffic only (default 0x4000). */
  masqMark?: number;
  /** Masquerade pod traffic leaving the cluster CIDR (off by default, off in tests). */
  masqueradeOutside?: { clusterCidr: string; serviceCidr: string };
  /** Checked by `validate`: ClusterIPs must lie here. */
  serviceCidr?: string;
  /** Checked by `validate` (default 30000-32767). */
  nodePortRange?: [number, number];
}

interface Objects {
  sets: string[];
  chains: { name: string; rules: string[] }[];
  svcElems: string[];
  npElems: string[];
  noEpElems: string[];
}

const proto = (p: Protocol) => p.toLowerCase();
const stripVerdict = (e: string) => e.replace(/ : goto .*$/, '');

/** A stable short id of one service port, for kernel object names. */
export function portId(key: string, p: ServicePortRule): string {
  return createHash('sha256').update(`${key}/${p.name ?? ''}/${p.protocol}/${p.port}`).digest('hex').slice(0, 12);
}

/**
 * Service load balancing as nftables rules in one table (family ip): a verdict map from ClusterIP.proto.port
 * to one chain per service port, whose one rule DNATs to a ready endpoint picked by `numgen random` (few
 * kernel objects: every transaction's cache load stays small); NodePorts on the node's local addresses;
 * ClientIP affinity through one chain and one timed set of client addresses per endpoint; services
 * without ready endpoints rejected. Only hairpin (a set of endpoint address pairs, reference-counted)
 * and NodePort connections are masqueraded. `sync` rebuilds the table in one transaction (atomic; established
 * connections keep their conntrack NAT); `update`/`remove` replace one service's objects only.
 */
export class ServiceRules {
  readonly backend = 'nftables' as const;
  readonly table: string;
  private readonly run: NetnsRunner;
  private readonly mark: string;
  private readonly applied = new Map<string, ServiceRule>();
  /** How many applied service ports use each endpoint address (the hairpin set holds those above 0). */
  private hairpinRefs = new Map<string, number>();
  private hostPorts: HostPortRule[] = [];

  constructor(private readonly opts: ServiceRulesOptions) {
    this.table = opts.table ?? 'nubis';
    this.run = netnsRunner(opts.host, opts.netns);
    this.mark = '0x' + (opts.masqMark ?? 0x4000).toString(16);
  }

  /** The nft script that replaces the whole table with rules for `services`. */
  renderFull(services: ServiceRule[]): string {
    const t = `ip ${this.table}`;
    const m = this.mark;
    const out = [
      `add table ${t}`,
      `delete table ${t}`,
      `add table ${t}`,
      `add map ${t} svc-ports { type ipv4_addr . inet_proto . inet_service : verdict; }`,
      `add map ${t} nodeports { type inet_proto . inet_service : verdict; }`,
      `add set ${t} no-endpoints { type ipv4_addr . inet_proto . inet_service; }`,
      `add chain ${t} services`,
      `add rule ${t} services ip daddr . meta l4proto . th dport vmap @svc-ports`,
      `add map ${t} hostports { type inet_proto . inet_service : verdict; }`,
      `add rule ${t} services fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @hostports`,
      `add rule ${t} services fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @nodeports`,
      `add chain ${t} prerouting { type nat hook prerouting priority -100; policy accept; }`,
      `add rule ${t} prerouting jump services`,
      `add chain ${t} output { type nat hook output priority -100; policy accept; }`,
      `add rule ${t} output jump services`,
      `add chain ${t} postrouting { type nat hook postrouting priority 100; policy accept; }`,
      `add set ${t} hairpin { type ipv4_addr . ipv4_addr; }`,
      `add rule ${t} postrouting meta mark & ${m} == ${m} masquerade`,
      // A pod reaching itself through a service: the reply must come back through the node.
      `add rule ${t} postrouting ct status dnat ip saddr . ip daddr @hairpin masquerade`,
    ];
    const mo = this.opts.masqueradeOutside;
    if (mo) {
      parseCidr(mo.clusterCidr);
      parseCidr(mo.serviceCidr);
      out.push(`add rule ${t} postrouting ip saddr ${mo.clusterCidr} ip daddr != { ${mo.clusterCidr}, ${mo.serviceCidr} } masquerade`);
    }
    for (const hook of ['output', 'forward']) {
      out.push(
        `add chain ${t} reject-${hook} { type filter hook ${hook} priority 0; policy accept; }`,
        `add rule ${t} reject-${hook} ip daddr . meta l4proto . th dport @no-endpoints reject`,
      );
    }
    const all: Objects = { sets: [], chains: [], svcElems: [], npElems: [], noEpElems: [] };
    for (const s of services) {
      const o = this.objects(s);
      all.sets.push(...o.sets);
      all.chains.push(...o.chains);
      all.svcElems.push(...o.svcElems);
      all.npElems.push(...o.npElems);
      all.noEpElems.push(...o.noEpElems);
    }
    out.push(...this.addLines(all, true));
    out.push(...this.hostPortLines([], this.hostPorts));
    const pairs = [...countRefs(new Map(), services, 1).keys()].map((ip) => `${ip} . ${ip}`);
    for (let i = 0; i < pairs.length; i += 500) out.push(`add element ${t} hairpin { ${pairs.slice(i, i + 500).join(', ')} }`);
    return out.join('\n') + '\n';
  }

  /**
   * The nft script that turns `before` (may be absent) into `after` (may be absent) for one service, with
   * the hairpin reference counts that hold once it is applied.
   */
  renderUpdate(before: ServiceRule | undefined, after: ServiceRule | undefined): { script: string; refs: Map<string, number> } {
    const t = `ip ${this.table}`;
    const out: string[] = [];
    const refs = countRefs(countRefs(new Map(this.hairpinRefs), before ? [before] : [], -1), after ? [after] : [], 1);
    const gone = [...this.hairpinRefs.keys()].filter((ip) => !refs.has(ip));
    const added = [...refs.keys()].filter((ip) => !this.hairpinRefs.has(ip));
    if (before) {
      const o = this.objects(before);
      if (o.svcElems.length) out.push(`delete element ${t} svc-ports { ${o.svcElems.map(stripVerdict).join(', ')} }`);
      if (o.npElems.length) out.push(`delete element ${t} nodeports { ${o.npElems.map(stripVerdict).join(', ')} }`);
      if (o.noEpElems.length) out.push(`delete element ${t} no-endpoints { ${o.noEpElems.join(', ')} }`);
      for (const c of o.chains) out.push(`flush chain ${t} ${c.name}`);
      for (const c of o.chains) out.push(`delete chain ${t} ${c.name}`);
      for (const s of o.sets) out.push(`delete set ${t} ${s.split(' ')[0]}`);
    }
    if (gone.length) out.push(`delete element ${t} hairpin { ${gone.map((ip) => `${ip} . ${ip}`).join(', ')} }`);
    if (after) out.push(...this.addLines(this.objects(after), false));
    if (added.length) out.push(`add element ${t} hairpin { ${added.map((ip) => `${ip} . ${ip}`).join(', ')} }`);
    return { script: out.length ? out.join('\n') + '\n' : '', refs };
  }

  private addLines(o: Objects, batched: boolean): string[] {
    const t = `ip ${this.table}`;
    const out: string[] = [];
    for (const s of o.sets) out.push(`add set ${t} ${s}`);
    // Endpoint chains first: service chains jump to them.
    for (const c of [...o.chains].reverse()) {
      out.push(`add chain ${t} ${c.name}`);
      for (const r of c.rules) out.push(`add rule ${t} ${c.name} ${r}`);
    }
    const elems = (map: string, list: string[]) => {
      if (!list.length) return;
      if (!batched) return void out.push(`add element ${t} ${map} { ${list.join(', ')} }`);
      for (let i = 0; i < list.length; i += 500) out.push(`add element ${t} ${map} { ${list.slice(i, i + 500).join(', ')} }`);
    };
    elems('svc-ports', o.svcElems);
    elems('nodeports', o.npElems);
    elems('no-endpoints', o.noEpElems);
    return out;
  }

  /** The sets, chains and map elements of one service. Service chains come before their endpoint chains. */
  private objects(s: ServiceRule): Objects {
    const o: Objects = { sets: [], chains: [], svcElems: [], npElems: [], noEpElems: [] };
    if (!s.clusterIP || s.clusterIP === 'None') return o;
    const affinity = s.sessionAffinity === 'ClientIP';
    const timeout = s.affinityTimeoutSeconds ?? 10800;
    for (const p of s.ports) {
      const id = portId(s.key, p);
      const l4 = proto(p.protocol);
      const key = `${s.clusterIP} . ${l4} . ${p.port}`;
      const ready = p.endpoints.filter((e) => e.ready);
      if (ready.length === 0) {
        o.noEpElems.push(key);
        continue;
      }
      const svc = { name: `svc-${id}`, rules: s.masquerade ? [`meta mark set meta mark | ${this.mark}`] : ([] as string[]) };
      const eps: { name: string; rules: string[] }[] = [];
      if (!affinity) {
        // One rule picks the endpoint: few kernel objects keep every later transaction fast.
        svc.rules.push(
          ready.length === 1
            ? `meta l4proto ${l4} dnat to ${ready[0]!.ip}:${ready[0]!.port}`
            : `meta l4proto ${l4} dnat to numgen random mod ${ready.length} map { ${ready.map((e, i) => `${i} : ${e.ip} . ${e.port}`).join(', ')} }`,
        );
      } else {
        ready.forEach((e, i) => {
          const ep = { name: `ep-${id}-${i}`, rules: [`update @aff-${id}-${i} { ip saddr }`, `meta l4proto ${l4} dnat to ${e.ip}:${e.port}`] };
          o.sets.push(`aff-${id}-${i} { type ipv4_addr; flags dynamic,timeout; timeout ${timeout}s; }`);
          svc.rules.push(`ip saddr @aff-${id}-${i} goto ${ep.name}`);
          eps.push(ep);
        });
        svc.rules.push(`numgen random mod ${eps.length} vmap { ${eps.map((e, i) => `${i} : goto ${e.name}`).join(', ')} }`);
      }
      o.chains.push(svc);
      o.svcElems.push(`${key} : goto ${svc.name}`);
      if (p.nodePort) {
        const np = { name: `np-${id}`, rules: [`meta mark set meta mark | ${this.mark} goto ${svc.name}`] };
        o.chains.unshift(np);
        o.npElems.push(`${l4} . ${p.nodePort} : goto ${np.name}`);
      }
      o.chains.push(...eps);
    }
    return o;
  }

  /** Checks services against each other and the configured ranges (see `validateServices`). */
  validate(services: ServiceRule[]): void {
    validateServices(services, this.opts, this.hostPorts);
  }

  /** Replaces the whole table with rules for `services` in one transaction (start-up, agent restart). */
  async sync(services: ServiceRule[]): Promise<void> {
    this.validate(services);
    await this.apply(this.renderFull(services));
    this.applied.clear();
    for (const s of services) this.applied.set(s.key, s);
    this.hairpinRefs = countRefs(new Map(), services, 1);
  }

  /** The nft lines replacing the hostPort rules `before` with `after`. */
  private hostPortLines(before: HostPortRule[], after: HostPortRule[]): string[] {
    const t = `ip ${this.table}`;
    const chain = (h: HostPortRule) => `hp-${proto(h.protocol)}-${h.hostPort}`;
    const key = (h: HostPortRule) => `${proto(h.protocol)} . ${h.hostPort}`;
    const out: string[] = [];
    if (before.length) out.push(`delete element ${t} hostports { ${before.map(key).join(', ')} }`);
    for (const h of before) out.push(`delete chain ${t} ${chain(h)}`);
    for (const h of after) {
      out.push(
        `add chain ${t} ${chain(h)}`,
        `add rule ${t} ${chain(h)} ip saddr ${h.podIP} meta mark set meta mark | ${this.mark}`,
        `add rule ${t} ${chain(h)} meta l4proto ${proto(h.protocol)} dnat to ${h.podIP}:${h.containerPort}`,
      );
    }
    if (after.length) out.push(`add element ${t} hostports { ${after.map((h) => `${key(h)} : goto ${chain(h)}`).join(', ')} }`);
    return out;
  }

  /**
   * Replaces every hostPort rule of the node in one transaction. A port taken twice, or also a NodePort,
   * fails with Invalid naming both users.
   */
  async setHostPorts(list: HostPortRule[]): Promise<void> {
    validateHostPorts(list, this.applied.values());
    const lines = this.hostPortLines(this.hostPorts, list);
    await this.apply(lines.length ? lines.join('\n') + '\n' : '');
    this.hostPorts = [...list];
  }

  /** Replaces one service's rules (added, changed) in one transaction. */
  async update(service: ServiceRule): Promise<void> {
    const others = [...this.applied.values()].filter((s) => s.key !== service.key);
    this.validate([...others, service]);
    const { script, refs } = this.renderUpdate(this.applied.get(service.key), service);
    await this.apply(script);
    this.applied.set(service.key, service);
    this.hairpinRefs = refs;
  }

  /** Removes one service's rules; an unknown key is not an error. */
  async remove(key: string): Promise<void> {
    const before = this.applied.get(key);
    if (!before) return;
    const { script, refs } = this.renderUpdate(before, undefined);
    await this.apply(script);
    this.applied.delete(key);
    this.hairpinRefs = refs;
  }

  /** Deletes the table and everything in it. */
  async clear(): Promise<void> {
    await this.apply(`add table ip ${this.table}\ndelete table ip ${this.table}\n`);
    this.applied.clear();
    this.hairpinRefs.clear();
    this.hostPorts = [];
  }

  private apply(script: string): Promise<void> {
    return nftApply(this.run, script, 'service rules');
  }
}

/** Adds `delta` to the count of every ready endpoint address of every ClusterIP service port; drops zeros. */
function countRefs(refs: Map<string, number>, services: ServiceRule[], delta: number): Map<string, number> {
  for (const s of services) {
    if (!s.clusterIP || s.clusterIP === 'None') continue;
    for (const p of s.ports) {
      for (const e of p.endpoints) {
        if (!e.ready) continue;
        const n = (refs.get(e.ip) ?? 0) + delta;
        if (n > 0) refs.set(e.ip, n);
        else refs.delete(e.ip);
      }
    }
  }
  return refs;
}

/**
 * Checks services against each other and the configured ranges: a ClusterIP outside the service CIDR, a
 * ClusterIP:port or NodePort used twice, a NodePort outside its range each fail with a clear Invalid.
 */
export function validateServices(
  services: ServiceRule[],
  opts: { serviceCidr?: string; nodePortRange?: [number, number] },
  hostPorts: HostPortRule[] = [],
): void {
  const cidr = opts.serviceCidr ? parseCidr(opts.serviceCidr) : undefined;
  const [lo, hi] = opts.nodePortRange ?? [30000, 32767];
  const seen = new Map<string, string>();
  const claim = (what: string, key: string) => {
    const other = seen.get(what);
    if (other && other !== key) throw invalid(`${what} of ${key} is already allocated to ${other}`);
    seen.set(what, key);
  };
  for (const s of services) {
    const headless = !s.clusterIP || s.clusterIP === 'None';
    if (!headless) {
      parseIp(s.clusterIP!);
      if (cidr && !contains(cidr, s.clusterIP!)) {
        throw invalid(`clusterIP ${s.clusterIP} of ${s.key} is outside the service CIDR ${opts.serviceCidr}`);
      }
    }
    for (const p of s.ports) {
      if (!headless) claim(`${s.clusterIP}:${p.port}/${p.protocol}`, s.key);
      if (p.nodePort !== undefined) {
        if (p.nodePort < lo || p.nodePort > hi) throw invalid(`nodePort ${p.nodePort} of ${s.key} is outside the range ${lo}-${hi}`);
        claim(`nodePort ${p.nodePort}/${p.protocol}`, s.key);
        const h = hostPorts.find((h) => p.nodePort === h.hostPort && p.protocol === h.protocol);
        if (h) throw invalid(`nodePort ${p.nodePort}/${p.protocol} of ${s.key} is already used as a hostPort by pod ${h.pod}`);
      }
    }
  }
}

/** Checks hostPorts: a port number, not taken twice, not also a NodePort of `services`. */
export function validateHostPorts(list: HostPortRule[], services: Iterable<ServiceRule>): void {
  const seen = new Map<string, string>();
  for (const s of services) for (const p of s.ports) if (p.nodePort) seen.set(`${p.protocol}/${p.nodePort}`, `NodePort of ${s.key}`);
  for (const h of list) {
    parseIp(h.podIP);
    if (!Number.isInteger(h.hostPort) || h.hostPort < 1 || h.hostPort > 65535) throw invalid(`hostPort ${h.hostPort} of pod ${h.pod} is not a port number`);
    const other = seen.get(`${h.protocol}/${h.hostPort}`);
    if (other) throw invalid(`hostPort ${h.hostPort}/${h.protocol} of pod ${h.pod} is already used by ${other}`);
    seen.set(`${h.protocol}/${h.hostPort}`, `pod ${h.pod}`);
  }
}
