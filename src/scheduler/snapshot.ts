import type { Node } from '../api/core/v1/node.js';
import { NodeInfo } from './node-info.js';
import type { PodInfo } from './pod-info.js';

interface PodState {
  info: PodInfo;
  nodeName: string;
  /** Placed by the scheduler, binding not yet confirmed by an event for the bound pod. */
  assumed: boolean;
}

/**
 * The scheduler's view of the cluster: node infos and the pods on them, updated incrementally from
 * events. Scheduling cycles are synchronous, so the snapshot is read directly (no copy per cycle).
 * Assume-on-bind: `assumePod` counts a pod on its node as soon as a node is chosen; the event for the
 * bound pod confirms it (`addPod`), a failed binding undoes it (`forgetPod`).
 */
export class ClusterSnapshot {
  private readonly infos = new Map<string, NodeInfo>();
  private readonly podStates = new Map<string, PodState>();
  private readonly namespaceLabels = new Map<string, Record<string, string>>();
  private readonly runtimeClasses = new Map<string, string>();
  /** Nodes that exist, in a stable order for round-robin sampling. */
  readonly nodeList: NodeInfo[] = [];
  /** Pods anywhere with a required anti-affinity term, and with any pod (anti-)affinity term. */
  podsWithRequiredAntiAffinity = 0;
  podsWithAffinity = 0;

  get nodeCount(): number {
    return this.nodeList.length;
  }

  get(name: string): NodeInfo | undefined {
    return this.infos.get(name);
  }

  /** Adds or replaces a node; returns its info. */
  setNode(node: Node): NodeInfo {
    const name = node.metadata.name;
    let info = this.infos.get(name);
    if (!info) this.infos.set(name, (info = new NodeInfo(name)));
    info.setNode(node);
    if (info.listIndex < 0) {
      info.listIndex = this.nodeList.length;
      this.nodeList.push(info);
    }
    return info;
  }

  removeNode(name: string): void {
    const info = this.infos.get(name);
    if (!info) return;
    if (info.listIndex >= 0) {
      const last = this.nodeList.pop()!;
      if (last !== info) {
        this.nodeList[info.listIndex] = last;
        last.listIndex = info.listIndex;
      }
      info.listIndex = -1;
    }
    info.setNode(null);
    // Pods still listed keep the info (without a node) until their own deletion arrives.
    if (info.pods.size === 0) this.infos.delete(name);
  }

  setNamespace(name: string, labels: Record<string, string> | undefined): void {
    this.namespaceLabels.set(name, labels ?? {});
  }

  removeNamespace(name: string): void {
    this.namespaceLabels.delete(name);
  }

  setRuntimeClass(name: string, handler: string): void {
    this.runtimeClasses.set(name, handler);
  }

  removeRuntimeClass(name: string): void {
    this.runtimeClasses.delete(name);
  }

  /** The handler of a RuntimeClass seen through events, or undefined. */
  runtimeHandlerOf(runtimeClassName: string): string | undefined {
    return this.runtimeClasses.get(runtimeClassName);
  }

  /** Labels of a namespace seen through events, or undefined. */
  readonly nsLabels = (namespace: string): Record<string, string> | undefined => this.namespaceLabels.get(namespace);

  isAssumed(key: string): boolean {
    return !!this.podStates.get(key)?.assumed;
  }

  /** The node a pod is placed on (bound or assumed), or undefined. */
  nodeOf(key: string): string | undefined {
    return this.podStates.get(key)?.nodeName;
  }

  /** Counts a pod on the chosen node before its binding completes. */
  assumePod(info: PodInfo, nodeName: string): void {
    if (this.podStates.has(info.key)) this.removePod(info.key);
    this.place(info, nodeName, true);
  }

  /** Undoes `assumePod` after a failed binding; a pod whose binding was confirmed meanwhile stays. */
  forgetPod(key: string): void {
    if (this.podStates.get(key)?.assumed) this.removePod(key);
  }

  /** A pod bound to a node (from an event): confirms an assumed pod, or adds or moves it. */
  addPod(info: PodInfo, nodeName: string): void {
    if (this.podStates.has(info.key)) this.removePod(info.key);
    this.place(info, nodeName, false);
  }

  removePod(key: string): void {
    const st = this.podStates.get(key);
    if (!st) return;
    this.podStates.delete(key);
    const ni = this.infos.get(st.nodeName);
    if (!ni) return;
    ni.removePod(key);
    this.count(st.info, -1);
    if (!ni.node && ni.pods.size === 0) this.infos.delete(st.nodeName);
  }

  private place(info: PodInfo, nodeName: string, assumed: boolean): void {
    this.podStates.set(info.key, { info, nodeName, assumed });
    let ni = this.infos.get(nodeName);
    if (!ni) this.infos.set(nodeName, (ni = new NodeInfo(nodeName)));
    ni.addPod(info);
    this.count(info, 1);
  }

  private count(info: PodInfo, sign: number): void {
    if (info.requiredAntiAffinity.length) this.podsWithRequiredAntiAffinity += sign;
    if (info.hasPodAffinity) this.podsWithAffinity += sign;
  }
}
