/**
 * PATCH on resources and their status and scale subresources: JSON merge patch, JSON patch and strategic
 * merge patch (the patch algorithms live in api/patch.ts); server-side apply goes to apply-handler.ts. A patch without a resourceVersion applies to
 * the latest object and is retried on a write conflict, as kube-apiserver does.
 */
import type { KubeObject } from '../api/meta.js';
import { mediaType, parseBody, readBody, sendJson } from './http-io.js';
import { refOf, storeError } from './object-ops.js';
import { writeOptions } from './query.js';
import { sendObject, type ApiRequest, type HandlerDeps } from './api-request.js';
import { ApiError, badRequest } from './status.js';
import { applyScale, scaleOf } from './scale.js';
import { applyPatchDocument, type PatchKind } from './patch-apply.js';
import { forceParam, handleApply } from './apply-handler.js';

const PATCH_TYPES: Record<string, PatchKind> = {
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/json-patch+json': 'json',
  'application/apply-patch+yaml': 'apply',
};

export async function handlePatch(r: ApiRequest, deps: HandlerDeps, subresource: 'status' | 'scale' | undefined): Promise<void> {
  const t = r.type;
  const type = mediaType(r.req.headers['content-type']);
  const kind = PATCH_TYPES[type];
  if (!kind) {
    throw new ApiError('UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${Object.keys(PATCH_TYPES).join(', ')}`);
  }
  const patch = await parseBody(await readBody(r.req), kind === 'apply' ? 'application/yaml' : 'application/json');
  const name = r.info.name!;
  const key = { namespace: t.namespaced ? r.info.namespace : undefined, name };
  const opts = writeOptions(r.query, r.req.headers['user-agent'], r.user);
  if (kind === 'apply') {
    if (subresource === 'scale') throw new ApiError('UnsupportedMediaType', 'server-side apply is not served on the scale subresource; patch it with a merge patch');
    return handleApply(r, deps, subresource, patch, opts);
  }
  forceParam(r.query, false);
  for (let attempt = 0; ; attempt++) {
    let current: KubeObject;
    try {
      current = await deps.ops.store.get(refOf(t), key);
    } catch (err) {
      throw storeError(t, name, err);
    }
    const explicitRv = typeof (patch as { metadata?: { resourceVersion?: unknown } })?.metadata?.resourceVersion === 'string';
    try {
      if (subresource === 'scale') {
        const scale = scaleOf(r, current);
        const patched = applyPatchDocument(kind, undefined, scale, patch);
        return sendJson(r.res, 200, await applyScale(r, deps, patched as unknown as Record<string, unknown>));
      }
      const patched = applyPatchDocument(kind, t, structuredClone(current), patch);
      if (typeof patched !== 'object' || patched === null || Array.isArray(patched)) throw badRequest('the patch made the object something other than a JSON object');
      const p = patched as KubeObject;
      if (typeof p.metadata !== 'object' || p.metadata === null) throw badRequest('the patch removed metadata');
      if (!explicitRv) p.metadata.resourceVersion = current.metadata.resourceVersion;
      const next = deps.ops.checkKind(t, p as unknown as Record<string, unknown>);
      deps.ops.checkFields(t, next, opts);
      const saved = await deps.ops.replace(t, current, next, { ...opts, subresource: subresource === 'status' ? 'status' : undefined });
      return sendObject(r, 200, saved, opts.warnings);
    } catch (err) {
      const conflict = err instanceof ApiError && err.reason === 'Conflict';
      if (conflict && !explicitRv && attempt < 5) continue;
      throw err;
    }
  }
}
