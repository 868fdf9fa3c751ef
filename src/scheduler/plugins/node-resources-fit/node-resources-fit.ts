import { type ClusterEvent, type CycleState, type FilterPlugin, SUCCESS, Status } from '../../framework.js';
import type { NodeInfo } from '../../node-info.js';
import type { PodInfo } from '../../pod-info.js';

export const NODE_RESOURCES_FIT = 'NodeResourcesFit';

const TOO_MANY_PODS = Status.unschedulable('Too many pods');
const CPU = Status.unschedulable('Insufficient cpu');
const MEMORY = Status.unschedulable('Insufficient memory');
const CPU_MEMORY = Status.unschedulable('Insufficient cpu', 'Insufficient memory');

/**
 * Filter: the pod's requests (CPU, memory, ephemeral storage, extended resources) fit in what the node
 * has allocatable minus what its pods (bound and assumed) request, and the node has room for one more
 * pod. Every insufficient resource is a reason, as in Kubernetes ("Insufficient cpu", "Too many pods").
 */
export class NodeResourcesFit implements FilterPlugin {
  readonly name = NODE_RESOURCES_FIT;
  readonly events: readonly ClusterEvent[] = ['NodeAdd', 'NodeAllocatableChange', 'AssignedPodDelete', 'AssignedPodUpdate'];

  filter(_state: CycleState, pod: PodInfo, node: NodeInfo): Status {
    const reasons = fitReasons(pod, node);
    if (reasons === null) return SUCCESS;
    if (reasons.length === 1) {
      if (reasons[0] === 'Insufficient cpu') return CPU;
      if (reasons[0] === 'Insufficient memory') return MEMORY;
      if (reasons[0] === 'Too many pods') return TOO_MANY_PODS;
    } else if (reasons.length === 2 && reasons[0] === 'Insufficient cpu' && reasons[1] === 'Insufficient memory') return CPU_MEMORY;
    return Status.unschedulable(...reasons);
  }
}

/** The reasons the pod does not fit on the node, or null when it fits. */
export function fitReasons(pod: PodInfo, node: NodeInfo): string[] | null {
  let reasons: string[] | null = null;
  if (node.pods.size + 1 > node.allocatablePods) (reasons ??= []).push('Too many pods');
  const r = pod.requests;
  const a = node.allocatable;
  const u = node.requested;
  if (r.milliCpu > 0 && r.milliCpu > a.milliCpu - u.milliCpu) (reasons ??= []).push('Insufficient cpu');
  if (r.memory > 0 && r.memory > a.memory - u.memory) (reasons ??= []).push('Insufficient memory');
  if (r.ephemeralStorage > 0 && r.ephemeralStorage > a.ephemeralStorage - u.ephemeralStorage) (reasons ??= []).push('Insufficient ephemeral-storage');
  if (r.scalar) {
    for (const [name, v] of r.scalar) {
      if (v > 0 && v > a.getScalar(name) - u.getScalar(name)) (reasons ??= []).push(`Insufficient ${name}`);
    }
  }
  return reasons;
}

export function nodeResourcesFit(): NodeResourcesFit {
  return new NodeResourcesFit();
}
