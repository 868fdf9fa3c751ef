import { type CycleState, type PreScorePlugin, SKIP, SUCCESS, type ScorePlugin, type Status, normalizeToMax } from '../../framework.js';
import type { NodeInfo } from '../../node-info.js';
import type { PodInfo } from '../../pod-info.js';

export const SELECTOR_SPREAD = 'SelectorSpread';

/**
 * Score: spreads the pods of one controller (the ownerReference with controller=true: a ReplicaSet, a
 * Job, a StatefulSet...) across nodes: the fewer of its pods a node already has, the higher the score.
 * Skipped for pods without a controller.
 */
export class SelectorSpread implements PreScorePlugin, ScorePlugin {
  readonly name = SELECTOR_SPREAD;

  preScore(_state: CycleState, pod: PodInfo): Status {
    return pod.ownerKey ? SUCCESS : SKIP;
  }

  score(_state: CycleState, pod: PodInfo, node: NodeInfo): number {
    return node.ownerCounts.get(pod.ownerKey!) ?? 0;
  }

  normalizeScore(_state: CycleState, _pod: PodInfo, scores: Float64Array, count: number): void {
    normalizeToMax(scores, count, true);
  }
}

export function selectorSpread(): SelectorSpread {
  return new SelectorSpread();
}
