/**
 * `apply` as kubectl does it. Client-side: the object's own JSON is kept in the
 * kubectl.kubernetes.io/last-applied-configuration annotation; a missing object is created, an existing
 * one gets the three-way patch of (last applied, file, live). Server-side: one apply PATCH, the server
 * tracks field ownership. The annotation text matches kubectl's byte for byte (sorted keys, Go's HTML
 * escaping, a trailing newline), so kubectl and nubis can take turns applying the same file.
 */
import type { KubeObject } from '../api/meta.js';
import { isNubisError } from '../lib/errors.js';
import type { Discovery } from './discovery.js';
import type { ResourceInfo, RestClient } from './rest-client.js';
import { threeWayMergePatch } from './three-way-patch.js';

export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** JSON as Go's encoding/json writes a map: sorted keys, <, > and & escaped. */
export function goJson(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort((v as Record<string, unknown>)[k])]));
    return v;
  };
  return JSON.stringify(sort(value)).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
}

/** The object with its last-applied annotation set to its own configuration (the annotation excluded). */
export function withLastApplied(obj: KubeObject): KubeObject {
  const copy = structuredClone(obj);
  const annotations = { ...(copy.metadata.annotations ?? {}) };
  delete annotations[LAST_APPLIED];
  copy.metadata.annotations = annotations;
  const text = `${goJson(copy)}\n`;
  copy.metadata.annotations = { ...annotations, [LAST_APPLIED]: text };
  return copy;
}

/** The configuration last applied to a live object, when it has one. */
export function lastAppliedOf(obj: KubeObject): Record<string, unknown> | undefined {
  const text = obj.metadata.annotations?.[LAST_APPLIED];
  if (!text) return undefined;
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export type ApplyOutcome = 'created' | 'configured' | 'unchanged' | 'serverside-applied';

export interface ApplyResult {
  outcome: ApplyOutcome;
  resource: ResourceInfo;
  object: KubeObject;
  /** Set when the live object had no last-applied annotation (kubectl warns). */
  missingAnnotation?: boolean;
}

export interface ApplyOptions {
  /** Namespace for namespaced objects that name none. */
  namespace: string;
  serverSide?: boolean;
  /** Server-side apply: take over conflicting fields. */
  force?: boolean;
  fieldManager?: string;
  dryRun?: boolean;
}

/** Applies one object; the object's metadata.namespace is filled in for namespaced kinds. */
export async function applyObject(client: RestClient, discovery: Discovery, input: KubeObject, opts: ApplyOptions): Promise<ApplyResult> {
  const resource = await discovery.forKind(input.apiVersion, input.kind);
  const obj = structuredClone(input);
  if (resource.namespaced) obj.metadata.namespace = obj.metadata.namespace || opts.namespace;
  else delete obj.metadata.namespace;
  const namespace = obj.metadata.namespace;
  const name = obj.metadata.name;
  if (opts.serverSide) {
    const object = await client.patch(resource, name, JSON.stringify(obj), 'apply', {
      namespace,
      fieldManager: opts.fieldManager ?? 'kubectl',
      force: opts.force,
      dryRun: opts.dryRun,
    });
    return { outcome: 'serverside-applied', resource, object };
  }
  const modified = withLastApplied(obj);
  let live: KubeObject;
  try {
    live = await client.get(resource, name, { namespace });
  } catch (err) {
    if (!isNubisError(err, 'NotFound')) throw err;
    const object = await client.create(resource, modified, { namespace, fieldManager: opts.fieldManager ?? 'kubectl-client-side-apply', dryRun: opts.dryRun });
    return { outcome: 'created', resource, object };
  }
  const original = lastAppliedOf(live);
  const type = discovery.typeOf(resource);
  const patch = threeWayMergePatch(original, modified as unknown as Record<string, unknown>, live as unknown as Record<string, unknown>, type?.patchMeta);
  if (Object.keys(patch).length === 0) return { outcome: 'unchanged', resource, object: live, missingAnnotation: !original };
  const object = await client.patch(resource, name, patch, type ? 'strategic' : 'merge', {
    namespace,
    fieldManager: opts.fieldManager ?? 'kubectl-client-side-apply',
    dryRun: opts.dryRun,
  });
  return { outcome: 'configured', resource, object, missingAnnotation: !original };
}
