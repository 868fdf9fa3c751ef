/**
 * The semantics of create, update and delete behind the HTTP verbs, shared by the REST handlers, the
 * garbage collector and namespace lifecycle: generateName, defaulting, validation (422 with causes),
 * field validation, status-subresource rules, finalizers and deletion propagation.
 */
import { randomUUID } from 'node:crypto';
import type { Service } from '../api/core/v1/service.js';
import type { KubeObject } from '../api/meta.js';
import type { FieldError, ResourceRegistry, ResourceType } from '../api/registry.js';
import { recordUpdate } from '../api/apply.js';
import { unknownFields } from '../api/schema.js';
import { decodeErrors, dropNulls, dropUnknownFields } from '../api/schema-check.js';
import { deepEqual, describeFieldErrors } from '../api/validation.js';
import { isNubisError } from '../lib/errors.js';
import type { ObjectStore, Preconditions, ResourceRef } from '../store/object-store.js';
import type { AdmissionChain, AdmissionRequest } from './admission/admission.js';
import type { UserInfo } from './authn/authenticator.js';
import { AllocationRejected, type ServiceAllocations, type Undo } from './service-allocations.js';
import { ApiError, badRequest } from './status.js';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';
export type PropagationPolicy = 'Foreground' | 'Background' | 'Orphan';

export interface WriteOptions {
  /** Who writes: admission plugins judge the write by it. */
  user: UserInfo;
  dryRun?: boolean;
  fieldValidation?: FieldValidation;
  /** Warnings for the Warning header (fieldValidation=Warn). */
  warnings?: string[];
  /**
   * The manager this write is recorded for in metadata.managedFields (operation Update): the
   * fieldManager query parameter or the User-Agent's product. Without one, managedFields are kept as
   * they are (the server's own writes).
   */
  fieldManager?: string;
  /** managedFields were computed already (server-side apply): stored as they are. */
  tracked?: boolean;
}

export interface DeleteOptions {
  /** Who deletes: admission plugins judge the delete by it. */
  user: UserInfo;
  dryRun?: boolean;
  propagationPolicy?: PropagationPolicy;
  gracePeriodSeconds?: number;
  preconditions?: Preconditions;
}

/** The subresources written through update semantics (binding sets spec.nodeName, finalize spec.finalizers). */
export type Subresource = 'status' | 'scale' | 'binding' | 'finalize' | 'approval';

export const FOREGROUND_FINALIZER = 'foregroundDeletion';
export const ORPHAN_FINALIZER = 'orphan';

export const refOf = (t: Pick<ResourceType, 'group' | 'resource'>): ResourceRef => ({ group: t.group, resource: t.resource });
export const apiVersion = (t: Pick<ResourceType, 'group' | 'version'>): string => (t.group ? `${t.group}/${t.version}` : t.version);
const qualified = (t: ResourceType) => (t.group ? `${t.resource}.${t.group}` : t.resource);

/** 404 in Kubernetes' words: `pods "web" not found`. */
export function notFoundStatus(t: ResourceType, name: string): ApiError {
  return new ApiError('NotFound', `${qualified(t)} "${name}" not found`, { name, group: t.group, kind: t.resource });
}

/** 422 with one cause per field error. */
export function invalidStatus(t: ResourceType, name: string, errors: FieldError[]): ApiError {
  const summary = errors.length === 1 ? describeFieldErrors(errors) : `[${describeFieldErrors(errors)}]`;
  return new ApiError('Invalid', `${t.kind} "${name}" is invalid: ${summary}`, {
    name,
    group: t.group,
    kind: t.kind,
    causes: errors.map((e) => ({ reason: e.type, message: e.message, field: e.field })),
  });
}

/** How many unknown fields a strict decoding error or the warnings name at most. */
const MAX_UNKNOWN_REPORTED = 100;

const GENERATE_CHARS = 'bcdfghjklmnpqrstvwxz2456789';
function randomSuffix(): string {
  let s = '';
  for (let i = 0; i < 5; i++) s += GENERATE_CHARS[Math.floor(Math.random() * GENERATE_CHARS.length)];
  return s;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Maps store errors to Kubernetes' wording for this kind and name. */
export function storeError(t: ResourceType, name: string, err: unknown): unknown {
  if (isNubisError(err, 'NotFound')) return notFoundStatus(t, name);
  if (isNubisError(err, 'AlreadyExists')) {
    return new ApiError('AlreadyExists', `${qualified(t)} "${name}" already exists`, { name, group: t.group, kind: t.resource }, { cause: err });
  }
  if (isNubisError(err, 'Conflict') && (err as { reason?: string }).reason !== 'Expired') {
    return new ApiError(
      'Conflict',
      `Operation cannot be fulfilled on ${qualified(t)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      { name, group: t.group, kind: t.resource },
      { cause: err },
    );
  }
  return err;
}

/** Whether two versions of an object are the same write: resourceVersion and managedFields times aside. */
function sameContent(a: KubeObject, b: KubeObject): boolean {
  const strip = (o: KubeObject) => ({
    ...o,
    metadata: {
      ...o.metadata,
      resourceVersion: undefined,
      managedFields: ((o.metadata.managedFields as Array<Record<string, unknown>> | undefined) ?? []).map(({ time: _time, ...e }) => e),
    },
  });
  return deepEqual(strip(a), strip(b));
}

/**
 * managedFields of an update: the stored ones, unless the client sent others (kubectl's upgrade from
 * client-side to server-side apply rewrites them; `[{}]` clears them, `[]` or none keeps them), then
 * the fields this write set or changed recorded for its manager.
 */
function trackManagedFields(t: ResourceType, old: KubeObject, next: KubeObject, opts: WriteOptions & { subresource?: Subresource }): void {
  const sent = next.metadata.managedFields;
  if (sent === undefined || sent === null || (Array.isArray(sent) && sent.length === 0)) {
    if (old.metadata.managedFields === undefined) delete next.metadata.managedFields;
    else next.metadata.managedFields = old.metadata.managedFields;
  } else {
    if (!Array.isArray(sent) || sent.some((e) => !isObject(e))) throw badRequest('metadata.managedFields must be a list of ManagedFieldsEntry objects');
    if (sent.every((e) => Object.keys(e as object).length === 0)) {
      delete next.metadata.managedFields;
      return;
    }
    for (const e of sent as Array<Record<string, unknown>>) {
      if (typeof e.manager !== 'string' || (e.operation !== 'Apply' && e.operation !== 'Update')) {
        throw badRequest('metadata.managedFields entries need a manager and an operation of Apply or Update');
      }
    }
  }
  if (opts.fieldManager === undefined) return;
  const sub = opts.subresource === 'status' || opts.subresource === 'scale' ? opts.subresource : undefined;
  recordUpdate(old, next, t.schema, { fieldManager: opts.fieldManager, apiVersion: apiVersion(t), subresource: sub });
}

/** Empty lists and maps in metadata are left out, as Kubernetes' JSON (omitempty) never shows them. */
function dropEmptyMetadata(meta: KubeObject['metadata']): void {
  for (const f of ['labels', 'annotations', 'ownerReferences', 'finalizers'] as const) {
    const v = meta[f] as unknown;
    if (Array.isArray(v) ? v.length === 0 : isObject(v) && Object.keys(v).length === 0) delete meta[f];
  }
}

export class ObjectOps {
  constructor(
    readonly store: ObjectStore,
    readonly registry: ResourceRegistry,
    /** Called after something was deleted or began deleting (the garbage collector listens). */
    private readonly onDeletion: () => void = () => {},
    /** ClusterIPs and NodePorts of Services (none: Services are stored as sent). */
    private readonly services?: ServiceAllocations,
    /** Mutating and validating admission (none: writes are only validated). */
    private readonly admission?: AdmissionChain,
  ) {}

  private async admit(r: AdmissionRequest, validated: () => void): Promise<void> {
    if (r.object) await this.admission?.mutate(r);
    validated();
    await this.admission?.validate(r);
  }

  /** After an object left the store: the garbage collector is told, a Service's addresses and ports are freed. */
  private async deleted(t: ResourceType, gone: KubeObject): Promise<void> {
    this.onDeletion();
    if (this.services && t.group === '' && t.resource === 'services') {
      await this.services.releaseFor(gone as Service).catch(() => undefined); // repair retries later
    }
  }

  /** Claims a Service's addresses and ports before it is written; the result undoes them if the write fails. */
  private async allocate(t: ResourceType, obj: KubeObject, old: KubeObject | undefined, dryRun: boolean): Promise<Undo> {
    if (!this.services || t.group !== '' || t.resource !== 'services') return async () => {};
    try {
      return old ? await this.services.admitUpdate(old as Service, obj as Service, dryRun) : await this.services.admitCreate(obj as Service, dryRun);
    } catch (err) {
      if (err instanceof AllocationRejected) throw invalidStatus(t, obj.metadata.name, err.errors);
      throw err;
    }
  }

  /** Checks apiVersion/kind of a body and fills them in when absent. */
  checkKind(t: ResourceType, body: Record<string, unknown>): KubeObject {
    const av = apiVersion(t);
    if (body.apiVersion !== undefined && body.apiVersion !== av) {
      throw badRequest(`the API version in the data (${String(body.apiVersion).slice(0, 100)}) does not match the expected API version (${av})`);
    }
    if (body.kind !== undefined && body.kind !== t.kind) {
      throw badRequest(`the kind in the data (${String(body.kind).slice(0, 100)}) does not match the expected kind (${t.kind})`);
    }
    if (body.metadata === undefined || body.metadata === null) body.metadata = {};
    if (!isObject(body.metadata)) throw badRequest('metadata must be an object');
    body.apiVersion = av;
    body.kind = t.kind;
    // As Kubernetes' decoder: fields set to null are unset, and values it could not decode are refused.
    dropNulls(body, t.schema);
    const errors = decodeErrors(body, t.schema);
    if (errors.length > 0) throw invalidStatus(t, typeof body.metadata.name === 'string' ? body.metadata.name : '', errors);
    return body as unknown as KubeObject;
  }

  /** fieldValidation: unknown fields are a 400 (Strict), a warning (Warn) or nothing (Ignore). */
  checkFields(t: ResourceType, obj: KubeObject, opts: WriteOptions): void {
    const mode = opts.fieldValidation ?? 'Warn';
    // The first ones are said: a body of many thousand unknown fields must not make a header of them.
    const unknown = mode === 'Ignore' ? [] : unknownFields(obj, t.schema).slice(0, MAX_UNKNOWN_REPORTED);
    if (mode === 'Strict' && unknown.length > 0) {
      throw badRequest(`strict decoding error: ${unknown.map((f) => `unknown field "${f}"`).join(', ')}`);
    }
    for (const f of unknown) opts.warnings?.push(`unknown field "${f}"`);
    // Unknown fields are not kept (Kubernetes' decoder has no place for them).
    dropUnknownFields(obj, t.schema);
  }

  private validate(t: ResourceType, obj: KubeObject, old?: KubeObject, subresource?: Subresource): void {
    let errors: FieldError[];
    try {
      // A binding sets the one field an update may not change: the pod as it was, bound, is checked.
      errors = subresource === 'binding' ? t.validate(obj, { ...old!, spec: { ...(old!.spec as object), nodeName: (obj.spec as { nodeName?: string }).nodeName } }) : t.validate(obj, old);
    } catch (err) {
      // A validator meeting a value of the wrong shape must not crash the request.
      throw new ApiError('Invalid', `${t.kind} "${obj.metadata.name}" is invalid: ${(err as Error).message}`, { name: obj.metadata.name, kind: t.kind }, { cause: err });
    }
    if (errors.length > 0) throw invalidStatus(t, obj.metadata.name, errors);
  }

  /** Create: the body becomes a stored object (201), or a preview with dryRun. */
  async create(t: ResourceType, namespace: string | undefined, body: Record<string, unknown>, opts: WriteOptions): Promise<KubeObject> {
    const obj = this.checkKind(t, body);
    const meta = obj.metadata;
    if (t.namespaced) {
      if (meta.namespace !== undefined && meta.namespace !== '' && meta.namespace !== namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      if (!namespace) throw badRequest(`${t.resource} is namespaced: create it inside a namespace`);
      meta.namespace = namespace;
    } else {
      delete meta.namespace;
    }
    if (meta.resourceVersion) throw badRequest('resourceVersion should not be set on objects to be created');
    this.checkFields(t, obj, opts);
    for (const f of ['uid', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation', 'creationTimestamp']) delete meta[f];
    if (!opts.tracked) delete meta.managedFields;
    const generated = !meta.name && typeof meta.generateName === 'string' && meta.generateName !== '';
    if (generated) meta.name = `${meta.generateName}${randomSuffix()}`;
    meta.uid = randomUUID(); // before defaulting: a Job's generated selector is made from its uid
    // A new pod's status is the server's (Kubernetes' PrepareForCreate): one created "Succeeded" would escape quotas.
    if (t.group === '' && t.resource === 'pods') delete obj.status;
    t.defaults(obj);
    dropEmptyMetadata(meta);
    if (!opts.tracked && opts.fieldManager !== undefined) recordUpdate(undefined, obj, t.schema, { fieldManager: opts.fieldManager, apiVersion: apiVersion(t) });
    await this.admit({ user: opts.user, operation: 'CREATE', type: t, namespace, name: meta.name, object: obj, dryRun: !!opts.dryRun, warnings: opts.warnings }, () => this.validate(t, obj));
    const undo = await this.allocate(t, obj, undefined, !!opts.dryRun);
    if (opts.dryRun) return { ...obj, metadata: { ...meta, creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z') } };
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.store.create(refOf(t), obj);
      } catch (err) {
        if (generated && attempt < 5 && isNubisError(err, 'AlreadyExists')) {
          meta.name = `${meta.generateName}${randomSuffix()}`;
          continue;
        }
        await undo().catch(() => undefined); // the repair loop releases what this could not
        throw storeError(t, meta.name, err);
      }
    }
  }

  /**
   * Update (PUT) of the main resource or its status. The main resource keeps the stored status for kinds
   * with a status subresource; a status write changes nothing but status.
   */
  async update(
    t: ResourceType,
    namespace: string | undefined,
    name: string,
    body: Record<string, unknown>,
    opts: WriteOptions & { subresource?: Subresource },
  ): Promise<KubeObject> {
    const incoming = this.checkKind(t, body);
    const meta = incoming.metadata;
    if (meta.name !== undefined && meta.name !== name) {
      throw badRequest(`the name of the object (${String(meta.name).slice(0, 253)}) does not match the name on the URL (${name})`);
    }
    if (t.namespaced && meta.namespace !== undefined && meta.namespace !== '' && meta.namespace !== namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    this.checkFields(t, incoming, opts);
    const key = { namespace: t.namespaced ? namespace : undefined, name };
    const old = await this.store.get(refOf(t), key).catch((err) => Promise.reject(storeError(t, name, err)));
    return this.replace(t, old, incoming, opts);
  }

  /**
   * Stores `incoming` over `old` (read just before) with update semantics; the write is conditional on
   * incoming's resourceVersion. A write that changes nothing (managedFields timestamps aside) is not
   * made: the stored object comes back with its resourceVersion, and watchers see no event.
   */
  async replace(t: ResourceType, old: KubeObject, incoming: KubeObject, opts: WriteOptions & { subresource?: Subresource }): Promise<KubeObject> {
    const name = old.metadata.name;
    const next = opts.subresource === 'status' || opts.subresource === 'finalize' || opts.subresource === 'approval' ? this.merged(t, old, incoming, opts.subresource) : this.merged(t, old, incoming);
    t.defaults(next);
    dropEmptyMetadata(next.metadata);
    if (!opts.tracked) trackManagedFields(t, old, next, opts);
    const admission: AdmissionRequest = { user: opts.user, operation: 'UPDATE', type: t, namespace: old.metadata.namespace, name, subresource: opts.subresource, object: next, oldObject: old, dryRun: !!opts.dryRun, warnings: opts.warnings };
    await this.admit(admission, () => this.validate(t, next, old, opts.subresource));
    const undo = opts.subresource === 'status' || opts.subresource === 'approval' ? async () => {} : await this.allocate(t, next, old, !!opts.dryRun);
    let saved: KubeObject;
    try {
      const rv = next.metadata.resourceVersion;
      if ((!rv || rv === old.metadata.resourceVersion) && sameContent(old, next)) return old;
      if (opts.dryRun) return next;
      saved = await this.store.update(refOf(t), next).catch((err) => Promise.reject(storeError(t, name, err)));
    } catch (err) {
      await undo().catch(() => undefined);
      throw err;
    }
    return this.finishIfReleased(t, saved);
  }

  /** The object an update would store: system fields from the stored object, status by subresource rules. */
  merged(t: ResourceType, old: KubeObject, incoming: KubeObject, subresource?: 'status' | 'finalize' | 'approval'): KubeObject {
    const meta = incoming.metadata;
    if (subresource === 'approval') {
      // Approval changes conditions only; the issued certificate is the signer's (status).
      const status = { ...((old.status as object) ?? {}), conditions: (incoming.status as { conditions?: unknown } | undefined)?.conditions };
      return { ...old, status, metadata: { ...old.metadata, resourceVersion: meta.resourceVersion || undefined } } as KubeObject;
    }
    if (subresource === 'finalize') {
      const finalizers = (incoming.spec as { finalizers?: string[] } | undefined)?.finalizers ?? [];
      return { ...old, spec: { ...((old.spec as object) ?? {}), finalizers }, metadata: { ...old.metadata, resourceVersion: meta.resourceVersion || undefined } } as KubeObject;
    }
    if (subresource === 'status') {
      return {
        ...old,
        status: incoming.status,
        metadata: { ...old.metadata, resourceVersion: meta.resourceVersion || undefined },
      } as KubeObject;
    }
    const next: KubeObject = { ...incoming, metadata: { ...meta } };
    next.metadata.name = old.metadata.name;
    if (t.namespaced) next.metadata.namespace = old.metadata.namespace;
    else delete next.metadata.namespace;
    if (!next.metadata.uid) delete next.metadata.uid;
    if (!next.metadata.resourceVersion) delete next.metadata.resourceVersion;
    for (const f of ['creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation'] as const) {
      if (old.metadata[f] === undefined) delete next.metadata[f];
      else (next.metadata as Record<string, unknown>)[f] = old.metadata[f];
    }
    if (t.hasStatus) {
      if (old.status === undefined) delete next.status;
      else next.status = old.status;
    }
    if (t.group === '' && t.resource === 'namespaces') {
      // Only namespaces/finalize changes a namespace's finalizers: an update that dropped them would
      // let the namespace go before its content (which would then await whoever takes the name next).
      const finalizers = (old.spec as { finalizers?: string[] } | undefined)?.finalizers;
      next.spec = { ...((next.spec as object | undefined) ?? {}), finalizers };
      if (finalizers === undefined) delete (next.spec as { finalizers?: string[] }).finalizers;
    }
    return next;
  }

  /** An object marked for deletion whose finalizers are all gone is removed for good. */
  async finishIfReleased(t: ResourceType, obj: KubeObject): Promise<KubeObject> {
    if (!obj.metadata.deletionTimestamp || (obj.metadata.finalizers?.length ?? 0) > 0) return obj;
    if (t.resource === 'namespaces' && ((obj.spec as { finalizers?: string[] } | undefined)?.finalizers?.length ?? 0) > 0) return obj;
    if (this.gracefulPending(t, obj)) return obj;
    try {
      const gone = await this.store.delete(refOf(t), { namespace: obj.metadata.namespace, name: obj.metadata.name }, { uid: obj.metadata.uid });
      await this.deleted(t, gone);
      return gone;
    } catch (err) {
      if (isNubisError(err, 'NotFound')) return obj;
      throw storeError(t, obj.metadata.name, err);
    }
  }

  /**
   * Whether an object marked for deletion still waits out its grace period (ResourceType.gracefulDeletion:
   * a pod's agent removes it with a delete of grace 0 once its containers stopped).
   */
  private gracefulPending(t: ResourceType, obj: KubeObject): boolean {
    const period = obj.metadata.deletionGracePeriodSeconds ?? 0;
    return period > 0 && (t.gracefulDeletion?.(obj, period) ?? 0) > 0;
  }

  /**
   * Delete with Kubernetes semantics: objects with finalizers (or a Foreground/Orphan propagation, which
   * adds one) are marked with deletionTimestamp and removed when the last finalizer goes; others go now.
   * Background dependents are removed afterwards by the garbage collector.
   */
  async delete(t: ResourceType, namespace: string | undefined, name: string, opts: DeleteOptions): Promise<KubeObject> {
    const key = { namespace: t.namespaced ? namespace : undefined, name };
    const ref = refOf(t);
    for (let attempt = 0; ; attempt++) {
      const current = await this.store.get(ref, key).catch((err) => Promise.reject(storeError(t, name, err)));
      if (attempt === 0) await this.admit({ user: opts.user, operation: 'DELETE', type: t, namespace: key.namespace, name, oldObject: current, dryRun: !!opts.dryRun }, () => {});
      const pre = opts.preconditions;
      if (pre?.uid && pre.uid !== current.metadata.uid) {
        throw new ApiError('Conflict', `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${current.metadata.uid ?? ''}`, { name, kind: t.resource, group: t.group });
      }
      if (pre?.resourceVersion && pre.resourceVersion !== current.metadata.resourceVersion) {
        throw new ApiError('Conflict', `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion ?? ''}`, { name, kind: t.resource, group: t.group });
      }
      const finalizers = [...(current.metadata.finalizers ?? [])];
      const policy = opts.propagationPolicy;
      if (policy === 'Foreground' && !finalizers.includes(FOREGROUND_FINALIZER)) finalizers.push(FOREGROUND_FINALIZER);
      if (policy === 'Orphan' && !finalizers.includes(ORPHAN_FINALIZER)) finalizers.push(ORPHAN_FINALIZER);
      const isNamespace = t.resource === 'namespaces' && t.group === '';
      const grace = t.gracefulDeletion?.(current, opts.gracePeriodSeconds) ?? 0;
      const graceful = grace > 0;
      // Namespaces always pass through Terminating: their content is deleted first.
      if (finalizers.length === 0 && !isNamespace && !graceful) {
        if (opts.dryRun) return current;
        try {
          const gone = await this.store.delete(ref, key, { uid: current.metadata.uid, resourceVersion: current.metadata.resourceVersion });
          await this.deleted(t, gone);
          return gone;
        } catch (err) {
          if (isNubisError(err, 'Conflict') && attempt < 5 && !pre?.resourceVersion) continue;
          throw storeError(t, name, err);
        }
      }
      const marked: KubeObject = { ...current, metadata: { ...current.metadata, finalizers } };
      if (finalizers.length === 0) delete marked.metadata.finalizers;
      if (!marked.metadata.deletionTimestamp) {
        marked.metadata.deletionTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
        marked.metadata.deletionGracePeriodSeconds = grace;
      } else if (graceful && opts.gracePeriodSeconds !== undefined) {
        marked.metadata.deletionGracePeriodSeconds = Math.min(marked.metadata.deletionGracePeriodSeconds ?? opts.gracePeriodSeconds, opts.gracePeriodSeconds);
      }
      if (isNamespace) {
        marked.status = { ...((current.status as object | undefined) ?? {}), phase: 'Terminating' };
        if (!current.metadata.deletionTimestamp) {
          const spec = (current.spec ?? {}) as { finalizers?: string[] };
          marked.spec = { ...spec, finalizers: [...new Set([...(spec.finalizers ?? []), 'kubernetes'])] };
        }
      }
      // Deleting again what is already being deleted, with nothing to shorten, writes nothing.
      if (current.metadata.deletionTimestamp && sameContent(current, marked)) return current;
      if (opts.dryRun) return marked;
      try {
        const saved = await this.store.update(ref, marked);
        this.onDeletion();
        return saved;
      } catch (err) {
        if (isNubisError(err, 'Conflict') && attempt < 5 && !pre?.resourceVersion) continue;
        throw storeError(t, name, err);
      }
    }
  }
}
