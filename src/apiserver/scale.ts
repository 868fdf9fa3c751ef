/** The scale subresource: an autoscaling/v1 Scale view of objects that declare where replicas live. */
import { recordUpdate } from '../api/apply.js';
import type { KubeObject } from '../api/meta.js';
import { formatLabelSelector, labelSelectorFromSpec } from '../store/label-selector.js';
import type { ApiRequest, HandlerDeps } from './api-request.js';
import { apiVersion, refOf, storeError } from './object-ops.js';
import { writeOptions } from './query.js';
import { ApiError } from './status.js';

function pathParts(path: string): string[] {
  return path.replace(/^\./, '').split('.').filter(Boolean);
}

function readPath(obj: unknown, path: string): unknown {
  let cur = obj;
  for (const p of pathParts(path)) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

function writePath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = pathParts(path);
  let cur = obj;
  for (const p of parts.slice(0, -1)) {
    if (cur[p] === null || typeof cur[p] !== 'object') cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]!] = value;
}

/** The autoscaling/v1 Scale view of an object with a scale subresource. */
export function scaleOf(r: ApiRequest, obj: KubeObject): KubeObject {
  const s = r.type.scale!;
  const sel = readPath(obj, s.labelSelectorPath);
  let selector = '';
  try {
    selector = typeof sel === 'string' ? sel : sel && typeof sel === 'object' ? formatLabelSelector(labelSelectorFromSpec(sel as never)) : '';
  } catch {
    selector = '';
  }
  const m = obj.metadata;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion, creationTimestamp: m.creationTimestamp },
    spec: { replicas: Number(readPath(obj, s.specReplicasPath) ?? 0) },
    status: { replicas: Number(readPath(obj, s.statusReplicasPath) ?? 0), selector },
  };
}

/** Writes a Scale's spec.replicas into the object (optimistic concurrency on the Scale's resourceVersion). */
export async function applyScale(r: ApiRequest, deps: HandlerDeps, scale: Record<string, unknown>): Promise<KubeObject> {
  const t = r.type;
  const replicas = (scale.spec as { replicas?: unknown } | undefined)?.replicas;
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
    throw new ApiError('Invalid', `Scale.autoscaling "${r.info.name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`, {
      name: r.info.name,
      group: 'autoscaling',
      kind: 'Scale',
      causes: [{ reason: 'FieldValueInvalid', message: 'must be greater than or equal to 0', field: 'spec.replicas' }],
    });
  }
  const key = { namespace: r.info.namespace, name: r.info.name! };
  const current = await deps.ops.store.get(refOf(t), key).catch((err) => Promise.reject(storeError(t, key.name, err)));
  const rv = (scale.metadata as { resourceVersion?: unknown } | undefined)?.resourceVersion;
  const next = structuredClone(current) as KubeObject;
  writePath(next as Record<string, unknown>, t.scale!.specReplicasPath, replicas);
  const wanted = typeof rv === 'string' && rv !== '' ? rv : current.metadata.resourceVersion;
  // Scaling to the replicas it has is no write (no new resourceVersion, no watch event).
  if (wanted === current.metadata.resourceVersion && readPath(current, t.scale!.specReplicasPath) === replicas) return scaleOf(r, current);
  next.metadata.resourceVersion = wanted;
  const manager = writeOptions(r.query, r.req.headers['user-agent'], r.user).fieldManager;
  if (manager !== undefined) recordUpdate(current, next, t.schema, { fieldManager: manager, apiVersion: apiVersion(t), subresource: 'scale' });
  const saved = await deps.ops.replace(t, current, next, { user: r.user, subresource: 'scale', tracked: true });
  return scaleOf(r, saved);
}

