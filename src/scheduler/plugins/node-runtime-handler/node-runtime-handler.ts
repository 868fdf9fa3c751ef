import { DEFAULT_RUNTIME_HANDLER } from '../../../api/node/v1/runtime-class.js';
import { type ClusterEvent, type CycleState, type FilterPlugin, type FrameworkHandle, type PreFilterPlugin, SKIP, SUCCESS, Status } from '../../framework.js';
import type { NodeInfo } from '../../node-info.js';
import type { PodInfo } from '../../pod-info.js';

export const NODE_RUNTIME_HANDLER = 'NodeRuntimeHandler';

/** Whether `node` can run pods of runtime `handler`: one it reports, or runc on a node that reports none. */
export function nodeRunsHandler(node: NodeInfo, handler: string): boolean {
  return node.runtimeHandlers ? node.runtimeHandlers.has(handler) : handler === DEFAULT_RUNTIME_HANDLER;
}

/**
 * PreFilter: the handler of the pod's RuntimeClass (from the RuntimeClasses the scheduler watches; pods
 * naming none are skipped). Filter: nodes whose status.runtimeHandlers lacks it are rejected; a node
 * reporting no handlers at all (older agents) runs runc only.
 */
export class NodeRuntimeHandler implements PreFilterPlugin, FilterPlugin {
  readonly name = NODE_RUNTIME_HANDLER;
  readonly events: readonly ClusterEvent[] = ['NodeAdd', 'NodeRuntimeHandlersChange', 'RuntimeClassChange'];
  /** One rejection per handler, made once (the filter runs for many nodes). */
  private readonly rejections = new Map<string, Status>();

  constructor(private readonly handle: FrameworkHandle) {}

  preFilter(state: CycleState, pod: PodInfo): Status {
    const className = pod.pod.spec.runtimeClassName;
    if (!className) return SKIP;
    const handler = this.handle.snapshot.runtimeHandlerOf(className);
    // Admission saw the class when the pod was made: it was deleted since, or has not reached the scheduler yet.
    if (handler === undefined) return Status.unresolvable(`RuntimeClass "${className}" not found`);
    state.write(NODE_RUNTIME_HANDLER, handler);
    return SUCCESS;
  }

  filter(state: CycleState, _pod: PodInfo, node: NodeInfo): Status {
    const handler = state.read<string>(NODE_RUNTIME_HANDLER)!;
    if (nodeRunsHandler(node, handler)) return SUCCESS;
    let rejected = this.rejections.get(handler);
    if (!rejected) this.rejections.set(handler, (rejected = Status.unresolvable(`node(s) didn't support runtime handler "${handler}"`)));
    return rejected;
  }
}

export function nodeRuntimeHandler(handle: FrameworkHandle): NodeRuntimeHandler {
  return new NodeRuntimeHandler(handle);
}
