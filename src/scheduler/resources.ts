import type { Container, PodSpec } from '../api/core/v1/pod-types.js';
import { parseQuantity } from '../api/quantity.js';

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

  /** Each amount becomes the larger of this and `o` (init containers run one at a time). */
  max(o: Resources): void {
    this.milliCpu = Math.max(this.milliCpu, o.milliCpu);
    this.memory = Math.max(this.memory, o.memory);
    this.ephemeralStorage = Math.max(this.ephemeralStorage, o.ephemeralStorage);
    if (o.scalar) for (const [k, v] of o.scalar) this.setScalar(k, Math.max(this.getScalar(k), v));
  }

  getScalar(name: string): number {
    return this.scalar?.get(name) ?? 0;
  }

  setScalar(name: string, value: number): void {
    (this.scalar ??= new Map()).set(name, value);
  }

  clone(): Resources {
    const r = new Resources();
    r.add(this);
    return r;
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

function containerRequests(c: Container): { r: Resources; nzCpu: number; nzMem: number } {
  const r = new Resources();
  const req = c.resources?.requests;
  addResourceList(r, req);
  const nzCpu = req && req.cpu !== undefined ? r.milliCpu : DEFAULT_MILLI_CPU_REQUEST;
  const nzMem = req && req.memory !== undefined ? r.memory : DEFAULT_MEMORY_REQUEST;
  return { r, nzCpu, nzMem };
}

/**
 * Kubernetes' effective pod requests: the sum over app containers plus restartable init containers
 * (sidecars, which keep running), or the largest single init container plus the sidecars started before
 * it, whichever is larger per resource; then pod overhead. Containers without requests count 0 for fit.
 */
export function podRequests(spec: PodSpec): PodRequests {
  const requests = new Resources();
  let nzCpu = 0;
  let nzMem = 0;
  for (const c of spec.containers ?? []) {
    const x = containerRequests(c);
    requests.add(x.r);
    nzCpu += x.nzCpu;
    nzMem += x.nzMem;
  }
  if (spec.initContainers?.length) {
    const sidecars = new Resources();
    let sideCpu = 0;
    let sideMem = 0;
    const initMax = new Resources();
    let initCpu = 0;
    let initMem = 0;
    for (const c of spec.initContainers) {
      const x = containerRequests(c);
      if (c.restartPolicy === 'Always') {
        sidecars.add(x.r);
        sideCpu += x.nzCpu;
        sideMem += x.nzMem;
        initMax.max(sidecars);
        initCpu = Math.max(initCpu, sideCpu);
        initMem = Math.max(initMem, sideMem);
      } else {
        const withSidecars = x.r.clone();
        withSidecars.add(sidecars);
        initMax.max(withSidecars);
        initCpu = Math.max(initCpu, x.nzCpu + sideCpu);
        initMem = Math.max(initMem, x.nzMem + sideMem);
      }
    }
    requests.add(sidecars);
    nzCpu += sideCpu;
    nzMem += sideMem;
    requests.max(initMax);
    nzCpu = Math.max(nzCpu, initCpu);
    nzMem = Math.max(nzMem, initMem);
  }
  if (spec.overhead) {
    const o = new Resources();
    addResourceList(o, spec.overhead);
    requests.add(o);
    nzCpu += o.milliCpu;
    nzMem += o.memory;
  }
  return { requests, nonZeroMilliCpu: nzCpu, nonZeroMemory: nzMem };
}
