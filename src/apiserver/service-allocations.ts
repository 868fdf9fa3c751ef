/**
 * ClusterIPs and NodePorts of Services, allocated by the API server when a Service is written. Each
 * address and port in use is a claim object in the store (one key per address or port, created only if
 * absent), so several API servers sharing one etcd never hand out the same one. Claims whose Service is
 * gone are released by `repair`, which runs after deletions and periodically; a claim younger than the
 * grace period is kept, since its Service may still be on its way into the store.
 */
import type { Service, ServicePort } from '../api/core/v1/service.js';
import { ClusterIpAllocator, NodePortAllocator } from '../api/core/v1/service-ranges.js';
import type { KubeObject } from '../api/meta.js';
import type { FieldError } from '../api/resource-type.js';
import { fieldErr } from '../api/validation.js';
import { isNubisError } from '../lib/errors.js';
import { logger } from '../lib/log.js';
import type { ObjectStore, ResourceRef } from '../store/object-store.js';

const log = logger('apiserver/services');

/** Internal: never served through the API. */
const CLAIMS: ResourceRef = { group: 'internal.nubis.dev', resource: 'serviceallocations' };
const SERVICES: ResourceRef = { resource: 'services' };
const REPAIR_GRACE_MS = 30_000;

export const DEFAULT_SERVICE_CIDR = '10.43.0.0/16';
export const DEFAULT_NODE_PORT_RANGE: [number, number] = [30000, 32767];

interface Claim extends KubeObject {
  spec: { service: string; uid: string };
}

export interface ServiceAllocationOptions {
  serviceCidr?: string;
  nodePortRange?: [number, number];
}

/** Undoes what an admission did when the write that followed it failed. */
export type Undo = () => Promise<void>;

const needsNodePorts = (spec: Service['spec']): boolean => spec?.type === 'NodePort' || (spec?.type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts !== false);
const hasClusterIp = (spec: Service['spec']): boolean => spec?.type !== 'ExternalName' && spec?.clusterIP !== 'None';
const ipClaim = (ip: string) => `ip-${ip}`;
const portClaim = (port: number) => `nodeport-${port}`;

export class ServiceAllocations {
  readonly serviceCidr: string;
  private ranges: { ips: ClusterIpAllocator; ports: NodePortAllocator };
  private readonly nodePortRange: [number, number];
  private loaded: Promise<void> | undefined;
  private repairing: Promise<number> | undefined;

  constructor(
    private readonly store: ObjectStore,
    opts: ServiceAllocationOptions = {},
  ) {
    this.serviceCidr = opts.serviceCidr ?? DEFAULT_SERVICE_CIDR;
    this.nodePortRange = opts.nodePortRange ?? DEFAULT_NODE_PORT_RANGE;
    this.ranges = this.freshRanges();
  }

  /** The cluster DNS Service's address: the tenth of the range, as Kubernetes distributions use. */
  dnsServiceIp(): string {
    return this.ranges.ips.at(10); // in range: service CIDRs are at least /28
  }

  /** The Service an address of the range is kept for, if any. */
  private reservedFor(ip: string): string | undefined {
    if (ip === this.kubernetesServiceIp()) return 'default/kubernetes';
    if (ip === this.dnsServiceIp()) return 'kube-system/kube-dns';
    return undefined;
  }

  /** The `default/kubernetes` Service's address: the first of the range, as in Kubernetes. */
  kubernetesServiceIp(): string {
    return this.ranges.ips.at(1);
  }

  /**
   * Fills a new Service's clusterIP(s) and nodePorts, claiming them; requested ones are checked (range,
   * taken) with Kubernetes' messages. `dryRun` checks without claiming.
   */
  async admitCreate(svc: Service, dryRun = false): Promise<Undo> {
    return this.admit(svc, undefined, dryRun);
  }

  /** An update keeps the stored clusterIP and nodePorts where the new spec leaves them out; new ones are claimed. */
  async admitUpdate(old: Service, next: Service, dryRun = false): Promise<Undo> {
    const spec = next.spec;
    if (spec && hasClusterIp(spec) && !spec.clusterIP && old.spec?.clusterIP && hasClusterIp(old.spec)) {
      spec.clusterIP = old.spec.clusterIP;
      spec.clusterIPs = old.spec.clusterIPs ?? [old.spec.clusterIP];
    }
    if (spec && needsNodePorts(spec)) {
      for (const p of spec.ports ?? []) {
        if (p.nodePort) continue;
        const before = (old.spec?.ports ?? []).find((o) => o.port === p.port && (o.protocol ?? 'TCP') === (p.protocol ?? 'TCP'));
        if (before?.nodePort) p.nodePort = before.nodePort;
      }
    }
    return this.admit(next, old, dryRun);
  }

  private async admit(svc: Service, old: Service | undefined, dryRun: boolean): Promise<Undo> {
    await this.load();
    const spec = svc.spec;
    if (!spec) return async () => {};
    const owner = { service: `${svc.metadata.namespace}/${svc.metadata.name}`, uid: svc.metadata.uid ?? '' };
    const claimed: string[] = [];
    const sent = structuredClone(spec);
    const undo: Undo = async () => {
      for (const name of claimed) await this.release(name);
    };
    try {
      if (hasClusterIp(spec) && (!spec.clusterIP || spec.clusterIP !== old?.spec?.clusterIP)) {
        if (spec.clusterIP) {
          this.ranges.ips.validate(spec.clusterIP);
          const keeper = this.reservedFor(spec.clusterIP);
          if (keeper && keeper !== owner.service) throw new AllocationRejected([fieldErr.invalid('spec.clusterIPs', [spec.clusterIP], `failed to allocate IP ${spec.clusterIP}: the address is reserved for Service ${keeper}`)]);
          const taken = fieldErr.invalid('spec.clusterIPs', [spec.clusterIP], `failed to allocate IP ${spec.clusterIP}: provided IP is already allocated`);
          if (!dryRun) await this.claim(ipClaim(spec.clusterIP), owner, claimed, taken);
        } else if (!dryRun) {
          spec.clusterIP = await this.claimFree(() => this.ranges.ips.allocate(), ipClaim, owner, claimed);
        }
        if (spec.clusterIP) spec.clusterIPs = [spec.clusterIP];
      }
      if (needsNodePorts(spec) || (spec.ports ?? []).some((p) => p.nodePort)) {
        const mine = new Set((old?.spec?.ports ?? []).map((p) => p.nodePort).filter(Boolean));
        const seen = new Set<number>();
        for (const [i, p] of (spec.ports ?? []).entries()) await this.admitNodePort(p, i, mine, seen, owner, claimed, dryRun, needsNodePorts(spec));
      }
      return undo;
    } catch (err) {
      await undo();
      svc.spec = sent; // a refused Service keeps nothing it was given
      // The ranges' own Invalid errors read "field: Invalid value: ...": they become field errors too.
      if (isNubisError(err, 'Invalid')) {
        const m = /^([\w.[\]]+): (.*)$/.exec(err.message);
        throw new AllocationRejected([m ? { type: 'FieldValueInvalid', field: m[1]!, message: m[2]! } : fieldErr.invalid('spec.clusterIPs', spec.clusterIP ?? '', err.message)]);
      }
      throw err;
    }
  }

  private async admitNodePort(
    p: ServicePort,
    i: number,
    mine: Set<number | undefined>,
    seen: Set<number>,
    owner: Claim['spec'],
    claimed: string[],
    dryRun: boolean,
    /** Give ports to those without one (NodePort, LoadBalancer unless it says not to); given ones are always claimed. */
    allocate: boolean,
  ): Promise<void> {
    const field = `spec.ports[${i}].nodePort`;
    if (p.nodePort && (mine.has(p.nodePort) || seen.has(p.nodePort))) return; // kept, or shared by TCP and UDP of one port
    if (p.nodePort) {
      const [lo, hi] = this.ranges.ports.range;
      if (p.nodePort < lo || p.nodePort > hi) {
        throw new AllocationRejected([fieldErr.invalid(field, p.nodePort, `provided port is not in the valid range. The range of valid ports is ${lo}-${hi}`)]);
      }
      if (!dryRun) await this.claim(portClaim(p.nodePort), owner, claimed, fieldErr.invalid(field, p.nodePort, 'provided port is already allocated'));
    } else if (!dryRun && allocate) {
      p.nodePort = await this.claimFree(() => this.ranges.ports.allocate(), portClaim, owner, claimed);
    }
    if (p.nodePort) seen.add(p.nodePort);
  }

  /** Claims the next free value: values another server took meanwhile are skipped. */
  private async claimFree<V extends string | number>(next: () => V, name: (v: V) => string, owner: Claim['spec'], claimed: string[]): Promise<V> {
    let reloaded = false;
    for (;;) {
      let v: V;
      try {
        v = next(); // Invalid once the range is exhausted
      } catch (err) {
        // What this server thinks is taken may be stale (other servers free values too): read the claims again once.
        if (reloaded || !isNubisError(err, 'Invalid')) throw err;
        reloaded = true;
        await this.reload();
        continue;
      }
      try {
        await this.store.create<Claim>(CLAIMS, { apiVersion: 'internal.nubis.dev/v1', kind: 'ServiceAllocation', metadata: { name: name(v) }, spec: owner });
        claimed.push(name(v));
        return v;
      } catch (err) {
        if (!isNubisError(err, 'AlreadyExists')) throw err;
      }
    }
  }

  private async claim(name: string, owner: Claim['spec'], claimed: string[], taken: FieldError): Promise<void> {
    try {
      await this.store.create<Claim>(CLAIMS, { apiVersion: 'internal.nubis.dev/v1', kind: 'ServiceAllocation', metadata: { name }, spec: owner });
      claimed.push(name);
    } catch (err) {
      if (!isNubisError(err, 'AlreadyExists')) throw err;
      const existing = await this.store.get<Claim>(CLAIMS, { name }).catch(() => undefined);
      if (existing && existing.spec.service === owner.service && existing.spec.uid === owner.uid) return;
      throw new AllocationRejected([taken]);
    }
  }

  /** Releases what a deleted Service held at once (repair would too, later), so its NodePort can be reused right away. */
  async releaseFor(svc: Service): Promise<void> {
    const names = [];
    if (svc.spec?.clusterIP && hasClusterIp(svc.spec)) names.push(ipClaim(svc.spec.clusterIP));
    for (const p of svc.spec?.ports ?? []) if (p.nodePort) names.push(portClaim(p.nodePort));
    for (const name of names) {
      const claim = await this.store.get<Claim>(CLAIMS, { name }).catch(() => undefined);
      if (claim && claim.spec.uid === svc.metadata.uid) await this.release(name, claim.metadata.uid);
    }
  }

  /** Deletes a claim; with `uid`, only that very claim (a new claim of the same value stays). */
  private async release(name: string, uid?: string): Promise<void> {
    try {
      await this.store.delete(CLAIMS, { name }, uid ? { uid } : {});
    } catch (err) {
      if (isNubisError(err, 'Conflict')) return; // claimed again meanwhile: not ours to free
      if (!isNubisError(err, 'NotFound')) throw err;
    }
    this.forget(name);
  }

  private forget(name: string): void {
    if (name.startsWith('ip-')) this.ranges.ips.release(name.slice(3));
    else if (name.startsWith('nodeport-')) this.ranges.ports.release(Number(name.slice(9)));
  }

  private freshRanges(): { ips: ClusterIpAllocator; ports: NodePortAllocator } {
    return { ips: new ClusterIpAllocator(this.serviceCidr), ports: new NodePortAllocator(this.nodePortRange) };
  }

  /** Forgets what this server believed taken and reads the claims again. */
  private async reload(): Promise<void> {
    this.ranges = this.freshRanges();
    this.loaded = undefined;
    await this.load();
  }

  /** Reads every claim once, so allocation starts from what is free. */
  private load(): Promise<void> {
    this.loaded ??= (async () => {
      for (const c of await this.listClaims()) {
        try {
          if (c.metadata.name.startsWith('ip-')) this.ranges.ips.allocate(c.metadata.name.slice(3));
          else this.ranges.ports.allocate(Number(c.metadata.name.slice(9)));
        } catch {
          // outside this server's ranges (they were changed): not ours to hand out anyway
        }
      }
    })().catch((err) => {
      this.loaded = undefined;
      throw err;
    });
    return this.loaded;
  }

  private async listClaims(): Promise<Claim[]> {
    const out: Claim[] = [];
    let token: string | undefined;
    do {
      const page = await this.store.list<Claim>(CLAIMS, { limit: 1000, continue: token });
      out.push(...page.items);
      token = page.continue;
    } while (token);
    return out;
  }

  /** Releases claims whose Service no longer exists (or no longer uses them). Returns how many. */
  async repair(now = Date.now()): Promise<number> {
    // One repair at a time per server (timer and interval may meet); claims are deleted by uid anyway.
    const run = (this.repairing ?? Promise.resolve(0)).catch(() => 0).then(() => this.repairOnce(now));
    this.repairing = run;
    return run;
  }

  private async repairOnce(now: number): Promise<number> {
    const inUse = new Set<string>();
    let token: string | undefined;
    do {
      const page = await this.store.list<Service>(SERVICES, { limit: 1000, continue: token });
      for (const s of page.items) {
        if (s.spec?.clusterIP && hasClusterIp(s.spec)) inUse.add(ipClaim(s.spec.clusterIP));
        for (const p of s.spec?.ports ?? []) if (p.nodePort) inUse.add(portClaim(p.nodePort));
      }
      token = page.continue;
    } while (token);
    let released = 0;
    for (const c of await this.listClaims()) {
      if (inUse.has(c.metadata.name)) continue;
      const created = Date.parse(c.metadata.creationTimestamp ?? '');
      if (Number.isFinite(created) && now - created < REPAIR_GRACE_MS) continue;
      await this.release(c.metadata.name, c.metadata.uid);
      released++;
    }
    if (released) log.debug(`released ${released} ClusterIP/NodePort claims of deleted Services`);
    return released;
  }
}

/** A Service the allocations refuse: the API server answers 422 with these field errors. */
export class AllocationRejected extends Error {
  constructor(readonly errors: FieldError[]) {
    super(errors.map((e) => `${e.field}: ${e.message}`).join(', '));
  }
}
