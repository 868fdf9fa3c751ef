/**
 * What objects use of quota resources, as Kubernetes' quota evaluators count it (pkg/quota/v1/evaluator):
 * pods (compute, `pods` while not ended, `count/pods` while stored), Services (node ports, load
 * balancers), PersistentVolumeClaims (storage, per storage class), and `count/<resource>.<group>` object
 * counts of any kind; which quotas an object falls under (scopes); and the checks admission makes with
 * Kubernetes' wording ("exceeded quota", "must specify"). ResourceQuota admission, the quota controller
 * and tenant quotas all count with this.
 */
import type { KubeObject } from '../../meta.js';
import { Quantity } from '../../quantity.js';
import { qosClass } from './pod-defaults.js';
import { addResources, podResources, resourceList, type ResourceList } from './pod-resources.js';
import type { Pod } from './pod-types.js';
import { isExtendedResourceName } from './resource-names.js';

export type { ResourceList } from './pod-resources.js';

export interface GroupResource {
  group: string;
  resource: string;
}

/** One scope a quota applies to: `spec.scopes` entries are `Exists` requirements. */
export interface ScopeRequirement {
  scopeName: string;
  operator: string;
  values?: string[];
}

/** What a quota says about what it counts (ResourceQuota spec, or a Tenant's quota map). */
export interface QuotaSpecLike {
  hard?: Record<string, unknown>;
  scopes?: string[];
  scopeSelector?: { matchExpressions?: ScopeRequirement[] };
}

const ONE = Quantity.of(1);
const POD_RESOURCES = new Set([
  'pods', 'count/pods', 'cpu', 'memory', 'ephemeral-storage', 'requests.cpu', 'requests.memory', 'requests.ephemeral-storage', 'limits.cpu', 'limits.memory', 'limits.ephemeral-storage',
]);
const SERVICE_RESOURCES = new Set(['services', 'count/services', 'services.nodeports', 'services.loadbalancers']);
const PVC_RESOURCES = new Set(['persistentvolumeclaims', 'count/persistentvolumeclaims', 'requests.storage']);
const STORAGE_CLASS = '.storageclass.storage.k8s.io/';
/** Core kinds whose plain name is an object count too (`configmaps` as well as `count/configmaps`). */
const LEGACY_COUNTS = new Set(['configmaps', 'secrets', 'resourcequotas', 'replicationcontrollers']);
/** The compute resources every container must state when a quota limits them. */
const MUST_STATE = new Set(['cpu', 'memory', 'requests.cpu', 'requests.memory', 'limits.cpu', 'limits.memory']);

const isCore = (gr: GroupResource, resource: string) => gr.group === '' && gr.resource === resource;

/** `count/pods`, `count/deployments.apps`. */
export const objectCountName = (gr: GroupResource): string => (gr.group ? `count/${gr.resource}.${gr.group}` : `count/${gr.resource}`);

/** Whether usage of `gr` objects can add to quota resource `name` (Kubernetes' MatchingResources). */
export function tracks(gr: GroupResource, name: string): boolean {
  if (isCore(gr, 'pods')) {
    return POD_RESOURCES.has(name) || name.startsWith('hugepages-') || name.startsWith('requests.hugepages-') || (name.startsWith('requests.') && isExtendedResourceName(name.slice(9)));
  }
  if (isCore(gr, 'services')) return SERVICE_RESOURCES.has(name);
  if (isCore(gr, 'persistentvolumeclaims')) return PVC_RESOURCES.has(name) || (name.includes(STORAGE_CLASS) && /\/(requests\.storage|persistentvolumeclaims)$/.test(name));
  return name === objectCountName(gr) || (gr.group === '' && LEGACY_COUNTS.has(gr.resource) && name === gr.resource);
}

/** The kinds whose objects a quota resource name counts (what the quota controller lists). */
export function resourcesCounted(name: string): GroupResource | undefined {
  if (name.startsWith('count/')) {
    const rest = name.slice('count/'.length);
    const dot = rest.indexOf('.');
    return dot < 0 ? { group: '', resource: rest } : { group: rest.slice(dot + 1), resource: rest.slice(0, dot) };
  }
  for (const resource of ['pods', 'services', 'persistentvolumeclaims', ...LEGACY_COUNTS]) {
    if (tracks({ group: '', resource }, name)) return { group: '', resource };
  }
  return undefined;
}

/** Whether a pod still uses compute quota: not ended, and not past the grace period of its deletion. */
export function podCounts(pod: Pod, now = Date.now()): boolean {
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return false;
  const deleting = pod.metadata.deletionTimestamp;
  return !deleting || Date.parse(deleting) + (pod.metadata.deletionGracePeriodSeconds ?? 0) * 1000 > now;
}

/** One container's (or a pod's) compute usage by quota name (podComputeUsageHelper). */
function computeUsage(requests: ResourceList, limits: ResourceList): ResourceList {
  const out: ResourceList = {};
  for (const [res, q] of Object.entries(requests)) {
    if (res === 'cpu' || res === 'memory' || res === 'ephemeral-storage' || res.startsWith('hugepages-')) out[res] = q;
    if (res === 'cpu' || res === 'memory' || res === 'ephemeral-storage' || res.startsWith('hugepages-') || isExtendedResourceName(res)) out[`requests.${res}`] = q;
  }
  for (const res of ['cpu', 'memory', 'ephemeral-storage']) if (limits[res]) out[`limits.${res}`] = limits[res];
  return out;
}

function podUsage(pod: Pod, now: number): ResourceList {
  if (!podCounts(pod, now)) return { 'count/pods': ONE };
  const spec = pod.spec;
  return { 'count/pods': ONE, pods: ONE, ...computeUsage(podResources(spec, 'requests'), podResources(spec, 'limits')) };
}

function serviceUsage(svc: KubeObject): ResourceList {
  const spec = (svc.spec ?? {}) as { type?: string; ports?: Array<{ nodePort?: number }>; allocateLoadBalancerNodePorts?: boolean };
  const ports = Array.isArray(spec.ports) ? spec.ports : [];
  const out: ResourceList = { services: ONE, 'count/services': ONE };
  if (spec.type === 'NodePort') out['services.nodeports'] = Quantity.of(ports.length);
  if (spec.type === 'LoadBalancer') {
    const counted = spec.allocateLoadBalancerNodePorts === false ? ports.filter((p) => p?.nodePort).length : ports.length;
    out['services.nodeports'] = Quantity.of(counted);
    out['services.loadbalancers'] = ONE;
  }
  return out;
}

function claimUsage(pvc: KubeObject): ResourceList {
  const spec = (pvc.spec ?? {}) as { storageClassName?: string; resources?: { requests?: Record<string, unknown> } };
  const storage = Quantity.orZero(spec.resources?.requests?.storage);
  const out: ResourceList = { persistentvolumeclaims: ONE, 'count/persistentvolumeclaims': ONE, 'requests.storage': storage };
  if (spec.storageClassName) {
    out[`${spec.storageClassName}${STORAGE_CLASS}requests.storage`] = storage;
    out[`${spec.storageClassName}${STORAGE_CLASS}persistentvolumeclaims`] = ONE;
  }
  return out;
}

/** What one stored (or to be stored) object uses, by quota resource name. */
export function quotaUsage(gr: GroupResource, obj: KubeObject, now = Date.now()): ResourceList {
  if (isCore(gr, 'pods')) return podUsage(obj as Pod, now);
  if (isCore(gr, 'services')) return serviceUsage(obj);
  if (isCore(gr, 'persistentvolumeclaims')) return claimUsage(obj);
  const out: ResourceList = { [objectCountName(gr)]: ONE };
  if (gr.group === '' && LEGACY_COUNTS.has(gr.resource)) out[gr.resource] = ONE;
  return out;
}

/** The scopes of a quota: `spec.scopes` (as Exists) and the scope selector's expressions. */
export function quotaScopes(spec: QuotaSpecLike | undefined): ScopeRequirement[] {
  return [...(spec?.scopes ?? []).map((scopeName) => ({ scopeName, operator: 'Exists' })), ...(spec?.scopeSelector?.matchExpressions ?? [])];
}

function usesCrossNamespaceAffinity(pod: Pod): boolean {
  const affinity = (pod.spec?.affinity ?? {}) as Record<string, { requiredDuringSchedulingIgnoredDuringExecution?: unknown[]; preferredDuringSchedulingIgnoredDuringExecution?: Array<{ podAffinityTerm?: unknown }> } | undefined>;
  for (const kind of ['podAffinity', 'podAntiAffinity']) {
    const a = affinity[kind];
    const terms = [...(a?.requiredDuringSchedulingIgnoredDuringExecution ?? []), ...(a?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((w) => w?.podAffinityTerm)] as Array<{ namespaces?: string[]; namespaceSelector?: unknown } | undefined>;
    if (terms.some((t) => (t?.namespaces?.length ?? 0) > 0 || (t?.namespaceSelector !== undefined && t.namespaceSelector !== null))) return true;
  }
  return false;
}

/** A scope expression on a value that is present (`name`) or absent (undefined), as a label selector would. */
function selects(req: ScopeRequirement, value: string | undefined): boolean {
  switch (req.operator) {
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'In':
      return value !== undefined && (req.values ?? []).includes(value);
    case 'NotIn':
      return value === undefined || !(req.values ?? []).includes(value);
    default:
      return false;
  }
}

/** Whether a pod falls under one scope (Kubernetes' podMatchesScopeFunc). */
function podMatchesScope(pod: Pod, req: ScopeRequirement): boolean {
  const deadline = pod.spec?.activeDeadlineSeconds;
  const terminating = typeof deadline === 'number' && deadline >= 0;
  const bestEffort = qosClass(pod.spec ?? ({} as Pod['spec'])) === 'BestEffort';
  switch (req.scopeName) {
    case 'Terminating':
      return terminating;
    case 'NotTerminating':
      return !terminating;
    case 'BestEffort':
      return bestEffort;
    case 'NotBestEffort':
      return !bestEffort;
    case 'PriorityClass':
      return selects(req, pod.spec?.priorityClassName || undefined);
    case 'CrossNamespacePodAffinity':
      return selects(req, usesCrossNamespaceAffinity(pod) ? 'true' : undefined);
    default:
      return false;
  }
}

/** Whether a quota covers an object: it limits something the object uses, and every scope matches (only pods have scopes). */
export function quotaCovers(spec: QuotaSpecLike | undefined, gr: GroupResource, obj: KubeObject): boolean {
  if (!Object.keys(spec?.hard ?? {}).some((k) => tracks(gr, k))) return false;
  const scopes = quotaScopes(spec);
  if (scopes.length === 0) return true;
  return isCore(gr, 'pods') && scopes.every((s) => podMatchesScope(obj as Pod, s));
}

/**
 * Kubernetes' pod Constraints: a quota on cpu or memory needs every container to state it, or pods
 * without requests would escape it. `must specify requests.cpu for: a,b; limits.memory for: a`.
 */
export function missingCompute(pod: Pod, limited: string[]): string | undefined {
  const required = limited.filter((k) => MUST_STATE.has(k));
  const missing = new Map<string, Set<string>>();
  for (const c of [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])]) {
    const used = computeUsage(resourceList(c?.resources?.requests), resourceList(c?.resources?.limits));
    for (const k of required) if (!used[k]) missing.set(k, (missing.get(k) ?? new Set()).add(c.name));
  }
  if (missing.size === 0) return undefined;
  const parts = [...missing.keys()].sort().map((k) => `${k} for: ${[...missing.get(k)!].sort().join(',')}`);
  return `must specify ${parts.join('; ')}`;
}

/** The entries of `list` whose names are in `keys`. */
export function mask(list: ResourceList, keys: Iterable<string>): ResourceList {
  const out: ResourceList = {};
  for (const k of keys) if (list[k] !== undefined) out[k] = list[k];
  return out;
}

/** a - b, key by key, never below zero (what an update adds). */
export function subtractNonNegative(a: ResourceList, b: ResourceList): ResourceList {
  const out: ResourceList = {};
  for (const [k, v] of Object.entries(a)) {
    const d = v.sub(b[k] ?? Quantity.ZERO);
    out[k] = d.sign() < 0 ? Quantity.ZERO.withFormat(v.format) : d;
  }
  return out;
}

export const isZeroUsage = (list: ResourceList): boolean => Object.values(list).every((q) => q.isZero());

/** `a=1,b=2`, sorted by name (Kubernetes' prettyPrint). */
export function prettyPrint(list: ResourceList): string {
  return Object.keys(list).sort().map((k) => `${k}=${list[k]!.toString()}`).join(',');
}

/**
 * The check of one request against one quota: undefined when `requested` (already limited to what the
 * quota limits) fits beside `used` under `hard`, else Kubernetes' message.
 */
export function exceededQuota(name: string, requested: ResourceList, used: ResourceList, hard: ResourceList): string | undefined {
  const over = Object.keys(requested).filter((k) => hard[k] !== undefined && (used[k] ?? Quantity.ZERO).add(requested[k]!).cmp(hard[k]!) > 0);
  if (over.length === 0) return undefined;
  return `exceeded quota: ${name}, requested: ${prettyPrint(mask(requested, over))}, used: ${prettyPrint(mask(used, over))}, limited: ${prettyPrint(mask(hard, over))}`;
}

/**
 * What objects use together, for the quota resources in `names` (every name present, zero when nothing
 * uses it); `covered` picks the objects a quota applies to.
 */
export function sumUsage(gr: GroupResource, objects: Iterable<KubeObject>, names: string[], covered: (o: KubeObject) => boolean = () => true, now = Date.now()): ResourceList {
  let total: ResourceList = Object.fromEntries(names.filter((n) => tracks(gr, n)).map((n) => [n, Quantity.ZERO]));
  for (const o of objects) if (covered(o)) total = addResources(total, mask(quotaUsage(gr, o, now), names));
  return total;
}

/**
 * What a namespace's objects covered by a quota use of the quota resources in `names` (zero for a name
 * no kind counts); `list` gives the namespace's objects of one kind (one call per kind).
 */
export async function countUsage(spec: QuotaSpecLike | undefined, names: string[], list: (gr: GroupResource) => Promise<KubeObject[]>, now = Date.now()): Promise<ResourceList> {
  const kinds = new Map<string, { gr: GroupResource; names: string[] }>();
  for (const n of names) {
    const gr = resourcesCounted(n);
    if (!gr) continue;
    const key = `${gr.group}/${gr.resource}`;
    kinds.set(key, { gr, names: [...(kinds.get(key)?.names ?? []), n] });
  }
  let used: ResourceList = Object.fromEntries(names.map((n) => [n, Quantity.ZERO]));
  for (const { gr, names: counted } of kinds.values()) used = { ...used, ...sumUsage(gr, await list(gr), counted, (o) => quotaCovers(spec, gr, o), now) };
  return used;
}

/** A ResourceList as quota status holds it: canonical strings, sorted by name. */
export function formatResourceList(list: ResourceList): Record<string, string> {
  return Object.fromEntries(Object.keys(list).sort().map((k) => [k, list[k]!.toString()]));
}
