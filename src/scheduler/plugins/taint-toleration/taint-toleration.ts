import type { Toleration } from '../../../api/core/v1/pod-types.js';
import {
  type ClusterEvent,
  type CycleState,
  type FilterPlugin,
  type PreScorePlugin,
  SKIP,
  SUCCESS,
  type ScorePlugin,
  Status,
  normalizeToMax,
} from '../../framework.js';
import type { NodeInfo } from '../../node-info.js';
import type { PodInfo } from '../../pod-info.js';
import { toleratedBy } from '../../tolerations.js';

export const TAINT_TOLERATION = 'TaintToleration';

const PREFER_KEY = 'TaintToleration/prefer';

/**
 * Filter: every NoSchedule and NoExecute taint of the node is tolerated by the pod.
 * Score: fewer untolerated PreferNoSchedule taints is better (reversed, scaled to 0..100).
 */
export class TaintToleration implements FilterPlugin, PreScorePlugin, ScorePlugin {
  readonly name = TAINT_TOLERATION;
  readonly events: readonly ClusterEvent[] = ['NodeAdd', 'NodeTaintChange'];

  filter(_state: CycleState, pod: PodInfo, node: NodeInfo): Status {
    const taints = node.taints;
    if (taints.length === 0) return SUCCESS;
    for (const taint of taints) {
      if (taint.effect === 'PreferNoSchedule') continue;
      if (!toleratedBy(pod.tolerations, taint)) return Status.unresolvable(`node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`);
    }
    return SUCCESS;
  }

  preScore(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[], count: number): Status {
    let anyTaint = false;
    for (let i = 0; i < count && !anyTaint; i++) anyTaint = nodes[i]!.taints.length > 0;
    if (!anyTaint) return SKIP;
    state.write(PREFER_KEY, pod.tolerations.filter((t) => !t.effect || t.effect === 'PreferNoSchedule'));
    return SUCCESS;
  }

  score(state: CycleState, _pod: PodInfo, node: NodeInfo): number {
    const tolerations = state.read<Toleration[]>(PREFER_KEY) ?? [];
    let n = 0;
    for (const taint of node.taints) if (taint.effect === 'PreferNoSchedule' && !toleratedBy(tolerations, taint)) n++;
    return n;
  }

  normalizeScore(_state: CycleState, _pod: PodInfo, scores: Float64Array, count: number): void {
    normalizeToMax(scores, count, true);
  }
}

export function taintToleration(): TaintToleration {
  return new TaintToleration();
}
