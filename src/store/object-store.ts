import type { KubeObject } from '../api/meta.js';
import { NubisError, isNubisError } from '../lib/errors.js';
import type { FieldSelector } from './field-selector.js';
import type { LabelSelector } from './label-selector.js';

/**
 * The object store under the API server: Kubernetes-style JSON objects keyed by (resource, namespace,
 * name), versioned by one store-wide revision, with optimistic concurrency, consistent paginated lists
 * and watches that resume from any revision not yet compacted.
 *
 * Backends: sqlite/ (embedded default) and etcd/ (several API servers, HA). Both pass conformance.ts.
 */
export interface ObjectStore {
  /**
   * Stores a new object. Sets metadata.uid (unless given), creationTimestamp, generation 1 and
   * resourceVersion; a resourceVersion passed in must be empty. AlreadyExists if the key is taken.
   */
  create<T extends KubeObject>(resource: ResourceRef, obj: T): Promise<T>;

  /** The current object. NotFound if absent. */
  get<T extends KubeObject>(resource: ResourceRef, key: ObjectKey): Promise<T>;

  /** Objects in key order (namespace, then name), one consistent snapshot across all pages. */
  list<T extends KubeObject>(resource: ResourceRef, options?: ListOptions): Promise<ListResult<T>>;

  /**
   * Replaces an existing object. With metadata.resourceVersion set, the write succeeds only if it is
   * still the stored one (Conflict otherwise); without it the write is unconditional. metadata.uid, if
   * given, must match (Conflict). uid and creationTimestamp are kept from the stored object;
   * generation increases when `spec` changed. NotFound if absent.
   */
  update<T extends KubeObject>(resource: ResourceRef, obj: T): Promise<T>;

  /**
   * Removes an object and returns its last state, whose resourceVersion is the revision of the delete.
   * Preconditions on resourceVersion or uid fail with Conflict. NotFound if absent.
   */
  delete<T extends KubeObject>(resource: ResourceRef, key: ObjectKey, preconditions?: Preconditions): Promise<T>;

  /**
   * Events after `options.resourceVersion` (exclusive; absent = from now) in revision order, without
   * gaps or duplicates, until the signal aborts (the iteration then ends normally) or the store closes.
   * A revision already compacted fails with ExpiredError, at the call or, for a watcher that fell
   * behind a compaction, during iteration. Event objects are shared and frozen: copy before changing.
   */
  watch(resource: ResourceRef, options: WatchOptions): Promise<AsyncIterable<WatchEvent>>;

  /** Drops the history before `revision`: reads and watches from earlier revisions become Expired. */
  compact(revision: string): Promise<void>;

  /** The latest revision of the whole store. */
  currentRevision(): Promise<string>;

  /** Ends all watches and releases the backend. */
  close(): Promise<void>;
}

/** Which collection an object belongs to: `{ group: 'apps', resource: 'deployments' }`; core group is ''. */
export interface ResourceRef {
  group?: string;
  resource: string;
}

/** Where an object lives inside its resource; `namespace` is absent for cluster-scoped resources. */
export interface ObjectKey {
  namespace?: string;
  name: string;
}

export interface Preconditions {
  resourceVersion?: string;
  uid?: string;
}

export interface ListOptions {
  /** Only this namespace (absent: all namespaces, or a cluster-scoped resource). */
  namespace?: string;
  labelSelector?: LabelSelector;
  fieldSelector?: FieldSelector;
  /** At most this many items per page; the rest is reached with `continue`. */
  limit?: number;
  /** The token of the previous page; it pins the snapshot revision. Expired once compacted. */
  continue?: string;
  /** Read exactly at this revision instead of the latest (Expired if compacted, Timeout if future). */
  resourceVersion?: string;
}

export interface ListResult<T extends KubeObject = KubeObject> {
  items: T[];
  /** The snapshot revision the whole list (all pages) reflects. */
  resourceVersion: string;
  /** Present when more items may follow. */
  continue?: string;
}

export interface WatchOptions {
  /** Deliver events with revisions greater than this one. Absent: events from now on. */
  resourceVersion?: string;
  namespace?: string;
  labelSelector?: LabelSelector;
  fieldSelector?: FieldSelector;
  signal?: AbortSignal;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';

/**
 * One change. With selectors, an object that starts matching arrives as ADDED and one that stops
 * matching as DELETED (its previous content at the new resourceVersion), as Kubernetes does.
 */
export interface WatchEvent<T extends KubeObject = KubeObject> {
  type: WatchEventType;
  object: T;
}

/**
 * The answer for a revision that compaction already dropped (a watch, a continue token or a list at a
 * revision): the API server turns it into 410 Gone with reason Expired. The closed code set has no
 * "gone", so this is a Conflict (the client's view is stale) told apart by `reason`.
 */
export class ExpiredError extends NubisError {
  readonly reason = 'Expired' as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super('Conflict', message, options);
  }
}

export function isExpired(err: unknown): err is ExpiredError {
  return isNubisError(err, 'Conflict') && (err as Partial<ExpiredError>).reason === 'Expired';
}

/** The name Kubernetes gives a resource in messages: `pods`, `deployments.apps`. */
export function qualifiedResource(resource: ResourceRef): string {
  return resource.group ? `${resource.resource}.${resource.group}` : resource.resource;
}
