import type { Node, Taint } from '../api/core/v1/node.js';
import type { PodInfo } from './pod-info.js';
import { Resources, addResourceList } from './resources.js';

/**
 * One node as the scheduler sees it: allocatable and requested amounts as numbers, labels, taints and
 * the pods placed on it (bound or assumed), kept up to date incrementally from events.
 */
export class NodeInfo {
  /** null while pods reference a node the scheduler has not seen (yet) or that was deleted under them. */
  node: Node | null = null;
  labels: Record<string, string> = {};
  taints: Taint[] = [];
  unschedulable = false;
  /** The RuntimeClass handlers the node reports (status.runtimeHandlers); null when it reports none. */
  runtimeHandlers: ReadonlySet<string> | null = null;
  allocatable = new Resources();
  allocatablePods = 0;
  /** Sum of the fit requests of the pods on the node. */
  readonly requested = new Resources();
  /** Sums of the scoring requests (Kubernetes' NonZeroRequested). */
  nonZeroMilliCpu = 0;
  nonZeroMemory = 0;
  readonly pods = new Map<string, PodInfo>();
  /** Pods on the node with any pod (anti-)affinity term. */
  readonly podsWithAffinity: PodInfo[] = [];
  readonly podsWithRequiredAntiAffinity: PodInfo[] = [];
  /** Pods per controller owner, for spreading. */
  readonly ownerCounts = new Map<string, number>();
  /** Position in the snapshot's node list, -1 when not listed. */
  listIndex = -1;
  /** Bumped on every change. */
  generation = 0;

  constructor(readonly name: string) {}

  setNode(node: Node | null): void {
    this.node = node;
    this.labels = node?.metadata.labels ?? {};
    this.taints = node?.spec?.taints ?? [];
    this.unschedulable = !!node?.spec?.unschedulable;
    const handlers = node?.status?.runtimeHandlers;
    this.runtimeHandlers = Array.isArray(handlers) ? new Set(handlers.map((h) => h.name)) : null;
    this.allocatable = new Resources();
    this.allocatablePods = addResourceList(this.allocatable, node?.status?.allocatable);
    this.generation++;
  }

  get podCount(): number {
    return this.pods.size;
  }

  addPod(p: PodInfo): void {
    this.pods.set(p.key, p);
    this.requested.add(p.requests);
    this.nonZeroMilliCpu += p.nonZeroMilliCpu;
    this.nonZeroMemory += p.nonZeroMemory;
    if (p.hasPodAffinity) this.podsWithAffinity.push(p);
    if (p.requiredAntiAffinity.length) this.podsWithRequiredAntiAffinity.push(p);
    if (p.ownerKey) this.ownerCounts.set(p.ownerKey, (this.ownerCounts.get(p.ownerKey) ?? 0) + 1);
    this.generation++;
  }

  /** Removes the pod stored under `key`; false when it was not here. */
  removePod(key: string): boolean {
    const p = this.pods.get(key);
    if (!p) return false;
    this.pods.delete(key);
    this.requested.add(p.requests, -1);
    this.nonZeroMilliCpu -= p.nonZeroMilliCpu;
    this.nonZeroMemory -= p.nonZeroMemory;
    if (p.hasPodAffinity) removeFrom(this.podsWithAffinity, p);
    if (p.requiredAntiAffinity.length) removeFrom(this.podsWithRequiredAntiAffinity, p);
    if (p.ownerKey) {
      const n = (this.ownerCounts.get(p.ownerKey) ?? 1) - 1;
      if (n > 0) this.ownerCounts.set(p.ownerKey, n);
      else this.ownerCounts.delete(p.ownerKey);
    }
    this.generation++;
    return true;
  }
}

function removeFrom<T>(list: T[], x: T): void {
  const i = list.indexOf(x);
  if (i >= 0) list.splice(i, 1);
}
