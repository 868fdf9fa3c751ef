/**
 * A pod's effective requests or limits, as Kubernetes counts them for quotas and limit ranges
 * (component-helpers' PodRequests/PodLimits): app containers and sidecars (restartable init containers)
 * add up; an ordinary init container runs alone beside the sidecars started before it, so the pod needs
 * the larger of the two; requests add the pod overhead unless asked not to. Every resource name counts
 * (cpu, memory, ephemeral-storage, hugepages, extended resources), exactly.
 */
import { Quantity } from '../../quantity.js';
import type { PodSpec } from './pod-types.js';

/** Resource name → quantity (a ResourceList, parsed). */
export type ResourceList = Record<string, Quantity>;

type ContainerLike = { resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> }; restartPolicy?: string };

/** A map of quantities as written in an object (invalid values count as zero: validation refuses them). */
export function resourceList(m: Record<string, unknown> | undefined): ResourceList {
  const out: ResourceList = {};
  for (const [k, v] of Object.entries(m ?? {})) out[k] = Quantity.orZero(v);
  return out;
}

/** a + b, key by key. */
export function addResources(a: ResourceList, b: ResourceList): ResourceList {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? Quantity.ZERO).add(v);
  return out;
}

function maxResources(a: ResourceList, b: ResourceList): ResourceList {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) if (out[k] === undefined || v.cmp(out[k]) > 0) out[k] = v;
  return out;
}

export function podResources(spec: PodSpec | undefined, field: 'requests' | 'limits', opts: { overhead?: boolean } = {}): ResourceList {
  const of = (c: ContainerLike | undefined) => resourceList(c?.resources?.[field]);
  let total: ResourceList = {};
  for (const c of (spec?.containers ?? []) as ContainerLike[]) total = addResources(total, of(c));
  let sidecars: ResourceList = {};
  let init: ResourceList = {};
  for (const c of (spec?.initContainers ?? []) as ContainerLike[]) {
    if (c?.restartPolicy === 'Always') {
      sidecars = addResources(sidecars, of(c));
      init = maxResources(init, sidecars);
    } else init = maxResources(init, addResources(of(c), sidecars));
  }
  total = maxResources(addResources(total, sidecars), init);
  if (field === 'requests' && opts.overhead !== false) total = addResources(total, resourceList((spec as { overhead?: Record<string, unknown> } | undefined)?.overhead));
  return total;
}
