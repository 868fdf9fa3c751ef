import { type CycleState, MAX_NODE_SCORE, type ScorePlugin } from '../../framework.js';
import type { NodeInfo } from '../../node-info.js';
import type { PodInfo } from '../../pod-info.js';

export const LEAST_ALLOCATED = 'NodeResourcesLeastAllocated';

/** (allocatable - requested) / allocatable as a 0..100 score; 0 when nothing is allocatable or it overflows. */
export function leastRequestedScore(requested: number, allocatable: number): number {
  if (allocatable <= 0 || requested > allocatable) return 0;
  return ((allocatable - requested) * MAX_NODE_SCORE) / allocatable;
}

/**
 * Score: prefers nodes with the most free CPU and memory after placing the pod, CPU and memory weighted
 * equally. Uses the non-zero requests (containers without requests count 100m CPU and 200Mi memory),
 * so that pods without requests still spread.
 */
export class LeastAllocated implements ScorePlugin {
  readonly name = LEAST_ALLOCATED;

  score(_state: CycleState, pod: PodInfo, node: NodeInfo): number {
    const cpu = leastRequestedScore(node.nonZeroMilliCpu + pod.nonZeroMilliCpu, node.allocatable.milliCpu);
    const mem = leastRequestedScore(node.nonZeroMemory + pod.nonZeroMemory, node.allocatable.memory);
    return (cpu + mem) / 2;
  }
}

export function leastAllocated(): LeastAllocated {
  return new LeastAllocated();
}
