import type { Host } from '../host/host.js';
import { invalid } from '../lib/errors.js';
import { formatCidr, parseCidr, parseIp } from '../lib/cidr.js';
import { netnsRunner, nftApply, type NetnsRunner } from './netns-runner.js';

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}

export interface PolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}

export interface PolicyPort {
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  /** A number, or the name of a container port of the destination pod. Absent: every port. */
  port?: number | string;
  endPort?: number;
}

/** A Kubernetes NetworkPolicy (the fields enforcement needs). */
export interface NetworkPolicyRule {
  namespace: string;
  name: string;
  spec: {
    podSelector: LabelSelector;
    policyTypes?: ('Ingress' | 'Egress')[];
    ingress?: { from?: PolicyPeer[]; ports?: PolicyPort[] }[];
    egress?: { to?: PolicyPeer[]; ports?: PolicyPort[] }[];
  };
}

export interface PolicyPod {
  namespace: string;
  name: string;
  ip: string;
  labels: Record<string, string>;
  /** Named container ports, for policies that name ports. */
  namedPorts?: Record<string, { port: number; protocol: 'TCP' | 'UDP' | 'SCTP' }>;
}

export interface PolicyModel {
  pods: PolicyPod[];
  namespaces: { name: string; labels: Record<string, string> }[];
  policies: NetworkPolicyRule[];
  /** Every node's pod range: between them, an address the model does not know yet is refused. */
  podNetworks?: string[];
}

/** Whether `labels` match a selector; an empty selector matches everything. */
export function matches(sel: LabelSelector, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const ok =
      e.operator === 'In' ? has && (e.values ?? []).includes(labels[e.key]!)
      : e.operator === 'NotIn' ? !has || !(e.values ?? []).includes(labels[e.key]!)
      : e.operator === 'Exists' ? has
      : e.operator === 'DoesNotExist' ? !has
      : (() => { throw invalid(`unknown label selector operator "${String(e.operator)}"`); })();
    if (!ok) return false;
  }
  return true;
}

/** The namespace label that names a namespace's tenant (nubis.dev/v1 Tenant). */
export const TENANT_LABEL = 'nubis.dev/tenant';

const types = (p: NetworkPolicyRule) => p.spec.policyTypes ?? (p.spec.egress ? ['Ingress', 'Egress'] : ['Ingress']);
const chainName = (dir: 'in' | 'eg', ip: string) => `${dir}-${ip.replace(/\./g, '-')}`;

/**
 * Compiles NetworkPolicies to one nftables table (family ip) on the forward hook, where traffic between
 * pods passes (bridged traffic too, through br_netfilter): replies of allowed connections pass; a pod
 * selected by an Ingress (Egress) policy gets a chain holding the union of the allow rules of every
 * policy selecting it, ending in drop. Pods selected by no policy are not isolated.
 *
 * Before any policy, tenants are kept apart: once some namespace names a tenant, a new connection from a
 * pod to a pod of another tenant (or between a tenant's pod and a pod of no tenant) is dropped, directly
 * or through a Service (DNAT happens first). A vmap from the source pod to its tenant's chain and one set
 * of pod addresses per tenant keep that one lookup per packet, however many tenants there are.
 */
export function renderPolicies(model: PolicyModel, table = 'nubis-policy'): string {
  const t = `ip ${table}`;
  const nsLabels = new Map(model.namespaces.map((n) => [n.name, n.labels]));
  const out = [
    `add table ${t}`,
    `delete table ${t}`,
    `add table ${t}`,
    `add map ${t} ingress-pods { type ipv4_addr : verdict; }`,
    `add map ${t} egress-pods { type ipv4_addr : verdict; }`,
    `add chain ${t} forward { type filter hook forward priority -5; policy accept; }`,
    `add rule ${t} forward ct state established,related accept`,
    ...tenantIsolation(t, model, nsLabels),
    `add rule ${t} forward ip saddr vmap @egress-pods`,
    `add rule ${t} forward ip daddr vmap @ingress-pods`,
  ];
  // A peer's pods are the same for every pod its policy selects: computed once per peer.
  const peerCache = new Map<PolicyPeer, PolicyPod[]>();
  const peerPods = (policy: NetworkPolicyRule, peer: PolicyPeer): PolicyPod[] => {
    let pods = peerCache.get(peer);
    if (!pods) {
      pods = model.pods.filter((p) => {
        const inNs = peer.namespaceSelector ? matches(peer.namespaceSelector, nsLabels.get(p.namespace) ?? {}) : p.namespace === policy.namespace;
        return inNs && (!peer.podSelector || matches(peer.podSelector, p.labels));
      });
      peerCache.set(peer, pods);
    }
    return pods;
  };
  const elems: Record<'in' | 'eg', string[]> = { in: [], eg: [] };
  for (const pod of model.pods) {
    parseIp(pod.ip);
    for (const dir of ['in', 'eg'] as const) {
      const selecting = model.policies.filter(
        (p) => p.namespace === pod.namespace && types(p).includes(dir === 'in' ? 'Ingress' : 'Egress') && matches(p.spec.podSelector, pod.labels),
      );
      if (selecting.length === 0) continue;
      const chain = chainName(dir, pod.ip);
      const rules: string[] = [];
      const field = dir === 'in' ? 'saddr' : 'daddr';
      for (const policy of selecting) {
        const list = dir === 'in' ? (policy.spec.ingress ?? []).map((r) => ({ peers: r.from, ports: r.ports })) : (policy.spec.egress ?? []).map((r) => ({ peers: r.to, ports: r.ports }));
        for (const rule of list) {
          // Each peer as (address match, destination pods for named ports); no peers: anyone.
          const peers: { match: string; dests: PolicyPod[] | undefined }[] = [];
          if (!rule.peers || rule.peers.length === 0) peers.push({ match: '', dests: dir === 'in' ? [pod] : undefined });
          for (const peer of rule.peers ?? []) {
            if (peer.ipBlock) {
              const cidr = formatCidr(parseCidr(peer.ipBlock.cidr));
              const except = (peer.ipBlock.except ?? []).map((c) => formatCidr(parseCidr(c)));
              peers.push({ match: `ip ${field} ${cidr} ${except.length ? `ip ${field} != { ${except.join(', ')} } ` : ''}`, dests: dir === 'in' ? [pod] : undefined });
              continue;
            }
            const ips = peerPods(policy, peer);
            if (ips.length === 0) continue;
            if (dir === 'in') peers.push({ match: `ip saddr { ${ips.map((p) => p.ip).join(', ')} } `, dests: [pod] });
            else for (const p of ips) peers.push({ match: `ip daddr ${p.ip} `, dests: [p] });
          }
          for (const peer of peers) for (const ports of portMatches(rule.ports, peer.dests)) rules.push(`${peer.match}${ports}accept`);
        }
      }
      rules.push('drop');
      out.push(`add chain ${t} ${chain}`);
      for (const r of [...new Set(rules)]) out.push(`add rule ${t} ${chain} ${r.replace(/\s+/g, ' ').trim()}`);
      elems[dir].push(`${pod.ip} : jump ${chain}`);
    }
  }
  if (elems.in.length) out.push(`add element ${t} ingress-pods { ${elems.in.join(', ')} }`);
  if (elems.eg.length) out.push(`add element ${t} egress-pods { ${elems.eg.join(', ')} }`);
  return out.join('\n') + '\n';
}

/** The tenant-isolation part of the table: nothing when no namespace names a tenant. */
function tenantIsolation(t: string, model: PolicyModel, nsLabels: Map<string, Record<string, string>>): string[] {
  const byTenant = new Map<string, string[]>();
  const seen = new Set<string>();
  for (const pod of model.pods) {
    // One tenant per address: a repeated address would make the whole transaction fail.
    if (seen.has(pod.ip)) continue;
    seen.add(pod.ip);
    const tenant = nsLabels.get(pod.namespace)?.[TENANT_LABEL] ?? '';
    byTenant.set(tenant, [...(byTenant.get(tenant) ?? []), pod.ip]);
  }
  if ([...byTenant.keys()].every((k) => k === '') && !model.namespaces.some((n) => n.labels[TENANT_LABEL])) return [];
  // "no-tenant" cannot collide with "tenant-<name>".
  const chainOf = (tenant: string) => (tenant ? `tenant-${tenant}` : 'no-tenant');
  const setOf = (tenant: string) => (tenant ? `pods-${tenant}` : 'pods-no-tenant');
  const out = [`add set ${t} all-pods { type ipv4_addr; }`, `add map ${t} pod-tenant { type ipv4_addr : verdict; }`];
  const all = [...seen];
  if (all.length) out.push(`add element ${t} all-pods { ${all.join(', ')} }`);
  const elems: string[] = [];
  for (const [tenant, ips] of byTenant) {
    out.push(`add set ${t} ${setOf(tenant)} { type ipv4_addr; }`, `add element ${t} ${setOf(tenant)} { ${ips.join(', ')} }`);
    out.push(`add chain ${t} ${chainOf(tenant)}`, `add rule ${t} ${chainOf(tenant)} ip daddr != @${setOf(tenant)} drop`);
    for (const ip of ips) elems.push(`${ip} : jump ${chainOf(tenant)}`);
  }
  if (elems.length) out.push(`add element ${t} pod-tenant { ${elems.join(', ')} }`);
  out.push(`add rule ${t} forward ip daddr @all-pods ip saddr vmap @pod-tenant`);
  // Fail closed: a pod this table does not know yet (just started, or its address not yet reported) has
  // no tenant here, so it neither sends to nor receives from other pods until it is known.
  const nets = [...new Set((model.podNetworks ?? []).map((c) => formatCidr(parseCidr(c))))];
  if (nets.length) {
    out.push(`add set ${t} pod-networks { type ipv4_addr; flags interval; }`, `add element ${t} pod-networks { ${nets.join(', ')} }`);
    out.push(`add rule ${t} forward ip saddr @pod-networks ip daddr @pod-networks ip saddr != @all-pods drop`);
    out.push(`add rule ${t} forward ip saddr @pod-networks ip daddr @pod-networks ip daddr != @all-pods drop`);
  }
  return out;
}

/** Port matches of one rule ("" = any port); named ports resolve on the destination pods, or match nothing. */
function portMatches(ports: PolicyPort[] | undefined, dests: PolicyPod[] | undefined): string[] {
  if (!ports || ports.length === 0) return [''];
  const byProto = new Map<string, string[]>();
  const add = (proto: string, spec: string) => byProto.set(proto, [...(byProto.get(proto) ?? []), spec]);
  for (const p of ports) {
    const proto = (p.protocol ?? 'TCP').toLowerCase();
    if (p.port === undefined) add(proto, '*');
    else if (typeof p.port === 'number') {
      if (p.endPort !== undefined && p.endPort < p.port) throw invalid(`endPort ${p.endPort} is below port ${p.port}`);
      add(proto, p.endPort ? `${p.port}-${p.endPort}` : String(p.port));
    } else {
      for (const d of dests ?? []) {
        const named = d.namedPorts?.[p.port];
        if (named && named.protocol.toLowerCase() === proto) add(proto, String(named.port));
      }
    }
  }
  return [...byProto].map(([proto, specs]) =>
    specs.includes('*') ? `meta l4proto ${proto} ` : `meta l4proto ${proto} th dport { ${[...new Set(specs)].join(', ')} } `,
  );
}

/** Enforces NetworkPolicies on a node: the whole policy table replaced in one nft transaction. */
export class PolicyRules {
  private readonly run: NetnsRunner;
  readonly table: string;

  constructor(opts: { host: Host; netns?: string; table?: string }) {
    this.run = netnsRunner(opts.host, opts.netns);
    this.table = opts.table ?? 'nubis-policy';
  }

  async sync(model: PolicyModel): Promise<void> {
    await this.apply(renderPolicies(model, this.table));
  }

  /** Applies what `renderPolicies(model, this.table)` made (callers that compare scripts render once). */
  async syncScript(script: string): Promise<void> {
    await this.apply(script);
  }

  async clear(): Promise<void> {
    await this.apply(`add table ip ${this.table}\ndelete table ip ${this.table}\n`);
  }

  private apply(script: string): Promise<void> {
    return nftApply(this.run, script, 'network policy rules');
  }
}
