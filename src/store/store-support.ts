/** Helpers every ObjectStore backend shares: keys, continue tokens, metadata stamping, preconditions, watch filtering. */
import { randomUUID } from 'node:crypto';
import type { KubeObject } from '../api/meta.js';
import { conflict, invalid } from '../lib/errors.js';
import { type FieldSelector, matchesFields, requiredFieldValue } from './field-selector.js';
import { type LabelSelector, matchesLabels } from './label-selector.js';
import {
  ExpiredError,
  type ObjectKey,
  type Preconditions,
  type ResourceRef,
  type WatchEvent,
  qualifiedResource,
} from './object-store.js';

const SEGMENT = /^[^/\0]{1,253}$/;

function checkSegment(what: string, value: string | undefined): void {
  if (typeof value !== 'string' || !SEGMENT.test(value) || value === '.' || value === '..') {
    throw invalid(`invalid ${what} ${JSON.stringify(value)}: 1 to 253 characters, no "/"`);
  }
}

/** The storage key of an object: `pods/default/web`, `nodes/n1`, `deployments.apps/default/web`. */
export function storageKey(resource: ResourceRef, key: ObjectKey): string {
  checkSegment('resource', resource.resource);
  if (resource.group) checkSegment('group', resource.group);
  checkSegment('name', key.name);
  if (key.namespace !== undefined) checkSegment('namespace', key.namespace);
  const ns = key.namespace === undefined || key.namespace === '' ? '' : `${key.namespace}/`;
  return `${qualifiedResource(resource)}/${ns}${key.name}`;
}

/** The key prefix of a list or watch: the resource, narrowed to a namespace when one is given. */
export function listPrefix(resource: ResourceRef, namespace?: string, fieldSelector?: FieldSelector): string {
  checkSegment('resource', resource.resource);
  if (resource.group) checkSegment('group', resource.group);
  const ns = namespace || (fieldSelector && requiredFieldValue(fieldSelector, 'metadata.namespace'));
  if (ns) checkSegment('namespace', ns);
  return `${qualifiedResource(resource)}/${ns ? `${ns}/` : ''}`;
}

/** The smallest string greater than every string starting with `prefix` (prefixes here end in '/'). */
export function prefixEnd(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

/** An opaque continue token: the snapshot revision and the last key returned. */
export function encodeContinue(revision: number, lastKey: string): string {
  return Buffer.from(JSON.stringify({ v: 1, rv: revision, start: lastKey })).toString('base64url');
}

export function decodeContinue(token: string, prefix: string): { revision: number; lastKey: string } {
  let parsed: { v?: unknown; rv?: unknown; start?: unknown };
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch (err) {
    throw invalid('invalid continue token', err);
  }
  const { v, rv, start } = parsed ?? {};
  if (v !== 1 || !Number.isSafeInteger(rv) || (rv as number) <= 0 || typeof start !== 'string') {
    throw invalid('invalid continue token');
  }
  if (!start.startsWith(prefix)) throw invalid('the continue token belongs to another list');
  return { revision: rv as number, lastKey: start };
}

/** Parses a resourceVersion given by a client: a positive decimal integer, or '0'. */
export function parseRevision(rv: string, what = 'resourceVersion'): number {
  if (!/^\d{1,16}$/.test(rv) || !Number.isSafeInteger(Number(rv))) {
    throw invalid(`invalid ${what} "${rv}": expected a decimal integer`);
  }
  return Number(rv);
}

export function expiredContinue(cause?: unknown): ExpiredError {
  return new ExpiredError(
    'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.',
    { cause },
  );
}

export function expiredRevision(rv: number, compacted?: number, cause?: unknown): ExpiredError {
  return new ExpiredError(`too old resource version: ${rv}${compacted ? ` (${compacted})` : ''}`, { cause });
}

export function describe(resource: ResourceRef, key: ObjectKey): string {
  return `${qualifiedResource(resource)} "${key.namespace ? `${key.namespace}/` : ''}${key.name}"`;
}

export function conflictModified(resource: ResourceRef, key: ObjectKey) {
  return conflict(
    `Operation cannot be fulfilled on ${describe(resource, key)}: the object has been modified; please apply your changes to the latest version and try again`,
  );
}

/** Checks the object's own key against the one it is stored under, and its basic shape. */
export function objectKey(obj: KubeObject): ObjectKey {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw invalid('an object must be a JSON object');
  const meta = obj.metadata;
  if (meta === null || typeof meta !== 'object') throw invalid('metadata is required');
  if (typeof meta.name !== 'string' || meta.name === '') throw invalid('metadata.name is required');
  return meta.namespace ? { namespace: meta.namespace, name: meta.name } : { name: meta.name };
}

/** The object to store on create: a copy with uid, creationTimestamp, generation and resourceVersion set. */
export function stampCreate<T extends KubeObject>(obj: T, revision: number): T {
  if (obj.metadata.resourceVersion) throw invalid('resourceVersion should not be set on objects to be created');
  return {
    ...obj,
    metadata: {
      ...obj.metadata,
      uid: obj.metadata.uid || randomUUID(),
      creationTimestamp: obj.metadata.creationTimestamp || new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      generation: 1,
      resourceVersion: String(revision),
    },
  };
}

/** The object to store on update: identity kept from the stored object, generation bumped on spec changes. */
export function stampUpdate<T extends KubeObject>(stored: KubeObject, obj: T, revision: number): T {
  const specChanged = JSON.stringify(stored.spec) !== JSON.stringify(obj.spec);
  const generation = (stored.metadata.generation ?? 1) + (specChanged ? 1 : 0);
  return {
    ...obj,
    metadata: {
      ...obj.metadata,
      uid: stored.metadata.uid,
      creationTimestamp: stored.metadata.creationTimestamp,
      generation,
      resourceVersion: String(revision),
    },
  };
}

/** Preconditions of an update or delete against the stored object (Conflict when they fail). */
export function checkPreconditions(resource: ResourceRef, key: ObjectKey, stored: KubeObject, pre: Preconditions): void {
  if (pre.uid && pre.uid !== stored.metadata.uid) {
    throw conflict(
      `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${String(stored.metadata.uid)} (${describe(resource, key)})`,
    );
  }
  if (pre.resourceVersion && pre.resourceVersion !== stored.metadata.resourceVersion) {
    throw conflictModified(resource, key);
  }
}

/** Deep-freezes a JSON value in place and returns it. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

export type ChangeKind = 'create' | 'update' | 'delete';

function withRevision(obj: KubeObject, revision: number): KubeObject {
  return { ...obj, metadata: { ...obj.metadata, resourceVersion: String(revision) } };
}

/**
 * Turns raw changes into watch events for one watcher: selectors applied, objects that start or stop
 * matching reported as ADDED or DELETED (Kubernetes' semantics), objects frozen.
 */
export class WatchFilter {
  constructor(
    private readonly labels?: LabelSelector,
    private readonly fields?: FieldSelector,
  ) {}

  matches(obj: KubeObject | undefined): boolean {
    if (!obj) return false;
    if (this.labels && !matchesLabels(this.labels, obj.metadata.labels)) return false;
    if (this.fields && !matchesFields(this.fields, obj)) return false;
    return true;
  }

  /**
   * A change at `revision`: `obj` is the new state (for a delete: the removed object) and `prev` the
   * former state of an update when known. Returns undefined when this watcher should not see it.
   */
  event(kind: ChangeKind, revision: number, obj: KubeObject, prev?: KubeObject): WatchEvent | undefined {
    if (kind === 'delete') return this.matches(obj) ? { type: 'DELETED', object: deepFreeze(withRevision(obj, revision)) } : undefined;
    const now = this.matches(obj);
    if (kind === 'create') return now ? { type: 'ADDED', object: deepFreeze(obj) } : undefined;
    const before = prev === undefined ? now : this.matches(prev);
    if (now) return { type: before ? 'MODIFIED' : 'ADDED', object: deepFreeze(obj) };
    return before && prev ? { type: 'DELETED', object: deepFreeze(withRevision(prev, revision)) } : undefined;
  }
}
