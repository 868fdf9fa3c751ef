/**
 * A pod's effective requests or limits, as Kubernetes counts them for quotas and limit ranges
 * (component-helpers' PodRequests/PodLimits): app containers and sidecars (restartable init containers)
 * add up; an ordinary init container runs alone beside the sidecars started before it, so the pod needs
 * the larger of the two; the pod overhead adds to the requests and to the limits the pod sets, unless
 * asked not to. Every resource name counts (cpu, memory, ephemeral-storage, hugepages, extended
 * resources), exactly. The scheduler, quotas, LimitRanger and tenant quotas all count with this.
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

/** How `podResources` counts. */
export interface PodResourceOptions {
  /** Whether spec.overhead counts (default true): added to the requests, and to each limit the pod sets. */
  overhead?: boolean;
  /**
   * What a container counts of a resource it requests nothing of (Kubernetes' NonMissingContainerRequests:
   * the scheduler scores with 100m CPU and 200Mi memory for containers that state none).
   */
  nonMissing?: ResourceList;
}

export function podResources(spec: PodSpec | undefined, field: 'requests' | 'limits', opts: PodResourceOptions = {}): ResourceList {
  const of = (c: ContainerLike | undefined) => withNonMissing(resourceList(c?.resources?.[field]), opts.nonMissing);
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
  if (opts.overhead === false) return total;
  const overhead = resourceList((spec as { overhead?: Record<string, unknown> } | undefined)?.overhead);
  if (field === 'requests') return addResources(total, overhead);
  for (const [k, v] of Object.entries(overhead)) {
    const limit = total[k];
    if (limit) total[k] = limit.add(v);
  }
  return total;
}

function withNonMissing(list: ResourceList, nonMissing: ResourceList | undefined): ResourceList {
  if (!nonMissing) return list;
  const out = { ...list };
  for (const [k, v] of Object.entries(nonMissing)) out[k] ??= v;
  return out;
}
