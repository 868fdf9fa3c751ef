import { type ClusterEvent, type CycleState, type FilterPlugin, type PreFilterPlugin, SKIP, SUCCESS, Status } from '../../framework.js';
import type { NodeInfo } from '../../node-info.js';
import type { PodInfo } from '../../pod-info.js';

export const NODE_NAME = 'NodeName';

const MISMATCH = Status.unresolvable("node(s) didn't match the requested node name");

/** Filter: a pod whose spec.nodeName is set fits only that node. Skipped for pods without one. */
export class NodeName implements PreFilterPlugin, FilterPlugin {
  readonly name = NODE_NAME;
  readonly events: readonly ClusterEvent[] = ['NodeAdd'];

  preFilter(_state: CycleState, pod: PodInfo): Status {
    return pod.pod.spec.nodeName ? SUCCESS : SKIP;
  }

  filter(_state: CycleState, pod: PodInfo, node: NodeInfo): Status {
    const want = pod.pod.spec.nodeName;
    return !want || want === node.name ? SUCCESS : MISMATCH;
  }
}

export function nodeName(): NodeName {
  return new NodeName();
}
