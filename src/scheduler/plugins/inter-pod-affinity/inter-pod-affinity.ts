import {
  type ClusterEvent,
  type CycleState,
  type FilterPlugin,
  type FrameworkHandle,
  MAX_NODE_SCORE,
  type PreFilterPlugin,
  type PreScorePlugin,
  SKIP,
  SUCCESS,
  type ScorePlugin,
  Status,
} from '../../framework.js';
import type { NodeInfo } from '../../node-info.js';
import { type AffinityTerm, type PodInfo, termMatchesPod } from '../../pod-info.js';

export const INTER_POD_AFFINITY = 'InterPodAffinity';

const AFFINITY_MISMATCH = Status.unresolvable("node(s) didn't match pod affinity rules");
const ANTI_AFFINITY_MISMATCH = Status.unschedulable("node(s) didn't match pod anti-affinity rules");
const EXISTING_ANTI_AFFINITY = Status.unschedulable("node(s) didn't satisfy existing pods anti-affinity rules");

const FILTER_KEY = 'InterPodAffinity/filter';
const SCORE_KEY = 'InterPodAffinity/score';

/** Counts per topology domain: `${topologyKey}\0${value}` -> count. */
type Counts = Map<string, number>;

const pair = (key: string, value: string) => `${key}\0${value}`;

function inc(counts: Counts, term: AffinityTerm, node: NodeInfo, by: number): void {
  const value = node.labels[term.topologyKey];
  if (value === undefined) return;
  const p = pair(term.topologyKey, value);
  counts.set(p, (counts.get(p) ?? 0) + by);
}

interface FilterState {
  /** Domains holding an existing pod whose required anti-affinity selects the incoming pod. */
  existingAnti: Counts;
  existingAntiKeys: string[];
  /** Domains holding pods selected by each of the incoming pod's required (anti-)affinity terms. */
  affinity: Counts;
  antiAffinity: Counts;
}

interface ScoreState {
  scores: Counts;
  keys: string[];
}

/**
 * Required pod affinity and anti-affinity (Filter) and preferred terms (Score), for any topologyKey
 * (kubernetes.io/hostname makes the domain one node). Terms select pods by labels in the pod's own
 * namespace, the namespaces listed, or those a namespaceSelector picks. An existing pod's required
 * anti-affinity also keeps the incoming pod away (symmetry), and the first pod of a group whose
 * affinity selects itself may go anywhere.
 */
export class InterPodAffinity implements PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin {
  readonly name = INTER_POD_AFFINITY;
  readonly events: readonly ClusterEvent[] = ['NodeAdd', 'NodeLabelChange', 'AssignedPodAdd', 'AssignedPodUpdate', 'AssignedPodDelete', 'NamespaceChange'];

  constructor(private readonly handle: FrameworkHandle) {}

  preFilter(state: CycleState, pod: PodInfo): Status {
    const snap = this.handle.snapshot;
    const hasOwn = pod.requiredAffinity.length > 0 || pod.requiredAntiAffinity.length > 0;
    if (!hasOwn && snap.podsWithRequiredAntiAffinity === 0) return SKIP;
    const st: FilterState = { existingAnti: new Map(), existingAntiKeys: [], affinity: new Map(), antiAffinity: new Map() };
    const keys = new Set<string>();
    for (const node of snap.nodeList) {
      for (const existing of node.podsWithRequiredAntiAffinity) {
        for (const t of existing.requiredAntiAffinity) {
          if (termMatchesPod(t, pod, snap.nsLabels)) {
            inc(st.existingAnti, t, node, 1);
            keys.add(t.topologyKey);
          }
        }
      }
      if (!hasOwn || node.pods.size === 0) continue;
      for (const other of node.pods.values()) {
        for (const t of pod.requiredAffinity) if (termMatchesPod(t, other, snap.nsLabels)) inc(st.affinity, t, node, 1);
        for (const t of pod.requiredAntiAffinity) if (termMatchesPod(t, other, snap.nsLabels)) inc(st.antiAffinity, t, node, 1);
      }
    }
    st.existingAntiKeys = [...keys];
    state.write(FILTER_KEY, st);
    return SUCCESS;
  }

  filter(state: CycleState, pod: PodInfo, node: NodeInfo): Status {
    const st = state.read<FilterState>(FILTER_KEY);
    if (!st) return SUCCESS;
    for (const key of st.existingAntiKeys) {
      const v = node.labels[key];
      if (v !== undefined && (st.existingAnti.get(pair(key, v)) ?? 0) > 0) return EXISTING_ANTI_AFFINITY;
    }
    for (const t of pod.requiredAntiAffinity) {
      const v = node.labels[t.topologyKey];
      if (v !== undefined && (st.antiAffinity.get(pair(t.topologyKey, v)) ?? 0) > 0) return ANTI_AFFINITY_MISMATCH;
    }
    if (pod.requiredAffinity.length && !this.affinityHolds(st, pod, node)) return AFFINITY_MISMATCH;
    return SUCCESS;
  }

  private affinityHolds(st: FilterState, pod: PodInfo, node: NodeInfo): boolean {
    let podsExist = true;
    for (const t of pod.requiredAffinity) {
      const v = node.labels[t.topologyKey];
      if (v === undefined) return false; // the node must carry every topology key
      if ((st.affinity.get(pair(t.topologyKey, v)) ?? 0) <= 0) podsExist = false;
    }
    if (podsExist) return true;
    // No pod matches anywhere: the first pod of a group that selects itself may start it.
    const nsLabels = this.handle.snapshot.nsLabels;
    return st.affinity.size === 0 && pod.requiredAffinity.every((t) => termMatchesPod(t, pod, nsLabels));
  }

  preScore(state: CycleState, pod: PodInfo): Status {
    const snap = this.handle.snapshot;
    const hasOwn = pod.preferredAffinity.length > 0 || pod.preferredAntiAffinity.length > 0;
    if (!hasOwn && snap.podsWithAffinity === 0) return SKIP;
    const scores: Counts = new Map();
    const keys = new Set<string>();
    const add = (t: AffinityTerm, node: NodeInfo, by: number) => {
      inc(scores, t, node, by);
      keys.add(t.topologyKey);
    };
    for (const node of snap.nodeList) {
      if (hasOwn) {
        for (const other of node.pods.values()) {
          for (const t of pod.preferredAffinity) if (termMatchesPod(t, other, snap.nsLabels)) add(t, node, t.weight);
          for (const t of pod.preferredAntiAffinity) if (termMatchesPod(t, other, snap.nsLabels)) add(t, node, -t.weight);
        }
      }
      for (const existing of node.podsWithAffinity) {
        for (const t of existing.preferredAffinity) if (termMatchesPod(t, pod, snap.nsLabels)) add(t, node, t.weight);
        for (const t of existing.preferredAntiAffinity) if (termMatchesPod(t, pod, snap.nsLabels)) add(t, node, -t.weight);
      }
    }
    if (scores.size === 0) return SKIP;
    state.write(SCORE_KEY, { scores, keys: [...keys] } satisfies ScoreState);
    return SUCCESS;
  }

  score(state: CycleState, _pod: PodInfo, node: NodeInfo): number {
    const st = state.read<ScoreState>(SCORE_KEY);
    if (!st) return 0;
    let s = 0;
    for (const key of st.keys) {
      const v = node.labels[key];
      if (v !== undefined) s += st.scores.get(pair(key, v)) ?? 0;
    }
    return s;
  }

  /** Min-max scaling to 0..100 (scores may be negative through anti-affinity). */
  normalizeScore(_state: CycleState, _pod: PodInfo, scores: Float64Array, count: number): void {
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < count; i++) {
      min = Math.min(min, scores[i]!);
      max = Math.max(max, scores[i]!);
    }
    const diff = max - min;
    for (let i = 0; i < count; i++) scores[i] = diff > 0 ? (MAX_NODE_SCORE * (scores[i]! - min)) / diff : 0;
  }
}

export function interPodAffinity(handle: FrameworkHandle): InterPodAffinity {
  return new InterPodAffinity(handle);
}
