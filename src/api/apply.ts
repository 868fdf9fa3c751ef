import { NubisError } from '../lib/errors.js';
import type { KubeObject } from './meta.js';
import { childSchema, type Schema } from './schema.js';
import { strategicMergePatch } from './strategic-merge-patch.js';
import { deepEqual } from './validation.js';

/**
 * Server-side apply (application/apply-patch+yaml), partial: field ownership per manager is tracked in
 * metadata.managedFields (FieldsV1, the format kubectl shows), an applied field another manager owns
 * with a different value is a conflict (409) unless `force`, and fields a manager applied before but
 * leaves out now are removed when nobody else owns them. Merging follows the kind's schema (keyed lists
 * by their merge key, sets as sets, the rest atomic). Not done: per-version conversion of field sets,
 * multi-key list identities beyond the first merge key when merging, and granular ownership inside
 * atomic lists (they are owned whole, as Kubernetes does).
 */

export interface ApplyOptions {
  fieldManager: string;
  force?: boolean;
  /** The apiVersion the request used (recorded in managedFields). */
  apiVersion: string;
  /**
   * The status subresource owns only `status`; the main resource everything but `status`; the scale
   * subresource the fields of the main resource it writes (spec.replicas), recorded under its name.
   */
  subresource?: 'status' | 'scale';
  now?: string;
}

export interface ApplyConflict {
  manager: string;
  /** Kubernetes' rendering: `.spec.replicas`, `.spec.containers[name="web"].image`. */
  field: string;
  /** The other manager's entry: Update managers are named with the apiVersion they wrote. */
  operation?: 'Apply' | 'Update';
  apiVersion?: string;
  subresource?: string;
}

/** How Kubernetes names a manager in conflict messages: `"kubectl-client-side-apply" using apps/v1`. */
function managerLabel(c: ApplyConflict): string {
  let label = JSON.stringify(c.manager);
  if (c.subresource) label += ` with subresource ${JSON.stringify(c.subresource)}`;
  if (c.operation === 'Update' && c.apiVersion) label += ` using ${c.apiVersion}`;
  return label;
}

function conflictMessage(conflicts: ApplyConflict[]): string {
  if (conflicts.length === 1) return `Apply failed with 1 conflict: conflict with ${managerLabel(conflicts[0]!)}: ${conflicts[0]!.field}`;
  const byManager = new Map<string, string[]>();
  for (const c of conflicts) byManager.set(managerLabel(c), [...(byManager.get(managerLabel(c)) ?? []), c.field]);
  const lines = [...byManager.keys()].sort().flatMap((m) => [`conflicts with ${m}:`, ...byManager.get(m)!.map((f) => `- ${f}`)]);
  return `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
}

/**
 * The 409 of server-side apply, worded as Kubernetes words it, with one Status cause (reason
 * FieldManagerConflict) per conflicting field.
 */
export class ApplyConflictError extends NubisError {
  readonly reason = 'Conflict' as const;
  readonly details: { causes: Array<{ reason: string; message: string; field: string }> };

  constructor(readonly conflicts: ApplyConflict[]) {
    super('Conflict', conflictMessage(conflicts));
    this.details = { causes: conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with ${managerLabel(c)}`, field: c.field })) };
  }
}

interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion?: string;
  time?: string;
  fieldsType?: 'FieldsV1';
  fieldsV1?: Record<string, unknown>;
  subresource?: string;
}

type Path = string[];

const IGNORED_META = new Set(['name', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'managedFields', 'selfLink']);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function listKeys(schema: Schema | undefined): string[] | undefined {
  if (schema?.type !== 'array') return undefined;
  if (schema.listMapKeys?.length) return schema.listMapKeys;
  return schema.mergeKey ? [schema.mergeKey] : undefined;
}

const isSet = (schema: Schema | undefined) => schema?.type === 'array' && (schema.listType === 'set' || (schema.strategy === 'merge' && !schema.mergeKey));

function itemKey(item: Record<string, unknown>, keys: string[]): string {
  return `k:${JSON.stringify(Object.fromEntries(keys.filter((k) => item[k] !== undefined).map((k) => [k, item[k]])))}`;
}

/** The leaf field paths of an object (FieldsV1 tokens), owned whole below atomic lists and scalars. */
function fieldPaths(obj: KubeObject, schema: Schema, subresource?: 'status' | 'scale'): Path[] {
  const out: Path[] = [];
  const walk = (v: unknown, s: Schema | undefined, path: Path): void => {
    const keys = listKeys(s);
    if (Array.isArray(v) && keys) {
      const items = s?.type === 'array' ? s.items : undefined;
      for (const item of v) {
        if (!isObject(item)) continue;
        const p = [...path, itemKey(item, keys)];
        out.push([...p, '.']);
        for (const [k, child] of Object.entries(item)) walk(child, childSchema(items, k), [...p, `f:${k}`]);
      }
      if (v.length === 0) out.push(path);
    } else if (Array.isArray(v) && isSet(s)) {
      for (const item of v) out.push([...path, `v:${JSON.stringify(item)}`]);
      if (v.length === 0) out.push(path);
    } else if (isObject(v) && s?.type !== 'any' && Object.keys(v).length > 0) {
      for (const [k, child] of Object.entries(v)) walk(child, childSchema(s, k), [...path, `f:${k}`]);
    } else {
      out.push(path);
    }
  };
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'apiVersion' || k === 'kind') continue;
    if ((k === 'status') !== (subresource === 'status')) continue;
    if (k === 'metadata' && isObject(v)) {
      for (const [mk, mv] of Object.entries(v)) if (!IGNORED_META.has(mk)) walk(mv, childSchema(childSchema(schema, 'metadata'), mk), ['f:metadata', `f:${mk}`]);
      continue;
    }
    walk(v, childSchema(schema, k), [`f:${k}`]);
  }
  return out;
}

const pathId = (p: Path) => JSON.stringify(p);

/** FieldsV1 (nested `{"f:spec":{"f:replicas":{}}}`) from leaf paths, and back. */
export function toFieldsV1(paths: Path[]): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const p of paths) {
    let cur = root;
    for (const t of p) cur = (cur[t] ??= {}) as Record<string, unknown>;
  }
  return root;
}

export function fromFieldsV1(fields: unknown): Path[] {
  const out: Path[] = [];
  const walk = (node: unknown, path: Path) => {
    const entries = isObject(node) ? Object.entries(node) : [];
    if (entries.length === 0 && path.length) out.push(path);
    for (const [k, v] of entries) walk(v, [...path, k]);
  };
  walk(fields, []);
  return out;
}

/** The value at a FieldsV1 path, `undefined` when absent. */
function valueAt(obj: unknown, path: Path): unknown {
  let cur: unknown = obj;
  for (const t of path) {
    if (t === '.') return cur;
    if (t.startsWith('f:')) cur = isObject(cur) ? cur[t.slice(2)] : undefined;
    else if (t.startsWith('k:')) {
      const key = JSON.parse(t.slice(2)) as Record<string, unknown>;
      cur = Array.isArray(cur) ? cur.find((i) => isObject(i) && Object.entries(key).every(([k, v]) => deepEqual(i[k], v))) : undefined;
    } else if (t.startsWith('v:')) {
      const want = JSON.parse(t.slice(2));
      cur = Array.isArray(cur) && cur.some((i) => deepEqual(i, want)) ? want : undefined;
    }
    if (cur === undefined) return undefined;
  }
  return cur;
}

function removeAt(obj: unknown, path: Path): void {
  const last = path[path.length - 1] === '.' ? path.length - 2 : path.length - 1;
  if (last < 0) return;
  const parent = valueAt(obj, path.slice(0, last));
  const t = path[last]!;
  if (t.startsWith('f:') && isObject(parent)) delete parent[t.slice(2)];
  else if (Array.isArray(parent)) {
    const target = valueAt(obj, path.slice(0, last + 1));
    const i = parent.findIndex((x) => x === target || deepEqual(x, target));
    if (i >= 0) parent.splice(i, 1);
  }
}

/** Human rendering of a path for conflict messages. */
function renderPath(path: Path): string {
  return path
    .filter((t) => t !== '.')
    .map((t) => {
      if (t.startsWith('f:')) return `.${t.slice(2)}`;
      if (t.startsWith('k:')) return `[${Object.entries(JSON.parse(t.slice(2)) as Record<string, unknown>).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}]`;
      return `[=${t.slice(2)}]`;
    })
    .join('');
}

function entries(obj: KubeObject | undefined): ManagedFieldsEntry[] {
  return ((obj?.metadata.managedFields as ManagedFieldsEntry[] | undefined) ?? []).map((e) => ({ ...e }));
}

function setEntries(obj: KubeObject, list: Array<ManagedFieldsEntry & { paths: Path[] }>): void {
  const kept = list.filter((e) => e.paths.length > 0).map(({ paths, ...e }) => ({ ...e, fieldsType: 'FieldsV1' as const, fieldsV1: toFieldsV1(paths) }));
  if (kept.length) obj.metadata.managedFields = kept;
  else delete obj.metadata.managedFields;
}

const sameOwner = (e: ManagedFieldsEntry, manager: string, op: string, sub?: string) => e.manager === manager && e.operation === op && (e.subresource ?? '') === (sub ?? '');

/**
 * Applies `applied` (the user's full intent) to `live` (undefined: create) for `fieldManager`. Returns
 * the new object with managedFields updated; throws ApplyConflictError when another manager owns a
 * field with a different value and `force` is not set.
 */
export function serverSideApply(live: KubeObject | undefined, applied: KubeObject, schema: Schema, options: ApplyOptions): KubeObject {
  const now = options.now ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const appliedPaths = fieldPaths(applied, schema, options.subresource);
  const appliedIds = new Set(appliedPaths.map(pathId));
  const managers = entries(live).map((e) => ({ ...e, paths: fromFieldsV1(e.fieldsV1) }));
  const mine = managers.find((e) => sameOwner(e, options.fieldManager, 'Apply', options.subresource));
  const conflicts: ApplyConflict[] = [];
  for (const other of managers) {
    if (other === mine) continue;
    for (const p of other.paths) {
      if (!appliedIds.has(pathId(p)) || p[p.length - 1] === '.') continue;
      if (!deepEqual(valueAt(live, p), valueAt(applied, p))) {
        conflicts.push({ manager: other.manager, field: renderPath(p), operation: other.operation, apiVersion: other.apiVersion, subresource: other.subresource });
      }
    }
  }
  if (conflicts.length && !options.force) throw new ApplyConflictError(conflicts);
  if (options.force) {
    for (const other of managers) if (other !== mine) other.paths = other.paths.filter((p) => !appliedIds.has(pathId(p)) || p[p.length - 1] === '.' || deepEqual(valueAt(live, p), valueAt(applied, p)));
  }
  const base: KubeObject = live ? structuredClone(live) : { apiVersion: applied.apiVersion, kind: applied.kind, metadata: { name: applied.metadata.name } };
  const { metadata: appliedMeta, ...appliedRest } = structuredClone(applied);
  const { managedFields: _ignored, ...metaRest } = appliedMeta;
  const merged = strategicMergePatch(base, { ...appliedRest, metadata: metaRest }, schema) as KubeObject;
  const otherPaths = managers.filter((e) => e !== mine).flatMap((e) => e.paths);
  const ownedByOthers = (p: Path) => {
    const prefix = p[p.length - 1] === '.' ? p.slice(0, -1) : p;
    return otherPaths.some((q) => q.length >= prefix.length && prefix.every((t, i) => q[i] === t));
  };
  for (const p of mine?.paths ?? []) {
    if (!appliedIds.has(pathId(p)) && !ownedByOthers(p)) removeAt(merged, p);
  }
  const next = managers.filter((e) => e !== mine);
  next.push({ manager: options.fieldManager, operation: 'Apply', apiVersion: options.apiVersion, time: now, ...(options.subresource ? { subresource: options.subresource } : {}), paths: appliedPaths });
  setEntries(merged, next);
  return merged;
}

/**
 * Records a non-apply write (create, update, patch) in managedFields: the fields it set or changed
 * become `manager`'s (operation Update), taken from whoever owned them; removed fields lose all owners.
 * The entries start from `next`'s managedFields: the caller puts there the stored ones (or those the
 * client sent to replace them).
 */
export function recordUpdate(old: KubeObject | undefined, next: KubeObject, schema: Schema, options: Omit<ApplyOptions, 'force'>): void {
  const now = options.now ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const nextPaths = fieldPaths(next, schema, options.subresource);
  const present = new Set(nextPaths.map(pathId));
  const changed = nextPaths.filter((p) => !old || !deepEqual(valueAt(old, p), valueAt(next, p)));
  const changedIds = new Set(changed.map(pathId));
  const managers = entries(next).map((e) => ({ ...e, paths: fromFieldsV1(e.fieldsV1) }));
  for (const m of managers) {
    const mineNow = sameOwner(m, options.fieldManager, 'Update', options.subresource);
    m.paths = m.paths.filter((p) => (mineNow || !changedIds.has(pathId(p))) && (present.has(pathId(p)) || (m.subresource ?? '') !== (options.subresource ?? '')));
  }
  if (changed.length) {
    let entry = managers.find((m) => sameOwner(m, options.fieldManager, 'Update', options.subresource));
    if (!entry) {
      entry = { manager: options.fieldManager, operation: 'Update', paths: [], ...(options.subresource ? { subresource: options.subresource } : {}) };
      managers.push(entry);
    }
    const ids = new Set(entry.paths.map(pathId));
    // One at a time: a spread of a huge object's paths would overflow the stack.
    for (const p of changed) if (!ids.has(pathId(p))) entry.paths.push(p);
    entry.apiVersion = options.apiVersion;
    entry.time = now;
  }
  setEntries(next, managers);
}
