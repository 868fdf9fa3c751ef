/**
 * The node's share of cluster networking, as the agent's NetworkPlugin: once the control plane has given
 * this node a pod range (Node.spec.podCIDR), pods get addresses on the node bridge; routes lead to the
 * other nodes' ranges; every Service becomes kernel rules (nftables, else iptables); the pods' hostPorts
 * are published; and a DNS server answers for the cluster on the bridge's address, behind the kube-dns
 * Service IP (node-local DNS: every node answers its own pods).
 *
 * Everything is level-triggered from informers: a change marks what is dirty and one loop applies it, a
 * full resync runs at start and every few minutes, so a restarted agent converges without touching
 * established connections.
 */
import { readFile } from 'node:fs/promises';
import { API_SERVER_MANAGER, MANAGED_BY_LABEL, SERVICE_NAME_LABEL, type EndpointSlice } from '../api/discovery/v1/endpoint-slice.js';
import type { Node } from '../api/core/v1/node.js';
import type { Pod } from '../api/core/v1/pod-types.js';
import type { Service } from '../api/core/v1/service.js';
import { Informer } from '../client/informer.js';
import type { RestClient, ResourceInfo } from '../client/rest-client.js';
import type { Host } from '../host/host.js';
import { contains, formatCidr, gatewayIp, parseCidr, parseIp, type Cidr } from '../lib/cidr.js';
import { messageOf, unavailable } from '../lib/errors.js';
import { logger } from '../lib/log.js';
import { BridgePlugin } from '../network/bridge-plugin.js';
import { ClusterDns, resolvConf } from '../network/cluster-dns.js';
import { DnsServer } from '../network/dns-server.js';
import { NodeRoutes, type NodeRoute } from '../network/node-routes.js';
import { createServiceProxy, type ServiceProxy } from '../network/service-proxy.js';
import { dnsServiceFrom, serviceRuleFrom } from '../network/service-model.js';
import { validateHostPorts, validateServices, type HostPortRule, type ServiceRule } from '../network/service-rules.js';
import { dnsViewOf, podRangesOf, podsByIp, withUnpublished } from './pod-addresses.js';
import { PolicyRules, renderPolicies, TENANT_LABEL, type NetworkPolicyRule, type PolicyModel, type PolicyPod } from '../network/policy-rules.js';
import type { NetworkPolicy } from '../api/networking/v1/network-policy.js';
import type { KubeObject } from '../api/meta.js';
import type { NetworkPlugin, PodNetns, PodRef } from './network-plugin.js';
import { NAMESPACES, NODES, PODS } from './resources.js';

const log = logger('agent/network');

const SERVICES: ResourceInfo = { group: '', version: 'v1', resource: 'services', kind: 'Service', namespaced: true };
const POLICIES: ResourceInfo = { group: 'networking.k8s.io', version: 'v1', resource: 'networkpolicies', kind: 'NetworkPolicy', namespaced: true };
const SLICES: ResourceInfo = { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices', kind: 'EndpointSlice', namespaced: true };
const DNS_SERVICE = 'kube-system/kube-dns';
const BY_SERVICE = 'service';
/** namespace/name of the Service an EndpointSlice belongs to. */
const sliceKey = (s: EndpointSlice) => `${s.metadata.namespace}/${s.metadata.labels?.[SERVICE_NAME_LABEL] ?? ''}`;
const RESYNC_MS = 5 * 60_000;

export interface NodeNetworkOptions {
  client: RestClient;
  host: Host;
  nodeName: string;
  /** The node's address: routes from other nodes lead here. */
  nodeAddress: string;
  /** Where pod address allocations persist. */
  ipamDir: string;
  /** Cluster domain (default cluster.local). */
  clusterDomain?: string;
  /** Masquerade pod traffic that leaves the cluster (to reach other networks through this node); off by default. */
  masqueradeOutside?: { clusterCidr: string; serviceCidr: string };
  /** How long a pod waits for the node's pod range before its sandbox fails (default 60 s). */
  podRangeWaitMs?: number;
  signal: AbortSignal;
}

/** DNS settings the pod worker writes into pods' resolv.conf. */
export interface PodDns {
  nameserver: string;
  domain: string;
}

export class NodeNetwork implements NetworkPlugin {
  readonly name = 'bridge';
  private readonly services: Informer<Service>;
  private readonly slices: Informer<EndpointSlice>;
  private readonly nodes: Informer<Node>;
  /** Every pod of the cluster: policies select peers anywhere; hostPorts are this node's pods'. */
  private readonly pods: Informer<Pod>;
  /** Pod addresses → their pod, rebuilt after pods change. */
  private ipIndex: Map<string, Pod> | undefined;
  /** This node's pods by uid, with the address the bridge gave them, until the informer shows it. */
  private readonly unpublished = new Map<string, PodRef & { ip: string }>();
  private policyWaiters: Array<() => void> = [];
  private readonly policies: Informer<NetworkPolicy>;
  private readonly namespaces: Informer<KubeObject>;
  private policyRules: PolicyRules | undefined;
  private policyDirty = true;
  private appliedPolicy = '';
  private readonly dns: ClusterDns;
  private bridge: BridgePlugin | undefined;
  private proxy: ServiceProxy | undefined;
  private dnsServer: DnsServer | undefined;
  private readonly routes: NodeRoutes;
  private readonly ready: Promise<BridgePlugin>;
  private markReady!: (b: BridgePlugin) => void;
  private readonly dirty = new Set<string>();
  private full = true;
  private routesDirty = true;
  private hostPortsDirty = true;
  /** A changed pod range of this Node that was already reported. */
  private warnedRange: string | undefined;
  private wake: (() => void) | undefined;
  /** The Service rules in the kernel by key, and the hostPorts: each is checked against the other. */
  private readonly applied = new Map<string, ServiceRule>();
  private hostPortList: HostPortRule[] = [];

  constructor(private readonly o: NodeNetworkOptions) {
    this.services = new Informer<Service>(o.client, SERVICES);
    this.slices = new Informer<EndpointSlice>(o.client, SLICES, { indexers: { [BY_SERVICE]: (sl) => [sliceKey(sl)] } });
    this.nodes = new Informer<Node>(o.client, NODES);
    this.pods = new Informer<Pod>(o.client, PODS);
    this.policies = new Informer<NetworkPolicy>(o.client, POLICIES);
    this.namespaces = new Informer<KubeObject>(o.client, NAMESPACES);
    this.dns = new ClusterDns({ domain: o.clusterDomain });
    this.routes = new NodeRoutes(o.host);
    this.ready = new Promise((resolve) => (this.markReady = resolve));
    const svcKey = (s: { metadata: { namespace?: string; name: string } }) => `${s.metadata.namespace}/${s.metadata.name}`;
    const on = <T>(key: (o: T) => string) => ({ add: (x: T) => this.touch(key(x)), update: (_: T, x: T) => this.touch(key(x)), delete: (x: T) => this.touch(key(x)) });
    this.services.addHandlers(on<Service>(svcKey));
    this.slices.addHandlers(on<EndpointSlice>(sliceKey));
    const nodeChanged = () => {
      this.routesDirty = true;
      this.kick();
    };
    // Pod ranges are part of the policy table (fail-closed tenant isolation): only their change re-renders it.
    const rangesOf = (n: Node) => JSON.stringify(n.spec?.podCIDRs ?? n.spec?.podCIDR ?? null);
    const rangesChanged = () => {
      this.policyDirty = true;
      nodeChanged();
    };
    this.nodes.addHandlers({ add: rangesChanged, update: (a, b) => (rangesOf(a) === rangesOf(b) ? nodeChanged() : rangesChanged()), delete: rangesChanged });
    const podChanged = (p: Pod) => {
      if (p.spec.nodeName === o.nodeName) this.hostPortsDirty = true;
      this.policyDirty = true;
      this.ipIndex = undefined;
      this.kick();
    };
    this.pods.addHandlers({ add: podChanged, update: (_, p) => podChanged(p), delete: podChanged });
    const policyChanged = () => {
      this.policyDirty = true;
      this.kick();
    };
    this.policies.addHandlers({ add: policyChanged, update: policyChanged, delete: policyChanged });
    this.namespaces.addHandlers({ add: policyChanged, update: policyChanged, delete: policyChanged });
  }

  /** The pod of each address (pod-addresses.ts), built once after pods change; policy and DNS share it. */
  /**
   * Pod addresses, also of this node's pods whose address is not published yet: the agent knows it
   * first, and isolation and DNS must know a pod before its first packet.
   */
  private byIp(): Map<string, Pod> {
    return (this.ipIndex ??= withUnpublished(podsByIp(this.pods.cache.list()), this.unpublished.values(), (ns, name) => this.pods.cache.get(`${ns}/${name}`)));
  }

  /** Resolves once the loop has stopped after the signal (and cleaned up, when no pod was left). */
  done: Promise<void> = Promise.resolve();

  /** Starts the informers and the apply loop; returns at once (pods wait for the pod range themselves). */
  start(): void {
    const { signal } = this.o;
    const informers = this.informers().map((i) => i.run(signal));
    const loop = this.loop(signal);
    this.done = Promise.all([...informers, loop]).then(
      () => undefined,
      (err: unknown) => log.error(`node network stopped: ${messageOf(err)}`),
    );
  }

  /** Runs one part of the sync; a failure is logged and `retry` decides what runs again, after a pause. */
  private async step(what: string, fn: () => Promise<void>, retry: () => void): Promise<void> {
    try {
      await fn();
    } catch (err) {
      log.warn(`${what}: ${messageOf(err)} (retrying)`);
      retry();
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  private informers(): Informer<never>[] {
    return [this.services, this.slices, this.nodes, this.pods, this.policies, this.namespaces] as unknown as Informer<never>[];
  }

  private touch(key: string): void {
    this.dirty.add(key);
    this.kick();
  }

  private kick(): void {
    this.wake?.();
  }

  /** A part that failed is tried again in 30 s (or at its next change, if sooner). */
  private retryLater(markDirty: () => void): void {
    setTimeout(() => (markDirty(), this.kick()), 30_000).unref();
  }

  /** The range the bridge hands addresses from (once set up). */
  podRangeInUse(): string | undefined {
    return this.bridge ? formatCidr(this.bridge.ipam.range) : undefined;
  }

  /** The pod range of this node, once the control plane has set it. */
  private podRange(): string | undefined {
    return this.nodes.cache.get(this.o.nodeName)?.spec?.podCIDR;
  }

  private async loop(signal: AbortSignal): Promise<void> {
    await Promise.all(this.informers().map((i) => i.waitForSync(signal))).catch(() => undefined);
    let lastFull = Date.now();
    while (!signal.aborted) {
      try {
        if (!this.bridge) await this.initBridge();
        if (this.bridge) {
          if (Date.now() - lastFull > RESYNC_MS) this.full = true;
          if (this.full) {
            // A full resync rewrites everything, in case something outside Nubis flushed the rules.
            lastFull = Date.now();
            this.routesDirty = this.hostPortsDirty = this.policyDirty = true;
            this.appliedPolicy = '';
          }
          // Each part on its own: a failure in one does not hold back the others.
          await this.step('services', () => this.applyServices(), () => (this.full = true));
          if (this.routesDirty) await this.step('routes', () => this.applyRoutes(), () => this.retryLater(() => (this.routesDirty = true)));
          if (this.hostPortsDirty) await this.step('hostPorts', () => this.applyHostPorts(), () => this.retryLater(() => (this.hostPortsDirty = true)));
          if (this.policyDirty) await this.step('network policies', () => this.applyPolicies(), () => this.retryLater(() => (this.policyDirty = true)));
        }
      } catch (err) {
        log.warn(`network set-up failed (retrying): ${messageOf(err)}`);
        await new Promise((r) => setTimeout(r, 1000));
      }
      if (this.dirty.size || this.routesDirty || this.hostPortsDirty || this.policyDirty || this.full) continue;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, RESYNC_MS);
        const done = () => {
          clearTimeout(t);
          signal.removeEventListener('abort', done);
          this.wake = undefined;
          resolve();
        };
        this.wake = done;
        signal.addEventListener('abort', done, { once: true });
      });
      // A burst of changes is applied together.
      if (!signal.aborted) await new Promise((r) => setTimeout(r, 20));
    }
    await this.dnsServer?.close().catch(() => undefined);
    await this.cleanUpIfIdle().catch((err: unknown) => log.warn(`network clean-up: ${messageOf(err)}`));
  }

  /**
   * At shutdown, a node with no pod left on its bridge takes its networking away (bridge, Service and
   * policy tables, routes): a stopped agent leaves nothing behind. With pods still running, everything
   * stays, so they keep their network and the next agent adopts them.
   */
  private async cleanUpIfIdle(): Promise<void> {
    if (!this.bridge || (await this.bridge.hasPods())) return;
    await this.proxy?.clear();
    await this.policyRules?.clear();
    await this.routes.reconcile([]);
    await this.bridge.removeBridge();
    log.info(`no pods left: removed bridge ${this.bridge.bridge}, Service and policy rules, routes`);
  }

  private async initBridge(): Promise<void> {
    const range = this.podRange();
    if (!range) return;
    const bridge = new BridgePlugin({ host: this.o.host, podRange: range, ipamDir: this.o.ipamDir });
    await bridge.ensureBridge();
    // Addresses and veths of pods no longer bound here (deleted while the agent was down) are freed.
    const released = await bridge.reclaim(this.pods.cache.list().map((p) => p.metadata.uid ?? ''));
    if (released.length) log.info(`released the addresses of ${released.length} pods that are gone`);
    // The API server enforces the NodePort range (a flag of its own): the rules accept any port.
    this.proxy = await createServiceProxy({ host: this.o.host, masqueradeOutside: this.o.masqueradeOutside, nodePortRange: [1, 65535] });
    this.policyRules = new PolicyRules({ host: this.o.host });
    const gateway = gatewayIp(parseCidr(range));
    // Names outside the cluster go to the node's own resolvers, as CoreDNS forwards them.
    const upstream = (await readFile('/etc/resolv.conf', 'utf8').catch(() => ''))
      .split('\n')
      .map((l) => /^\s*nameserver\s+(\d+\.\d+\.\d+\.\d+)\s*$/.exec(l)?.[1])
      .filter((ip): ip is string => Boolean(ip));
    this.dnsServer = new DnsServer(this.dns, { host: gateway, port: 53, upstream, viewOf: (ip) => dnsViewOf(this.byIp(), ip, (ns) => this.namespaces.cache.get(ns)?.metadata.labels?.[TENANT_LABEL] ?? '', (a) => a !== gateway && this.tenancyActive() && this.inPodNetwork(a)) });
    await this.dnsServer.start();
    this.bridge = bridge;
    this.full = true;
    log.info(`pod range ${range} on bridge ${bridge.bridge}; services through ${this.proxy.backend}; DNS on ${gateway}:53`);
    this.markReady(bridge);
  }

  /** The rule model of one service, or undefined when it has none (gone, ExternalName, headless). */
  private ruleOf(key: string): ServiceRule | undefined {
    const svc = this.services.cache.get(key);
    if (!svc || svc.spec?.type === 'ExternalName' || !svc.spec?.clusterIP || svc.spec.clusterIP === 'None') return undefined;
    if (key === DNS_SERVICE && this.bridge) {
      // Node-local DNS: the Service's ports lead to this node's DNS server on the bridge address.
      const gateway = gatewayIp(this.bridge.ipam.range);
      return serviceRuleFrom(svc, [{ endpoints: [{ addresses: [gateway] }], ports: (svc.spec.ports ?? []).map((p) => ({ name: p.name, protocol: p.protocol, port: 53 })) }]);
    }
    const slices = this.slicesOf(key);
    const rule = serviceRuleFrom(svc, slices);
    // The API servers' own endpoints (default/kubernetes) may have no route back to pod addresses:
    // connections to them leave with the node's. Never for slices anyone else wrote (no relay).
    rule.masquerade = slices.length > 0 && slices.every((s) => s.metadata.labels?.[MANAGED_BY_LABEL] === API_SERVER_MANAGER);
    return rule;
  }

  /** Whether some namespace belongs to a tenant (tenant isolation is on). */
  private tenancyActive(): boolean {
    return this.namespaces.cache.list().some((n) => n.metadata.labels?.[TENANT_LABEL]);
  }

  /** Whether `ip` is in some node's pod range (a pod's address, which every node routes). */
  private inPodNetwork(ip: string): boolean {
    let n: number;
    try {
      n = parseIp(ip);
    } catch {
      return false;
    }
    return this.podRanges().some((c) => contains(c, n));
  }

  /** Every node's IPv4 pod ranges (what does not parse, e.g. an IPv6 range, is left out). */
  private podRanges(): Cidr[] {
    return podRangesOf(this.nodes.cache.list());
  }

  private slicesOf(key: string): EndpointSlice[] {
    return this.slices.cache.byIndex(BY_SERVICE, key);
  }

  private async applyServices(): Promise<void> {
    const proxy = this.proxy!;
    if (this.full) {
      this.full = false;
      this.dirty.clear();
      const dnsModel = [];
      let rules: ServiceRule[] = [];
      for (const svc of this.services.cache.list()) {
        const key = `${svc.metadata.namespace}/${svc.metadata.name}`;
        dnsModel.push(dnsServiceFrom(svc, this.slicesOf(key)));
        const rule = this.ruleOf(key);
        if (rule) rules.push(rule);
      }
      this.dns.reset(dnsModel);
      rules = this.acceptable(rules);
      await proxy.sync(rules);
      this.applied.clear();
      for (const r of rules) this.applied.set(r.key, r);
      return;
    }
    const keys = [...this.dirty];
    this.dirty.clear();
    for (const key of keys) {
      const [namespace, name] = key.split('/') as [string, string];
      const svc = this.services.cache.get(key);
      if (svc) this.dns.upsert(dnsServiceFrom(svc, this.slicesOf(key)));
      else this.dns.remove(namespace, name);
      const rule = this.ruleOf(key);
      const before = this.applied.get(key);
      if (JSON.stringify(rule) === JSON.stringify(before)) continue;
      // NodePorts that come or go change which hostPorts can be published.
      if (nodePortsOf(rule) !== nodePortsOf(before)) this.hostPortsDirty = true;
      try {
        if (rule) await proxy.update(rule);
        else await proxy.remove(key);
      } catch (err) {
        // A service the rules refuse (a NodePort taken by a hostPort...) must not hold back the others.
        log.warn(`service ${key}: ${messageOf(err)}`);
        continue;
      }
      if (rule) this.applied.set(key, rule);
      else this.applied.delete(key);
    }
  }

  /**
   * The rules the kernel tables can take together: a Service they refuse (its NodePort is a pod's
   * hostPort, an address taken twice) is left out with a warning, and tried again when it changes.
   */
  private acceptable(rules: ServiceRule[]): ServiceRule[] {
    const check = (list: ServiceRule[]) => validateServices(list, { nodePortRange: [1, 65535] }, this.hostPortList);
    try {
      check(rules);
      return rules;
    } catch {
      // find the offenders one by one (rare: only when something conflicts)
    }
    const ok: ServiceRule[] = [];
    for (const r of rules) {
      try {
        check([...ok, r]);
        ok.push(r);
      } catch (err) {
        log.warn(`service ${r.key}: ${messageOf(err)}`);
      }
    }
    return ok;
  }

  private async applyRoutes(): Promise<void> {
    this.routesDirty = false;
    const mine = this.podRange();
    if (mine && this.bridge && mine !== this.warnedRange && formatCidr(parseCidr(mine)) !== this.podRangeInUse()) {
      this.warnedRange = mine;
      log.error(`Node ${this.o.nodeName} now says pod range ${mine}, but its pods use ${this.podRangeInUse()}: the node keeps using the old range (an agent started with no pods here takes the new one)`);
    }
    const want: NodeRoute[] = [];
    for (const n of this.nodes.cache.list()) {
      if (n.metadata.name === this.o.nodeName || !n.spec?.podCIDR) continue;
      const via = n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
      // A node that says it is on loopback cannot be routed to (a single machine's `nubis up`).
      if (!via || via.startsWith('127.') || via === this.o.nodeAddress) continue;
      // A malformed range, or one two nodes claim, is skipped: the other routes still go in.
      try {
        parseCidr(n.spec.podCIDR);
      } catch {
        log.warn(`node ${n.metadata.name}: pod range "${n.spec.podCIDR}" is not an IPv4 CIDR; no route to it`);
        continue;
      }
      if (want.some((r) => r.cidr === n.spec!.podCIDR)) {
        log.warn(`node ${n.metadata.name}: pod range ${n.spec.podCIDR} is another node's too; no route to it`);
        continue;
      }
      want.push({ cidr: n.spec.podCIDR, via });
    }
    await this.routes.reconcile(want);
  }

  private async applyHostPorts(): Promise<void> {
    this.hostPortsDirty = false;
    const list: HostPortRule[] = [];
    for (const p of this.pods.cache.list()) {
      const ip = p.status?.podIP;
      if (p.spec.nodeName !== this.o.nodeName) continue;
      if (!ip || p.metadata.deletionTimestamp || p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') continue;
      for (const c of p.spec.containers) {
        for (const port of c.ports ?? []) {
          if (!port.hostPort) continue;
          const protocol = port.protocol === 'UDP' || port.protocol === 'SCTP' ? port.protocol : 'TCP';
          list.push({ pod: `${p.metadata.namespace}/${p.metadata.name}`, protocol, hostPort: port.hostPort, podIP: ip, containerPort: port.containerPort });
        }
      }
    }
    // A hostPort taken twice, or also a NodePort, is left out with a warning; the others are published.
    const accepted: HostPortRule[] = [];
    for (const h of list) {
      try {
        validateHostPorts([...accepted, h], this.applied.values());
        accepted.push(h);
      } catch (err) {
        log.warn(`hostPort: ${messageOf(err)}`);
      }
    }
    if (JSON.stringify(accepted) === JSON.stringify(this.hostPortList)) return;
    await this.proxy!.setHostPorts(accepted);
    this.hostPortList = accepted;
  }

  /** NetworkPolicies as one nftables table, rewritten whenever what it compiles to changes. */
  private async applyPolicies(): Promise<void> {
    this.policyDirty = false;
    const waiters = this.policyWaiters.splice(0);
    try {
      await this.writePolicies();
    } finally {
      for (const w of waiters) w();
    }
  }

  private async writePolicies(): Promise<void> {
    const model: PolicyModel = { pods: [], namespaces: [], policies: [] };
    for (const p of this.byIp().values()) {
      const ip = p.status!.podIP!;
      const namedPorts: NonNullable<PolicyPod['namedPorts']> = {};
      for (const c of p.spec.containers) for (const port of c.ports ?? []) if (port.name) namedPorts[port.name] = { port: port.containerPort, protocol: port.protocol === 'UDP' || port.protocol === 'SCTP' ? port.protocol : 'TCP' };
      model.pods.push({ namespace: p.metadata.namespace ?? 'default', name: p.metadata.name, ip, labels: p.metadata.labels ?? {}, namedPorts });
    }
    for (const n of this.namespaces.cache.list()) model.namespaces.push({ name: n.metadata.name, labels: n.metadata.labels ?? {} });
    model.podNetworks = this.podRanges().map(formatCidr);
    for (const np of this.policies.cache.list()) {
      if (!np.spec) continue;
      model.policies.push({ namespace: np.metadata.namespace ?? 'default', name: np.metadata.name, spec: np.spec as NetworkPolicyRule['spec'] });
    }
    const script = renderPolicies(model, this.policyRules!.table);
    if (script === this.appliedPolicy) return;
    try {
      await this.policyRules!.syncScript(script);
      this.appliedPolicy = script;
    } catch (err) {
      // Without nftables (the iptables fallback host) policies cannot be enforced: said, not retried in a loop.
      log.warn(`network policies not applied: ${messageOf(err)}`);
    }
  }

  /** What pods' resolv.conf points at (the kube-dns Service IP), once known. */
  podDns(): PodDns | undefined {
    const ip = this.services.cache.get(DNS_SERVICE)?.spec?.clusterIP;
    return ip && ip !== 'None' ? { nameserver: ip, domain: this.dns.domain } : undefined;
  }

  /** A pod's resolv.conf under ClusterFirst. */
  resolvConf(namespace: string): string | undefined {
    const d = this.podDns();
    return d ? resolvConf(namespace, d.nameserver, d.domain) : undefined;
  }

  async setUp(sandbox: PodNetns): Promise<{ ips: string[] }> {
    const wait = this.o.podRangeWaitMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    const bridge = await Promise.race([
      this.ready,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(unavailable(`node ${this.o.nodeName} has no pod range yet (Node.spec.podCIDR is unset: is the control plane's node IPAM running?)`)), wait);
      }),
    ]).finally(() => clearTimeout(timer));
    const result = await bridge.setUp(sandbox);
    const ip = result.ips[0];
    if (ip) {
      // Known to the policy table and DNS before the pod runs anything (fail-closed tenant isolation).
      this.unpublished.set(sandbox.podUid, { podUid: sandbox.podUid, namespace: sandbox.namespace, name: sandbox.name, ip });
      this.ipIndex = undefined;
      // Where policies or tenants restrict anything, the pod waits for rules that know it.
      const restricted = this.policies.cache.list().length > 0 || this.tenancyActive();
      if (restricted) await this.policiesApplied();
      else {
        this.policyDirty = true;
        this.kick();
      }
    }
    return result;
  }

  async tearDown(sandbox: PodRef): Promise<void> {
    this.unpublished.delete(sandbox.podUid);
    this.ipIndex = undefined;
    await this.bridge?.tearDown(sandbox);
  }

  /** Resolves once the policy table was rewritten after now (5 s at most: a failing apply is logged). */
  private policiesApplied(): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 5000);
      this.policyWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
      this.policyDirty = true;
      this.kick();
    });
  }
}

/** The NodePorts a rule holds, as one comparable string. */
function nodePortsOf(rule: ServiceRule | undefined): string {
  return (rule?.ports ?? []).flatMap((p) => (p.nodePort ? [`${p.protocol}/${p.nodePort}`] : [])).join(',');
}
