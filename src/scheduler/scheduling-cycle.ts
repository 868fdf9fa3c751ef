import { CycleState, type Framework } from './framework.js';
import type { NodeInfo } from './node-info.js';
import type { PodInfo } from './pod-info.js';
import type { ClusterSnapshot } from './snapshot.js';

/** Below this many nodes every node is evaluated; above, at least this many feasible ones are looked for. */
export const MIN_FEASIBLE_NODES_TO_FIND = 100;

/**
 * How many feasible nodes a cycle looks for before it stops filtering (Kubernetes'
 * percentageOfNodesToScore). `percentage` 0 means adaptive: 50% at 100 nodes falling linearly to 5% at
 * 5,000 nodes and beyond; never fewer than 100 nodes.
 */
export function numFeasibleNodesToFind(numAllNodes: number, percentage = 0): number {
  if (numAllNodes < MIN_FEASIBLE_NODES_TO_FIND) return numAllNodes;
  const pct = percentage > 0 ? percentage : Math.max(5, 50 - ((numAllNodes - 100) * 45) / 4900);
  if (pct >= 100) return numAllNodes;
  return Math.max(MIN_FEASIBLE_NODES_TO_FIND, Math.floor((numAllNodes * pct) / 100));
}

export const NO_NODES_MESSAGE = 'no nodes available to schedule pods';

/**
 * The FailedScheduling message, as Kubernetes words it: "0/3 nodes are available: 1 Insufficient cpu,
 * 2 node(s) didn't match Pod's node affinity/selector." (reason counts, sorted as strings).
 */
export function fitErrorMessage(numAllNodes: number, reasonCounts: ReadonlyMap<string, number>): string {
  const parts = [...reasonCounts].map(([reason, n]) => `${n} ${reason}`).sort();
  return `0/${numAllNodes} nodes are available${parts.length ? `: ${parts.join(', ')}` : ''}.`;
}

/** The outcome of one scheduling cycle. */
export type CycleResult =
  | { kind: 'scheduled'; nodeName: string; feasible: number; evaluated: number }
  | { kind: 'unschedulable'; message: string; plugins: Set<string> }
  | { kind: 'error'; message: string };

export interface CycleOptions {
  percentageOfNodesToScore?: number;
  random?: () => number;
}

/**
 * Runs scheduling cycles: PreFilter, then Filter over nodes taken round-robin from where the previous
 * cycle stopped until enough feasible nodes are found, then Score, then the best node (ties broken at
 * random). Synchronous: the snapshot cannot change during a cycle.
 */
export class SchedulingAlgorithm {
  private nextStartNodeIndex = 0;
  /** Reused between cycles: the feasible nodes of the current cycle are its first entries. */
  private readonly feasible: NodeInfo[] = [];
  private readonly random: () => number;

  constructor(
    private readonly framework: Framework,
    private readonly snapshot: ClusterSnapshot,
    private readonly opts: CycleOptions = {},
  ) {
    this.random = opts.random ?? Math.random;
  }

  schedule(pod: PodInfo): CycleResult {
    const nodes = this.snapshot.nodeList;
    const n = nodes.length;
    if (n === 0) return { kind: 'unschedulable', message: NO_NODES_MESSAGE, plugins: new Set() };
    const fw = this.framework;
    const state = new CycleState();
    const pre = fw.runPreFilter(state, pod);
    if (pre) {
      if (pre.status.code === 'Error') return { kind: 'error', message: `${pre.plugin}: ${pre.status.reasons.join(', ')}` };
      const counts = new Map(pre.status.reasons.map((r) => [r, n]));
      return { kind: 'unschedulable', message: fitErrorMessage(n, counts), plugins: new Set([pre.plugin]) };
    }

    const want = numFeasibleNodesToFind(n, this.opts.percentageOfNodesToScore);
    const feasible = this.feasible;
    let count = 0;
    let reasons: Map<string, number> | null = null;
    let plugins: Set<string> | null = null;
    const start = this.nextStartNodeIndex < n ? this.nextStartNodeIndex : 0;
    let processed = 0;
    for (let i = start; processed < n && count < want; processed++, i++) {
      if (i === n) i = 0;
      const node = nodes[i]!;
      const s = fw.runFilter(state, pod, node);
      if (s === null) {
        feasible[count++] = node;
        continue;
      }
      if (s.code === 'Error') return { kind: 'error', message: `${fw.failedPlugin}: ${s.reasons.join(', ')}` };
      reasons ??= new Map();
      for (const r of s.reasons) reasons.set(r, (reasons.get(r) ?? 0) + 1);
      (plugins ??= new Set()).add(fw.failedPlugin);
    }
    this.nextStartNodeIndex = (start + processed) % n;
    if (count === 0) return { kind: 'unschedulable', message: fitErrorMessage(n, reasons ?? new Map()), plugins: plugins ?? new Set() };
    const chosen = count === 1 ? feasible[0]! : this.select(fw.runScore(state, pod, feasible, count), count);
    return { kind: 'scheduled', nodeName: chosen.name, feasible: count, evaluated: processed };
  }

  /** The highest total; among equal ones each is equally likely (reservoir sampling). */
  private select(totals: Float64Array, count: number): NodeInfo {
    let best = 0;
    let bestScore = totals[0]!;
    let ties = 1;
    for (let i = 1; i < count; i++) {
      const s = totals[i]!;
      if (s > bestScore) {
        best = i;
        bestScore = s;
        ties = 1;
      } else if (s === bestScore && this.random() * ++ties < 1) best = i;
    }
    return this.feasible[best]!;
  }
}
