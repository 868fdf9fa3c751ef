/**
 * A pod's effective CPU and memory requests or limits, as Kubernetes counts them for quotas: app
 * containers and sidecars (restartable init containers) add up; an ordinary init container runs alone
 * beside the sidecars started before it, so the pod needs the larger of the two; requests add the pod
 * overhead. CPU in cores, memory in bytes.
 */
import { parseQuantity } from '../../quantity.js';
import type { PodSpec } from './pod-types.js';

export interface PodTotals {
  cpu: number;
  memory: number;
}

type ContainerLike = { resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> }; restartPolicy?: string };

function of(c: ContainerLike | undefined, field: 'requests' | 'limits'): PodTotals {
  const list = c?.resources?.[field] ?? {};
  return { cpu: parseQuantity(list.cpu) ?? 0, memory: parseQuantity(list.memory) ?? 0 };
}

const add = (a: PodTotals, b: PodTotals): PodTotals => ({ cpu: a.cpu + b.cpu, memory: a.memory + b.memory });
const max = (a: PodTotals, b: PodTotals): PodTotals => ({ cpu: Math.max(a.cpu, b.cpu), memory: Math.max(a.memory, b.memory) });

export function podTotals(spec: PodSpec | undefined, field: 'requests' | 'limits'): PodTotals {
  let total: PodTotals = { cpu: 0, memory: 0 };
  for (const c of spec?.containers ?? []) total = add(total, of(c as ContainerLike, field));
  let sidecars: PodTotals = { cpu: 0, memory: 0 };
  let init: PodTotals = { cpu: 0, memory: 0 };
  for (const c of (spec?.initContainers ?? []) as ContainerLike[]) {
    if (c?.restartPolicy === 'Always') {
      sidecars = add(sidecars, of(c, field));
      init = max(init, sidecars);
    } else init = max(init, add(of(c, field), sidecars));
  }
  total = max(add(total, sidecars), init);
  if (field === 'requests') total = add(total, of({ resources: { requests: (spec as { overhead?: Record<string, unknown> } | undefined)?.overhead } }, 'requests'));
  return total;
}
