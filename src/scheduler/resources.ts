import { podResources, type ResourceList } from '../api/core/v1/pod-resources.js';
import type { PodSpec } from '../api/core/v1/pod-types.js';
import { Quantity, parseQuantity } from '../api/quantity.js';

/**
 * Numeric resource amounts for the scheduler's hot path: CPU in millicores, memory and ephemeral storage
 * in bytes, any other resource (extended resources such as `example.com/gpu`, hugepages) in `scalar`.
 * Quantities are parsed once, when a pod or node enters the scheduler, never during a cycle.
 */
export class Resources {
  milliCpu = 0;
  memory = 0;
  ephemeralStorage = 0;
  /** Extended and other resources, absent while there are none (the common case). */
  scalar: Map<string, number> | null = null;

  add(o: Resources, sign = 1): void {
    this.milliCpu += sign * o.milliCpu;
    this.memory += sign * o.memory;
    this.ephemeralStorage += sign * o.ephemeralStorage;
    if (o.scalar) for (const [k, v] of o.scalar) this.setScalar(k, this.getScalar(k) + sign * v);
  }

  getScalar(name: string): number {
    return this.scalar?.get(name) ?? 0;
  }

  setScalar(name: string, value: number): void {
    (this.scalar ??= new Map()).set(name, value);
  }
}

/** Kubernetes' defaults for a container without requests, used for scoring only (NonZeroRequests). */
export const DEFAULT_MILLI_CPU_REQUEST = 100;
export const DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024;

const milli = (v: number) => Math.ceil(v * 1000 - 1e-9);
const whole = (v: number) => Math.ceil(v - 1e-9);

/** Adds one resource list (`requests`, `allocatable`, `overhead`) to `into`; returns the pod count it names. */
export function addResourceList(into: Resources, list: Record<string, string | number> | undefined): number {
  let pods = 0;
  if (!list) return pods;
  for (const name in list) {
    const v = parseQuantity(list[name]);
    if (v === undefined) continue; // validation rejects malformed quantities before they are stored
    if (name === 'cpu') into.milliCpu += milli(v);
    else if (name === 'memory') into.memory += whole(v);
    else if (name === 'ephemeral-storage') into.ephemeralStorage += whole(v);
    else if (name === 'pods') pods += whole(v);
    else into.setScalar(name, into.getScalar(name) + whole(v));
  }
  return pods;
}

/** What a pod asks of a node: `requests` decide fit, `nonZero*` (defaults for missing requests) decide scores. */
export interface PodRequests {
  requests: Resources;
  nonZeroMilliCpu: number;
  nonZeroMemory: number;
}

/** What a container that requests no CPU or memory counts for scoring (Kubernetes' NonMissingContainerRequests). */
const NON_ZERO_DEFAULTS: ResourceList = { cpu: Quantity.parse(`${DEFAULT_MILLI_CPU_REQUEST}m`)!, memory: Quantity.of(DEFAULT_MEMORY_REQUEST) };

/** Exact amounts as the scheduler's numbers (CPU rounded up to millicores, the rest up to whole units). */
function resourcesOf(list: ResourceList): Resources {
  const r = new Resources();
  for (const name in list) {
    const q = list[name]!;
    if (name === 'cpu') r.milliCpu = Number(q.milliValue());
    else if (name === 'memory') r.memory = Number(q.value());
    else if (name === 'ephemeral-storage') r.ephemeralStorage = Number(q.value());
    else if (name !== 'pods') r.setScalar(name, Number(q.value()));
  }
  return r;
}

/**
 * Kubernetes' effective pod requests (api/core/v1/pod-resources.ts, as quotas count them): app
 * containers and sidecars add up, an init container runs beside the sidecars started before it, the
 * pod's overhead adds. Containers without requests count 0 for fit and Kubernetes' defaults for scores.
 */
export function podRequests(spec: PodSpec): PodRequests {
  const nonZero = podResources(spec, 'requests', { nonMissing: NON_ZERO_DEFAULTS });
  return {
    requests: resourcesOf(podResources(spec, 'requests')),
    nonZeroMilliCpu: Number(nonZero.cpu?.milliValue() ?? 0n),
    nonZeroMemory: Number(nonZero.memory?.value() ?? 0n),
  };
}
