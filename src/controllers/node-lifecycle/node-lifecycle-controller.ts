/**
 * Node lifecycle: a node whose lease (kube-node-lease/<node>) and Ready heartbeat stop changing for the
 * grace period gets Ready=Unknown and the node.kubernetes.io/unreachable taints (NoSchedule, NoExecute);
 * a node reporting Ready=False gets the not-ready taints. Pods on a node with NoExecute taints are evicted
 * once their tolerations run out, their Ready condition turned False meanwhile; evicted pods that no agent
 * finishes are removed after their grace period, and pods bound to nodes that no longer exist are removed.
 * When the lease is renewed again, Ready=True returns and the taints go.
 *
 * Kubernetes waits 300 s before evicting (the tolerations admission adds to every pod). Nubis treats
 * exactly those default tolerations as `podEvictionTimeoutSeconds` (default 5 s), so with the 20 s grace
 * the pods of a dead node are replaced within about 30 s; tolerations a user wrote are honoured as written.
 */
import type { Lease } from '../../api/coordination/v1/lease.js';
import type { Node, Taint } from '../../api/core/v1/node.js';
import type { Pod } from '../../api/core/v1/pod-types.js';
import type { Informer } from '../../client/informer.js';
import { isNubisError, messageOf } from '../../lib/errors.js';
import { logger } from '../../lib/log.js';
import type { Controller, ControllerDeps } from '../controller.js';
import { tolerates } from '../taints.js';
import { BY_NODE } from '../informer-set.js';
import { isPodActive, isPodReady } from '../pod-util.js';
import { LEASES, NODES, PODS } from '../resources.js';
import { sleep } from '../sleep.js';

const log = logger('node-lifecycle-controller');

export const UNREACHABLE = 'node.kubernetes.io/unreachable';
export const NOT_READY = 'node.kubernetes.io/not-ready';
const LEASE_NAMESPACE = 'kube-node-lease';
const ADMISSION_DEFAULT_SECONDS = 300;

export interface NodeLifecycleOptions {
  /** How long without a lease renewal or heartbeat before a node is NotReady (default 20 s). */
  nodeMonitorGracePeriodMs?: number;
  /** How often nodes are checked (default 2 s). */
  nodeMonitorPeriodMs?: number;
  /** What the default not-ready/unreachable tolerations (300 s) mean in Nubis (default 5 s). */
  podEvictionTimeoutSeconds?: number;
}

const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

export class NodeLifecycleController implements Controller {
  readonly name = 'nodelifecycle';
  private readonly nodes: Informer<Node>;
  private readonly leases: Informer<Lease>;
  private readonly pods: Informer<Pod>;
  /** Per node: the lease version and heartbeat last seen, and when (local clock) either last changed. */
  private readonly probes = new Map<string, { lease?: string; heartbeat?: string; at: number }>();
  /** When a pod was first seen needing eviction (for taints without timeAdded). */
  private readonly evictionStart = new Map<string, number>();
  private readonly grace: number;
  private readonly period: number;
  private readonly evictionTimeout: number;

  constructor(
    private readonly deps: ControllerDeps,
    opts: NodeLifecycleOptions = {},
  ) {
    this.nodes = deps.informers.get<Node>(NODES);
    this.leases = deps.informers.get<Lease>(LEASES, LEASE_NAMESPACE);
    this.pods = deps.informers.get<Pod>(PODS);
    this.grace = opts.nodeMonitorGracePeriodMs ?? 20_000;
    this.period = opts.nodeMonitorPeriodMs ?? 2_000;
    this.evictionTimeout = opts.podEvictionTimeoutSeconds ?? 5;
  }

  async run(signal: AbortSignal): Promise<void> {
    await this.deps.informers.waitForSync(signal).catch(() => undefined);
    while (!signal.aborted) {
      try {
        await this.monitor();
      } catch (err) {
        if (!signal.aborted) log.warn(`monitoring nodes: ${messageOf(err)}`);
      }
      await sleep(this.period, signal);
    }
  }

  /** One pass over every node. */
  async monitor(): Promise<void> {
    const t = Date.now();
    const names = new Set<string>();
    for (const cached of this.nodes.cache.list()) {
      const name = cached.metadata.name;
      names.add(name);
      try {
        const node = await this.updateReadiness(cached, t);
        await this.updateTaints(node);
        await this.evictPods(node, t);
      } catch (err) {
        const routine = isNubisError(err, 'Conflict') || isNubisError(err, 'NotFound');
        (routine ? log.debug : log.warn)(`node ${name}: ${messageOf(err)}`);
      }
    }
    for (const name of this.probes.keys()) if (!names.has(name)) this.probes.delete(name);
    await this.removeOrphans(names, t);
  }

  private async updateReadiness(node: Node, t: number): Promise<Node> {
    const name = node.metadata.name;
    const lease = this.leases.cache.getByName(LEASE_NAMESPACE, name)?.metadata.resourceVersion;
    const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
    const heartbeat = ready?.lastHeartbeatTime;
    const probe = this.probes.get(name);
    if (!probe || probe.lease !== lease || probe.heartbeat !== heartbeat) this.probes.set(name, { lease, heartbeat, at: t });
    const fresh = t - this.probes.get(name)!.at <= this.grace;
    const conditions = structuredClone(node.status?.conditions ?? []);
    if (!fresh && ready?.status !== 'Unknown') {
      const stamp = now();
      const types = new Set(['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure', ...conditions.map((c) => c.type)]);
      const next = [...types].filter((type) => type !== 'NetworkUnavailable').map((type) => {
        const c = conditions.find((x) => x.type === type);
        return { ...(c ?? { type }), type, status: 'Unknown' as const, reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.', lastTransitionTime: stamp, lastHeartbeatTime: c?.lastHeartbeatTime ?? stamp };
      });
      const others = conditions.filter((c) => c.type === 'NetworkUnavailable');
      this.deps.recorder.event(node, 'Normal', 'NodeNotReady', `Node ${name} status is now: NodeNotReady`);
      log.info(`node ${name}: no lease renewal for ${Math.round((t - this.probes.get(name)!.at) / 1000)} s, marking NotReady`);
      return this.deps.client.updateStatus<Node>(NODES, { ...node, status: { ...(node.status ?? {}), conditions: [...others, ...next] } });
    }
    if (fresh && ready?.status === 'Unknown' && ready.reason === 'NodeStatusUnknown') {
      const stamp = now();
      const next = conditions.map((c) =>
        c.status === 'Unknown' && c.reason === 'NodeStatusUnknown'
          ? { ...c, status: c.type === 'Ready' ? ('True' as const) : ('False' as const), reason: c.type === 'Ready' ? 'KubeletReady' : 'NodeStatusRecovered', message: 'the node renews its lease again', lastTransitionTime: stamp, lastHeartbeatTime: stamp }
          : c,
      );
      this.deps.recorder.event(node, 'Normal', 'NodeReady', `Node ${name} status is now: NodeReady`);
      return this.deps.client.updateStatus<Node>(NODES, { ...node, status: { ...(node.status ?? {}), conditions: next } });
    }
    return node;
  }

  private async updateTaints(node: Node): Promise<void> {
    const status = node.status?.conditions?.find((c) => c.type === 'Ready')?.status;
    const wanted = status === 'Unknown' ? UNREACHABLE : status === 'False' ? NOT_READY : undefined;
    const taints = node.spec?.taints ?? [];
    const managed = (t: Taint) => (t.key === UNREACHABLE || t.key === NOT_READY) && (t.effect === 'NoExecute' || t.effect === 'NoSchedule');
    const keep = taints.filter((t) => !managed(t) || t.key === wanted);
    const next = [...keep];
    if (wanted) {
      for (const effect of ['NoSchedule', 'NoExecute'] as const) {
        if (!next.some((t) => t.key === wanted && t.effect === effect)) next.push({ key: wanted, effect, ...(effect === 'NoExecute' ? { timeAdded: now() } : {}) });
      }
    }
    if (next.length === taints.length && next.every((t, i) => t === taints[i])) return;
    const spec = { ...(node.spec ?? {}), taints: next };
    if (next.length === 0) delete (spec as { taints?: Taint[] }).taints;
    await this.deps.client.update(NODES, { ...node, spec });
  }

  /** Seconds a pod may stay on a node with these NoExecute taints: 0 when one is not tolerated, Infinity when none limits it. */
  tolerationSeconds(pod: Pod, taints: Taint[]): number {
    let min = Infinity;
    for (const taint of taints) {
      const matching = (pod.spec.tolerations ?? []).filter((tol) => tolerates(tol, taint));
      if (matching.length === 0) return 0;
      for (const tol of matching) {
        if (tol.tolerationSeconds === undefined) continue;
        const isDefault = (tol.key === UNREACHABLE || tol.key === NOT_READY) && tol.operator === 'Exists' && tol.tolerationSeconds === ADMISSION_DEFAULT_SECONDS;
        min = Math.min(min, Math.max(0, isDefault ? this.evictionTimeout : tol.tolerationSeconds));
      }
    }
    return min;
  }

  private async evictPods(node: Node, t: number): Promise<void> {
    const taints = (node.spec?.taints ?? []).filter((x) => x.effect === 'NoExecute');
    const pods = this.pods.cache.byIndex(BY_NODE, node.metadata.name);
    const unreachable = node.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'Unknown';
    for (const pod of pods) {
      const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
      if (pod.metadata.deletionTimestamp) {
        // Nobody on an unreachable node will finish this deletion: finish it once its grace period is over.
        if (unreachable && Date.parse(pod.metadata.deletionTimestamp) <= t) await this.forceDelete(pod);
        continue;
      }
      if (!isPodActive(pod)) continue;
      if (unreachable && isPodReady(pod)) await this.markNotReady(pod);
      if (taints.length === 0) {
        this.evictionStart.delete(key);
        continue;
      }
      const seconds = this.tolerationSeconds(pod, taints);
      if (seconds === Infinity) continue;
      const added = Math.max(...taints.map((x) => Date.parse(x.timeAdded ?? '') || 0));
      if (!this.evictionStart.has(key)) this.evictionStart.set(key, added || t);
      const start = added || this.evictionStart.get(key)!;
      if (t < start + seconds * 1000) continue;
      this.evictionStart.delete(key);
      this.deps.recorder.event(pod, 'Normal', 'TaintManagerEviction', `Marking for deletion Pod ${key}`);
      await this.deps.client.delete(PODS, pod.metadata.name, { namespace: pod.metadata.namespace, preconditions: { uid: pod.metadata.uid } }).catch(ignoreGone);
    }
  }

  private async markNotReady(pod: Pod): Promise<void> {
    const conditions = (pod.status?.conditions ?? []).map((c) => (c.type === 'Ready' ? { ...c, status: 'False' as const, reason: 'NodeNotReady', lastTransitionTime: now() } : c));
    await this.deps.client.patch(PODS, pod.metadata.name, { status: { conditions } }, 'merge', { namespace: pod.metadata.namespace, subresource: 'status' }).catch(ignoreGone);
  }

  private async forceDelete(pod: Pod): Promise<void> {
    await this.deps.client.delete(PODS, pod.metadata.name, { namespace: pod.metadata.namespace, gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid } }).catch(ignoreGone);
  }

  /** Pods bound to a node that has not existed for the grace period are removed (Kubernetes' pod GC). */
  private readonly missingSince = new Map<string, number>();
  private async removeOrphans(nodes: Set<string>, t: number): Promise<void> {
    const seen = new Set<string>();
    for (const pod of this.pods.cache.list()) {
      const node = pod.spec.nodeName;
      if (!node || nodes.has(node)) continue;
      const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
      seen.add(key);
      const since = this.missingSince.get(key) ?? t;
      this.missingSince.set(key, since);
      if (t - since < this.grace) continue;
      log.info(`pod ${key} is bound to node ${node}, which does not exist: deleting it`);
      await this.forceDelete(pod);
    }
    for (const k of this.missingSince.keys()) if (!seen.has(k)) this.missingSince.delete(k);
  }
}

function ignoreGone(err: unknown): void {
  if (!isNubisError(err, 'NotFound') && !isNubisError(err, 'Conflict')) throw err;
}
