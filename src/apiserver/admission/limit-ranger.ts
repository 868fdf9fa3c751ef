/**
 * LimitRanger: the LimitRanges of a namespace give new pods' containers the requests and limits they
 * leave out (defaultRequest, default), then hold containers, pods and claims to min, max and
 * maxLimitRequestRatio, refusing with Kubernetes' words (`minimum cpu usage per Container is 100m, but
 * request is 50m`). Pods are judged when created (their resources cannot change afterwards), claims when
 * created or resized.
 */
import type { LimitRange, LimitRangeItem } from '../../api/core/v1/limit-range.js';
import { qosClass } from '../../api/core/v1/pod-defaults.js';
import { podResources, resourceList, type ResourceList } from '../../api/core/v1/pod-resources.js';
import type { Container, Pod } from '../../api/core/v1/pod-types.js';
import type { KubeObject } from '../../api/meta.js';
import { Quantity } from '../../api/quantity.js';
import type { ObjectStore } from '../../store/object-store.js';
import { ApiError } from '../status.js';
import { forbiddenBy, type AdmissionPlugin, type AdmissionRequest } from './admission.js';

export const LIMIT_RANGER_ANNOTATION = 'kubernetes.io/limit-ranger';

type Containers = Array<[Container, 'container' | 'init container']>;
const containersOf = (pod: Pod): Containers => [
  ...(pod.spec?.containers ?? []).map((c) => [c, 'container'] as [Container, 'container']),
  ...(pod.spec?.initContainers ?? []).map((c) => [c, 'init container'] as [Container, 'init container']),
];

/**
 * Fills what each container leaves out from the ranges' Container defaults (the first range that sets a
 * value wins) and records what was set in the kubernetes.io/limit-ranger annotation. True when anything changed.
 */
export function applyLimitDefaults(pod: Pod, ranges: LimitRange[]): boolean {
  let changed = false;
  for (const range of ranges) {
    const items = (range.spec?.limits ?? []).filter((l) => l.type === 'Container');
    const requests = Object.assign({}, ...items.map((l) => l.defaultRequest ?? {})) as Record<string, string>;
    const limits = Object.assign({}, ...items.map((l) => l.default ?? {})) as Record<string, string>;
    const notes: string[] = [];
    for (const [c, what] of containersOf(pod)) {
      if (!c || typeof c !== 'object') continue;
      const res = c.resources ?? {};
      const setLimits = Object.keys(limits).filter((k) => res.limits?.[k] === undefined).sort();
      const setRequests = Object.keys(requests).filter((k) => res.requests?.[k] === undefined).sort();
      if (setLimits.length) res.limits = { ...res.limits, ...Object.fromEntries(setLimits.map((k) => [k, limits[k]!])) };
      if (setRequests.length) res.requests = { ...res.requests, ...Object.fromEntries(setRequests.map((k) => [k, requests[k]!])) };
      if (setLimits.length || setRequests.length) c.resources = res;
      if (setRequests.length) notes.push(`${setRequests.join(', ')} request for ${what} ${c.name}`);
      if (setLimits.length) notes.push(`${setLimits.join(', ')} limit for ${what} ${c.name}`);
    }
    if (notes.length === 0) continue;
    pod.metadata.annotations = { ...pod.metadata.annotations, [LIMIT_RANGER_ANNOTATION]: `LimitRanger plugin set: ${notes.join('; ')}` };
    changed = true;
  }
  return changed;
}

const q = (v: Quantity | undefined) => (v ?? Quantity.ZERO).milliValue();

function minConstraint(type: string, name: string, enforced: Quantity, requests: ResourceList, limits: ResourceList): string | undefined {
  const [req, lim] = [requests[name], limits[name]];
  if (!req) return `minimum ${name} usage per ${type} is ${enforced}.  No request is specified`;
  if (q(req) < q(enforced)) return `minimum ${name} usage per ${type} is ${enforced}, but request is ${req}`;
  if (lim && q(lim) < q(enforced)) return `minimum ${name} usage per ${type} is ${enforced}, but limit is ${lim}`;
  return undefined;
}

function maxConstraint(type: string, name: string, enforced: Quantity, requests: ResourceList, limits: ResourceList): string | undefined {
  const [req, lim] = [requests[name], limits[name]];
  if (!lim) return `maximum ${name} usage per ${type} is ${enforced}.  No limit is specified`;
  if (q(lim) > q(enforced)) return `maximum ${name} usage per ${type} is ${enforced}, but limit is ${lim}`;
  if (req && q(req) > q(enforced)) return `maximum ${name} usage per ${type} is ${enforced}, but request is ${req}`;
  return undefined;
}

function maxRequestConstraint(type: string, name: string, enforced: Quantity, requests: ResourceList): string | undefined {
  const req = requests[name];
  if (!req) return `maximum ${name} usage per ${type} is ${enforced}.  No request is specified`;
  if (q(req) > q(enforced)) return `maximum ${name} usage per ${type} is ${enforced}, but request is ${req}`;
  return undefined;
}

function ratioConstraint(type: string, name: string, enforced: Quantity, requests: ResourceList, limits: ResourceList): string | undefined {
  const [req, lim] = [q(requests[name]), q(limits[name])];
  if (req === 0n) return `${name} max limit to request ratio per ${type} is ${enforced}, but no request is specified or request is 0`;
  if (lim === 0n) return `${name} max limit to request ratio per ${type} is ${enforced}, but no limit is specified or limit is 0`;
  const ratio = Number(lim) / Number(req);
  if (ratio * 1000 > Number(q(enforced))) return `${name} max limit to request ratio per ${type} is ${enforced}, but provided ratio is ${ratio.toFixed(6)}`;
  return undefined;
}

/** min, max and ratio of one item over one set of requests and limits. */
function itemViolations(item: LimitRangeItem, requests: ResourceList, limits: ResourceList): string[] {
  const out: Array<string | undefined> = [];
  const each = (m: Record<string, unknown> | undefined, f: (name: string, enforced: Quantity) => string | undefined) => {
    for (const [name, enforced] of Object.entries(resourceList(m))) out.push(f(name, enforced));
  };
  each(item.min, (n, e) => minConstraint(item.type, n, e, requests, limits));
  each(item.max, (n, e) => maxConstraint(item.type, n, e, requests, limits));
  each(item.maxLimitRequestRatio, (n, e) => ratioConstraint(item.type, n, e, requests, limits));
  return out.filter((m): m is string => m !== undefined);
}

/** What a pod breaks of one LimitRange: each container against Container items, the whole pod against Pod items. */
export function podLimitViolations(pod: Pod, range: LimitRange): string[] {
  const out: string[] = [];
  for (const item of range.spec?.limits ?? []) {
    if (item.type === 'Container') {
      for (const [c] of containersOf(pod)) out.push(...itemViolations(item, resourceList(c?.resources?.requests), resourceList(c?.resources?.limits)));
    } else if (item.type === 'Pod') {
      out.push(...itemViolations(item, podResources(pod.spec, 'requests', { overhead: false }), podResources(pod.spec, 'limits', { overhead: false })));
    }
  }
  return out;
}

/** What a claim breaks of one LimitRange: its storage request against min and max (limits are not user input). */
export function claimLimitViolations(claim: KubeObject, range: LimitRange): string[] {
  const requests = resourceList((claim.spec as { resources?: { requests?: Record<string, unknown> } } | undefined)?.resources?.requests);
  const out: Array<string | undefined> = [];
  for (const item of range.spec?.limits ?? []) {
    if (item.type !== 'PersistentVolumeClaim') continue;
    for (const [name, enforced] of Object.entries(resourceList(item.min))) out.push(minConstraint(item.type, name, enforced, requests, {}));
    for (const [name, enforced] of Object.entries(resourceList(item.max))) out.push(maxRequestConstraint(item.type, name, enforced, requests));
  }
  return out.filter((m): m is string => m !== undefined);
}

/** `a` alone, or `[a, b]` (Kubernetes' aggregate error). */
const aggregate = (errors: string[]): string => (errors.length === 1 ? errors[0]! : `[${errors.join(', ')}]`);

export class LimitRanger implements AdmissionPlugin {
  readonly name = 'LimitRanger';

  constructor(private readonly store: ObjectStore) {}

  /** Pods when created, claims when created or updated; never subresources or objects being deleted. */
  private applies(r: AdmissionRequest): boolean {
    if (r.subresource || !r.object || !r.namespace || r.type.group !== '') return false;
    if (r.oldObject?.metadata.deletionTimestamp) return false;
    if (r.type.resource === 'pods') return r.operation === 'CREATE';
    return r.type.resource === 'persistentvolumeclaims' && (r.operation === 'CREATE' || r.operation === 'UPDATE');
  }

  private async ranges(namespace: string): Promise<LimitRange[]> {
    return (await this.store.list({ resource: 'limitranges' }, { namespace })).items as LimitRange[];
  }

  async mutate(r: AdmissionRequest): Promise<void> {
    if (!this.applies(r) || r.type.resource !== 'pods') return;
    const pod = r.object as Pod;
    if (!pod.spec || typeof pod.spec !== 'object') return;
    const ranges = await this.ranges(r.namespace!);
    // The QoS class was set by defaulting, before the defaults above existed (Kubernetes sets it after admission).
    if (applyLimitDefaults(pod, ranges) && pod.status && typeof pod.status === 'object') pod.status.qosClass = qosClass(pod.spec);
  }

  async validate(r: AdmissionRequest): Promise<void> {
    if (!this.applies(r)) return;
    for (const range of await this.ranges(r.namespace!)) {
      const errors = r.type.resource === 'pods' ? podLimitViolations(r.object as Pod, range) : claimLimitViolations(r.object!, range);
      if (errors.length > 0) throw new ApiError('Forbidden', forbiddenBy(r, aggregate(errors)), { name: r.name, group: r.type.group, kind: r.type.resource });
    }
  }
}
