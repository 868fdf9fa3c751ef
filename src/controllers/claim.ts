/**
 * Adoption and release by selector (Kubernetes' ControllerRefManager): an owner claims the objects of its
 * namespace that its selector matches and that have no controller, and lets go of those it controls that
 * its selector no longer matches. Both are JSON patches guarded by `test` on the object's uid (and the
 * ownerReference's position), so a concurrent change makes the patch fail instead of doing harm.
 */
import type { LabelSelectorSpec } from '../api/meta.js';
import type { KubeObject } from '../api/meta.js';
import { selectorMatches } from '../api/validation.js';
import type { ResourceInfo, RestClient } from '../client/rest-client.js';
import { isNubisError } from '../lib/errors.js';
import { controllerRefOf, newControllerRef } from './pod-util.js';

export interface ClaimOptions<T extends KubeObject> {
  client: RestClient;
  resource: ResourceInfo;
  owner: KubeObject;
  selector: LabelSelectorSpec;
  /** Objects of the owner's namespace that might be claimed (controlled by it, or matching). */
  candidates: T[];
  /** Checks, uncached, that the owner still exists and is not being deleted before adopting. */
  canAdopt?: () => Promise<boolean>;
}

/** The objects the owner controls after adopting and releasing; patched objects are returned as saved. */
export async function claimObjects<T extends KubeObject>(o: ClaimOptions<T>): Promise<T[]> {
  const uid = o.owner.metadata.uid!;
  const claimed: T[] = [];
  let adoptable: boolean | undefined;
  for (const obj of o.candidates) {
    const ref = controllerRefOf(obj);
    const matches = selectorMatches(o.selector, obj.metadata.labels ?? {});
    if (ref) {
      if (ref.uid !== uid) continue;
      if (matches || o.owner.metadata.deletionTimestamp) {
        claimed.push(obj);
        continue;
      }
      if (obj.metadata.deletionTimestamp) continue;
      await release(o, obj);
      continue;
    }
    if (!matches || obj.metadata.deletionTimestamp || o.owner.metadata.deletionTimestamp) continue;
    adoptable ??= o.canAdopt ? await o.canAdopt() : true;
    if (!adoptable) continue;
    const saved = await adopt(o, obj);
    if (saved) claimed.push(saved);
  }
  return claimed;
}

async function adopt<T extends KubeObject>(o: ClaimOptions<T>, obj: T): Promise<T | undefined> {
  const refs = obj.metadata.ownerReferences;
  const ref = newControllerRef(o.owner);
  const patch = [
    { op: 'test', path: '/metadata/uid', value: obj.metadata.uid },
    refs ? { op: 'add', path: '/metadata/ownerReferences/-', value: ref } : { op: 'add', path: '/metadata/ownerReferences', value: [ref] },
  ];
  try {
    return await o.client.patch<T>(o.resource, obj.metadata.name, patch, 'json', { namespace: obj.metadata.namespace });
  } catch (err) {
    if (isNubisError(err, 'NotFound') || isNubisError(err, 'Invalid') || isNubisError(err, 'Conflict')) return undefined;
    throw err;
  }
}

async function release<T extends KubeObject>(o: ClaimOptions<T>, obj: T): Promise<void> {
  const refs = obj.metadata.ownerReferences ?? [];
  const i = refs.findIndex((r) => r.uid === o.owner.metadata.uid);
  if (i < 0) return;
  const patch = [
    { op: 'test', path: '/metadata/uid', value: obj.metadata.uid },
    { op: 'test', path: `/metadata/ownerReferences/${i}/uid`, value: o.owner.metadata.uid },
    { op: 'remove', path: `/metadata/ownerReferences/${i}` },
  ];
  try {
    await o.client.patch(o.resource, obj.metadata.name, patch, 'json', { namespace: obj.metadata.namespace });
  } catch (err) {
    if (isNubisError(err, 'NotFound') || isNubisError(err, 'Invalid') || isNubisError(err, 'Conflict')) return;
    throw err;
  }
}

/** A `canAdopt` that re-reads the owner from the server once (Kubernetes' RecheckDeletionTimestamp). */
export function recheckOwner(client: RestClient, resource: ResourceInfo, owner: KubeObject): () => Promise<boolean> {
  return async () => {
    try {
      const fresh = await client.get(resource, owner.metadata.name, { namespace: owner.metadata.namespace });
      return fresh.metadata.uid === owner.metadata.uid && !fresh.metadata.deletionTimestamp;
    } catch (err) {
      if (isNubisError(err, 'NotFound')) return false;
      throw err;
    }
  };
}
