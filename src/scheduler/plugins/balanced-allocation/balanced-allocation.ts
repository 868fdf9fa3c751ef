import { type CycleState, MAX_NODE_SCORE, type ScorePlugin } from '../../framework.js';
import type { NodeInfo } from '../../node-info.js';
import type { PodInfo } from '../../pod-info.js';

export const BALANCED_ALLOCATION = 'NodeResourcesBalancedAllocation';

/**
 * Score: prefers nodes whose CPU and memory would be used in similar fractions after placing the pod
 * (Kubernetes: one minus the standard deviation of the fractions, which for two resources is half their
 * difference). Uses the non-zero requests like LeastAllocated.
 */
export class BalancedAllocation implements ScorePlugin {
  readonly name = BALANCED_ALLOCATION;

  score(_state: CycleState, pod: PodInfo, node: NodeInfo): number {
    const a = node.allocatable;
    if (a.milliCpu <= 0 || a.memory <= 0) return 0;
    const cpu = Math.min(1, (node.nonZeroMilliCpu + pod.nonZeroMilliCpu) / a.milliCpu);
    const mem = Math.min(1, (node.nonZeroMemory + pod.nonZeroMemory) / a.memory);
    const std = Math.abs(cpu - mem) / 2;
    return (1 - std) * MAX_NODE_SCORE;
  }
}

export function balancedAllocation(): BalancedAllocation {
  return new BalancedAllocation();
}
