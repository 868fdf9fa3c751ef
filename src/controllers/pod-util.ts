/** What several controllers ask of pods: are they active, ready, available; pods from templates. */
import type { Pod, PodTemplateSpec } from '../api/core/v1/pod-types.js';
import type { KubeObject, OwnerReference } from '../api/meta.js';

/** Not finished and not being deleted: counts toward a controller's replicas. */
export function isPodActive(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed' && !pod.metadata.deletionTimestamp;
}

export function isPodTerminal(pod: Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

function readyCondition(pod: Pod) {
  return pod.status?.conditions?.find((c) => c.type === 'Ready');
}

export function isPodReady(pod: Pod): boolean {
  return readyCondition(pod)?.status === 'True';
}

/**
 * Ready for at least `minReadySeconds` at `now` (Kubernetes' IsPodAvailable). When not yet, `waitMs`
 * says how long until it will be (so the controller can look again then).
 */
export function podAvailability(pod: Pod, minReadySeconds: number, now = Date.now()): { available: boolean; waitMs?: number } {
  const c = readyCondition(pod);
  if (c?.status !== 'True') return { available: false };
  if (!minReadySeconds) return { available: true };
  const since = c.lastTransitionTime ? Date.parse(c.lastTransitionTime) : NaN;
  if (Number.isNaN(since)) return { available: true };
  const until = since + minReadySeconds * 1000;
  return until <= now ? { available: true } : { available: false, waitMs: until - now + 10 };
}

export function isPodAvailable(pod: Pod, minReadySeconds: number, now = Date.now()): boolean {
  return podAvailability(pod, minReadySeconds, now).available;
}

/** The controlling ownerReference of an object, if any. */
export function controllerRefOf(obj: KubeObject): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((r) => r.controller);
}

/** The ownerReference a controller puts on what it makes: controller=true, blockOwnerDeletion=true. */
export function newControllerRef(owner: KubeObject): OwnerReference {
  return { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name, uid: owner.metadata.uid!, controller: true, blockOwnerDeletion: true };
}

/** A pod to create from a template, owned by `owner`, named `<prefix>-<random>` by the server. */
export function podFromTemplate(template: PodTemplateSpec, owner: KubeObject, extra: { labels?: Record<string, string>; namePrefix?: string; nodeName?: string; finalizers?: string[] } = {}): Pod {
  const meta = template.metadata ?? {};
  const spec = structuredClone(template.spec);
  if (extra.nodeName) spec.nodeName = extra.nodeName;
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: '',
      generateName: `${extra.namePrefix ?? owner.metadata.name}-`,
      namespace: owner.metadata.namespace,
      labels: { ...(meta.labels ?? {}), ...(extra.labels ?? {}) },
      ownerReferences: [newControllerRef(owner)],
    },
    spec,
  };
  if (meta.annotations && Object.keys(meta.annotations).length) pod.metadata.annotations = { ...meta.annotations };
  if (extra.finalizers?.length) pod.metadata.finalizers = [...extra.finalizers];
  delete (pod.metadata as { name?: string }).name;
  return pod;
}

/** `namespace/name` of an object. */
export function keyOf(obj: Pick<KubeObject, 'metadata'>): string {
  return obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : obj.metadata.name;
}

/** Splits a `namespace/name` key. */
export function splitKey(key: string): { namespace: string | undefined; name: string } {
  const slash = key.indexOf('/');
  return slash < 0 ? { namespace: undefined, name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

const PHASE_RANK: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

/**
 * Kubernetes' order of pods to delete when scaling down, best candidates first: not yet on a node,
 * then pending before unknown before running, not ready before ready, ready for less time, more
 * container restarts, newer.
 */
export function compareForDeletion(a: Pod, b: Pod): number {
  const assigned = (p: Pod) => (p.spec.nodeName ? 1 : 0);
  if (assigned(a) !== assigned(b)) return assigned(a) - assigned(b);
  const phase = (p: Pod) => PHASE_RANK[p.status?.phase ?? 'Pending'] ?? 0;
  if (phase(a) !== phase(b)) return phase(a) - phase(b);
  const ready = (p: Pod) => (isPodReady(p) ? 1 : 0);
  if (ready(a) !== ready(b)) return ready(a) - ready(b);
  const readySince = (p: Pod) => Date.parse(readyCondition(p)?.lastTransitionTime ?? '') || 0;
  if (ready(a) && readySince(a) !== readySince(b)) return readySince(b) - readySince(a);
  const restarts = (p: Pod) => (p.status?.containerStatuses ?? []).reduce((n, c) => n + (c.restartCount ?? 0), 0);
  if (restarts(a) !== restarts(b)) return restarts(b) - restarts(a);
  const created = (p: Pod) => Date.parse(p.metadata.creationTimestamp ?? '') || 0;
  return created(b) - created(a);
}
