/**
 * Server-side apply (PATCH with application/apply-patch+yaml) on a resource or its status: the body is
 * the manager's full intent; api/apply.ts merges it into the live object, moves field ownership in
 * metadata.managedFields and reports conflicts with other managers (409 with one cause per field)
 * unless `force=true`. Applying to an object that does not exist creates it (201). A write conflict with
 * a concurrent writer is retried on the fresh object, as kube-apiserver does.
 */
import { serverSideApply, type ApplyOptions } from '../api/apply.js';
import type { Schema } from '../api/schema.js';
import type { KubeObject } from '../api/meta.js';
import { conflict, isNubisError } from '../lib/errors.js';
import { asObject } from './http-io.js';
import { apiVersion, notFoundStatus, refOf, storeError, type WriteOptions } from './object-ops.js';
import { sendObject, type ApiRequest, type HandlerDeps } from './api-request.js';
import { fieldManagerParam } from './query.js';
import { forbiddenMessage } from './authz/authorizer.js';
import { ApiError, badRequest } from './status.js';

function invalidPatchOptions(field: string, type: 'FieldValueRequired' | 'FieldValueForbidden' | 'FieldValueInvalid', detail: string): ApiError {
  return new ApiError('Invalid', `PatchOptions.meta.k8s.io "" is invalid: ${field}: ${detail}`, {
    group: 'meta.k8s.io',
    kind: 'PatchOptions',
    causes: [{ reason: type, message: detail, field }],
  });
}

/** The `force` parameter: only apply patches may carry it. */
export function forceParam(q: URLSearchParams, apply: boolean): boolean {
  const v = q.get('force');
  if (v === null || v === '') return false;
  if (!apply) throw invalidPatchOptions('force', 'FieldValueForbidden', 'Forbidden: may not be specified for non-apply patch');
  if (v !== 'true' && v !== 'false') throw badRequest(`force must be true or false, not "${v.slice(0, 20)}"`);
  return v === 'true';
}

/** Checks the applied configuration names this kind and object, and fills in what it left out. */
function appliedObject(r: ApiRequest, deps: HandlerDeps, doc: unknown): KubeObject {
  const t = r.type;
  const body = asObject(doc, 'the apply configuration');
  const av = apiVersion(t);
  if (typeof body.apiVersion !== 'string' || body.apiVersion === '') throw badRequest('the apply configuration must set apiVersion');
  if (body.apiVersion !== av) {
    throw badRequest(`Incorrect version specified in apply patch. Specified patch version: ${body.apiVersion.slice(0, 100)}, expected: ${av}`);
  }
  if (typeof body.kind !== 'string' || body.kind === '') throw badRequest('the apply configuration must set kind');
  const applied = deps.ops.checkKind(t, body);
  const meta = applied.metadata;
  const name = r.info.name!;
  if (meta.name !== undefined && meta.name !== name) {
    throw badRequest(`the name of the object (${String(meta.name).slice(0, 253)}) does not match the name on the URL (${name})`);
  }
  meta.name = name;
  if (t.namespaced) {
    if (meta.namespace !== undefined && meta.namespace !== '' && meta.namespace !== r.info.namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    meta.namespace = r.info.namespace;
  } else delete meta.namespace;
  delete meta.managedFields;
  return applied;
}

/** serverSideApply on a copy of the configuration; one it cannot merge (a list item without its key) is a 400. */
function merge(current: KubeObject | undefined, applied: KubeObject, schema: Schema, options: ApplyOptions): KubeObject {
  try {
    return serverSideApply(current, structuredClone(applied), schema, options);
  } catch (err) {
    if (isNubisError(err, 'Invalid')) throw badRequest(`failed to create typed patch object: ${err.message}`, err);
    throw err;
  }
}

export async function handleApply(r: ApiRequest, deps: HandlerDeps, subresource: 'status' | undefined, doc: unknown, opts: WriteOptions): Promise<void> {
  const t = r.type;
  const fieldManager = fieldManagerParam(r.query);
  if (fieldManager === undefined) throw invalidPatchOptions('fieldManager', 'FieldValueRequired', 'Required value: is required for apply patch');
  const force = forceParam(r.query, true);
  const applied = appliedObject(r, deps, doc);
  deps.ops.checkFields(t, applied, opts);
  const wantedRv = applied.metadata.resourceVersion;
  delete applied.metadata.resourceVersion;
  const applyOpts = { fieldManager, force, apiVersion: apiVersion(t), subresource };
  const key = { namespace: t.namespaced ? r.info.namespace : undefined, name: r.info.name! };
  for (let attempt = 0; ; attempt++) {
    let current: KubeObject | undefined;
    try {
      current = await deps.ops.store.get(refOf(t), key);
    } catch (err) {
      if (!isNubisError(err, 'NotFound')) throw err;
    }
    try {
      if (!current) {
        if (subresource || wantedRv) throw notFoundStatus(t, key.name);
        // An apply that creates is a create: the user must be allowed that too, not only patch.
        const create = { user: r.user, verb: 'create', group: t.group, resource: t.resource, namespace: key.namespace };
        const d = await deps.authorizer.authorize(create);
        if (d.decision !== 'allow') throw new ApiError('Forbidden', forbiddenMessage(create, d.reason), { name: key.name, group: t.group, kind: t.resource });
        const created = merge(undefined, applied, t.schema, applyOpts);
        const saved = await deps.ops.create(t, r.info.namespace, created as unknown as Record<string, unknown>, { ...opts, tracked: true });
        return sendObject(r, 201, saved, opts.warnings);
      }
      if (wantedRv && wantedRv !== current.metadata.resourceVersion) throw storeError(t, key.name, conflict('stale resourceVersion'));
      const next = merge(current, applied, t.schema, applyOpts);
      next.metadata.resourceVersion = current.metadata.resourceVersion;
      const saved = await deps.ops.replace(t, current, next, { ...opts, subresource, tracked: true });
      return sendObject(r, 200, saved, opts.warnings);
    } catch (err) {
      const retry = err instanceof ApiError && (err.reason === 'Conflict' || err.reason === 'AlreadyExists') && !wantedRv && attempt < 5;
      if (retry) continue;
      throw err;
    }
  }
}
