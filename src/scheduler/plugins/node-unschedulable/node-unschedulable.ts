import type { Taint } from '../../../api/core/v1/node.js';
import { type ClusterEvent, type CycleState, type FilterPlugin, SUCCESS, Status } from '../../framework.js';
import type { NodeInfo } from '../../node-info.js';
import type { PodInfo } from '../../pod-info.js';
import { toleratedBy } from '../../tolerations.js';

export const NODE_UNSCHEDULABLE = 'NodeUnschedulable';

/** The taint a cordoned node implies (Kubernetes' node.kubernetes.io/unschedulable). */
export const UNSCHEDULABLE_TAINT: Taint = { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' };

const CORDONED = Status.unresolvable('node(s) were unschedulable');

/** Filter: a node with spec.unschedulable (cordoned) takes only pods tolerating the unschedulable taint. */
export class NodeUnschedulable implements FilterPlugin {
  readonly name = NODE_UNSCHEDULABLE;
  readonly events: readonly ClusterEvent[] = ['NodeAdd', 'NodeUnschedulableChange'];

  filter(_state: CycleState, pod: PodInfo, node: NodeInfo): Status {
    if (!node.unschedulable) return SUCCESS;
    return toleratedBy(pod.tolerations, UNSCHEDULABLE_TAINT) ? SUCCESS : CORDONED;
  }
}

export function nodeUnschedulable(): NodeUnschedulable {
  return new NodeUnschedulable();
}
