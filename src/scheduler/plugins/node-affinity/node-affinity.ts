import {
  type ClusterEvent,
  type CycleState,
  type FilterPlugin,
  type PreFilterPlugin,
  type PreScorePlugin,
  SKIP,
  SUCCESS,
  type ScorePlugin,
  Status,
  normalizeToMax,
} from '../../framework.js';
import type { NodeInfo } from '../../node-info.js';
import type { PodInfo } from '../../pod-info.js';
import { anyTermMatches, termMatches } from './node-selector.js';

export const NODE_AFFINITY = 'NodeAffinity';

export const NODE_AFFINITY_REASON = "node(s) didn't match Pod's node affinity/selector";
const MISMATCH = Status.unresolvable(NODE_AFFINITY_REASON);

/**
 * Filter: spec.nodeSelector (every label equal) and requiredDuringSchedulingIgnoredDuringExecution node
 * affinity (any term; In/NotIn/Exists/DoesNotExist/Gt/Lt, matchFields on metadata.name).
 * Score: the sum of the weights of the matching preferredDuringScheduling terms, scaled to 0..100.
 */
export class NodeAffinity implements PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin {
  readonly name = NODE_AFFINITY;
  readonly events: readonly ClusterEvent[] = ['NodeAdd', 'NodeLabelChange'];

  preFilter(_state: CycleState, pod: PodInfo): Status {
    return pod.nodeSelector || pod.requiredNodeTerms ? SUCCESS : SKIP;
  }

  filter(_state: CycleState, pod: PodInfo, node: NodeInfo): Status {
    return nodeMatchesPod(pod, node) ? SUCCESS : MISMATCH;
  }

  preScore(_state: CycleState, pod: PodInfo): Status {
    return pod.preferredNodeTerms ? SUCCESS : SKIP;
  }

  score(_state: CycleState, pod: PodInfo, node: NodeInfo): number {
    let sum = 0;
    for (const t of pod.preferredNodeTerms ?? []) if (termMatches(t.preference, node.labels, node.name)) sum += t.weight;
    return sum;
  }

  normalizeScore(_state: CycleState, _pod: PodInfo, scores: Float64Array, count: number): void {
    normalizeToMax(scores, count, false);
  }
}

/** Whether the node satisfies the pod's nodeSelector and required node affinity. */
export function nodeMatchesPod(pod: PodInfo, node: NodeInfo): boolean {
  const sel = pod.nodeSelector;
  if (sel) for (const k in sel) if (node.labels[k] !== sel[k]) return false;
  if (pod.requiredNodeTerms && !anyTermMatches(pod.requiredNodeTerms, node.labels, node.name)) return false;
  return true;
}

export function nodeAffinity(): NodeAffinity {
  return new NodeAffinity();
}
