/** Adapter from the PATCH handler to the patch algorithms of api/patch.ts. */
import type { KubeObject } from '../api/meta.js';
import type { ResourceType } from '../api/registry.js';
import { ApiError } from './status.js';

export type PatchKind = 'merge' | 'strategic' | 'json' | 'apply';

/** Applies a patch document of the given kind to `target` (a copy the caller owns). */
export function applyPatchDocument(kind: PatchKind, _type: ResourceType | undefined, _target: KubeObject, _patch: unknown, _forCreate = false): unknown {
  throw new ApiError('UnsupportedMediaType', `${kind} patches are not supported yet`);
}
