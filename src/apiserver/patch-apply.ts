/** Adapter from the PATCH handler to the patch algorithms of api/patch.ts. */
import type { KubeObject } from '../api/meta.js';
import { jsonMergePatch, jsonPatch, strategicMergePatch } from '../api/patch.js';
import type { ResourceType } from '../api/registry.js';
import { isNubisError } from '../lib/errors.js';
import { ApiError, badRequest } from './status.js';

export type PatchKind = 'merge' | 'strategic' | 'json' | 'apply';

/**
 * Applies a patch document of the given kind to `target`. Strategic merge patches follow the kind's
 * patch metadata; without a kind (the Scale subresource) they act as JSON merge patches. A patch that
 * cannot apply is a 400 with the algorithm's message.
 */
export function applyPatchDocument(kind: PatchKind, type: ResourceType | undefined, target: KubeObject, patch: unknown): unknown {
  try {
    switch (kind) {
      case 'merge':
        return jsonMergePatch(target, patch);
      case 'strategic':
        if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) throw badRequest('a strategic merge patch must be a JSON object');
        return strategicMergePatch(target, patch, type?.patchMeta);
      case 'json':
        return jsonPatch(target, patch);
      case 'apply':
        throw new ApiError('UnsupportedMediaType', 'server-side apply is handled by apply-handler.ts, not as a patch document');
    }
  } catch (err) {
    if (isNubisError(err, 'Invalid')) throw badRequest(err.message, err);
    throw err;
  }
}
