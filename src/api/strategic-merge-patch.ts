import { invalid } from '../lib/errors.js';
import { childSchema, type PatchMeta, type Schema } from './schema.js';
import { deepEqual } from './validation.js';

/**
 * Kubernetes' strategic merge patch (application/strategic-merge-patch+json), as kubectl apply, edit,
 * label, annotate and patch send it. Maps merge and `null` deletes, like JSON merge patch; lists follow
 * the kind's schema: lists with a patchMergeKey (containers by name, ports by containerPort, env and
 * volumes by name) merge item by item, lists with strategy `merge` and no key (finalizers) merge as sets,
 * other lists are replaced. Directives:
 * - `$patch: replace | delete | merge` on a map, and as a list item (`{$patch: replace}` replaces the list,
 *   `{name: x, $patch: delete}` removes that item),
 * - `$retainKeys: [..]` drops the keys of the live map that are not listed (union structs, volumes),
 * - `$deleteFromPrimitiveList/<field>: [..]` removes values from a primitive list,
 * - `$setElementOrder/<field>: [..]` orders the merged list (items it names first, in its order).
 * Fields the schema does not describe are handled as JSON merge patch does (lists replaced).
 */
export function strategicMergePatch(target: unknown, patch: unknown, meta: PatchMeta | undefined): unknown {
  if (!isObject(patch)) throw invalid('a strategic merge patch must be a JSON object');
  return mergeMap(isObject(target) ? target : {}, patch, meta);
}

const DIRECTIVE = '$patch';
const RETAIN_KEYS = '$retainKeys';
const DELETE_FROM = '$deleteFromPrimitiveList/';
const ELEMENT_ORDER = '$setElementOrder/';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function itemsOf(meta: Schema | undefined): Schema | undefined {
  return meta?.type === 'array' ? meta.items : meta?.type === 'any' ? meta : undefined;
}

function mergeMap(original: Record<string, unknown>, patch: Record<string, unknown>, meta: Schema | undefined): Record<string, unknown> {
  const directive = patch[DIRECTIVE];
  if (directive !== undefined) {
    if (directive === 'replace') return withoutDirectives(patch, meta);
    if (directive === 'delete') return {};
    if (directive !== 'merge') throw invalid(`unknown patch directive "${String(directive)}"`);
  }
  const out: Record<string, unknown> = { ...original };
  const retain = patch[RETAIN_KEYS];
  if (retain !== undefined) {
    if (!Array.isArray(retain)) throw invalid('$retainKeys must be a list of field names');
    for (const k of Object.keys(out)) if (!retain.includes(k)) delete out[k];
  }
  const orders = new Map<string, unknown[]>();
  for (const [key, value] of Object.entries(patch)) {
    if (key === DIRECTIVE || key === RETAIN_KEYS) continue;
    if (key.startsWith(DELETE_FROM)) {
      const field = key.slice(DELETE_FROM.length);
      if (!Array.isArray(value)) throw invalid(`${key} must be a list`);
      const current = out[field];
      if (Array.isArray(current)) out[field] = current.filter((v) => !value.some((d) => deepEqual(d, v)));
      continue;
    }
    if (key.startsWith(ELEMENT_ORDER)) {
      if (!Array.isArray(value)) throw invalid(`${key} must be a list`);
      orders.set(key.slice(ELEMENT_ORDER.length), value);
      continue;
    }
    if (value === null) {
      delete out[key];
      continue;
    }
    const childMeta = childSchema(meta, key);
    const current = out[key];
    if (isObject(value)) {
      if (value[DIRECTIVE] === 'delete') delete out[key];
      else out[key] = mergeMap(isObject(current) ? current : {}, value, childMeta);
    } else if (Array.isArray(value)) {
      out[key] = mergeList(Array.isArray(current) ? current : [], value, childMeta);
    } else {
      out[key] = value;
    }
  }
  for (const [field, order] of orders) {
    const list = out[field];
    if (Array.isArray(list)) out[field] = applyOrder(list, order, childSchema(meta, field));
  }
  return out;
}

/** A patch value set where nothing was before: merged into an empty value so directives disappear. */
function withoutDirectives(patch: Record<string, unknown>, meta: Schema | undefined): Record<string, unknown> {
  const { [DIRECTIVE]: _drop, ...rest } = patch;
  return mergeMap({}, rest, meta);
}

function mergeList(original: unknown[], patch: unknown[], meta: Schema | undefined): unknown[] {
  const strategy = meta?.type === 'array' ? meta.strategy : undefined;
  const mergeKey = meta?.type === 'array' ? meta.mergeKey : undefined;
  const items = itemsOf(meta);
  const replaceItem = patch.findIndex((p) => isObject(p) && p[DIRECTIVE] === 'replace');
  if (replaceItem >= 0) {
    return patch.filter((_, i) => i !== replaceItem).map((p) => (isObject(p) ? withoutDirectives(p, items) : p));
  }
  if (!strategy?.startsWith('merge')) {
    return patch.map((p) => (isObject(p) ? mergeMap({}, p, items) : p));
  }
  if (!mergeKey) {
    if (patch.some(isObject)) {
      // A list of maps without a merge key cannot merge: replace, as Kubernetes does for unkeyed lists.
      return patch.map((p) => (isObject(p) ? mergeMap({}, p, items) : p));
    }
    const out = [...original];
    for (const p of patch) if (!out.some((o) => deepEqual(o, p))) out.push(p);
    return out;
  }
  const out = original.map((o) => o);
  for (const [i, p] of patch.entries()) {
    if (!isObject(p)) throw invalid(`list item ${i} of a list merged by "${mergeKey}" must be an object`);
    if (!Object.prototype.hasOwnProperty.call(p, mergeKey)) {
      throw invalid(`list item ${i} does not contain the merge key "${mergeKey}"`);
    }
    const at = out.findIndex((o) => isObject(o) && deepEqual(o[mergeKey], p[mergeKey]));
    if (p[DIRECTIVE] === 'delete') {
      if (at >= 0) {
        for (let j = out.length - 1; j >= 0; j--) {
          const o = out[j];
          if (isObject(o) && deepEqual(o[mergeKey], p[mergeKey])) out.splice(j, 1);
        }
      }
      continue;
    }
    if (at >= 0) out[at] = mergeMap(out[at] as Record<string, unknown>, p, items);
    else out.push(mergeMap({}, p, items));
  }
  return out;
}

/** Orders `list` by `order` ($setElementOrder): listed items first in that order, the others after in place. */
function applyOrder(list: unknown[], order: unknown[], meta: Schema | undefined): unknown[] {
  const mergeKey = meta?.type === 'array' ? meta.mergeKey : undefined;
  const keyOf = (v: unknown): unknown => (mergeKey && isObject(v) ? v[mergeKey] : v);
  const rank = (v: unknown): number => order.findIndex((o) => deepEqual(keyOf(o), keyOf(v)));
  const listed = list.filter((v) => rank(v) >= 0).sort((a, b) => rank(a) - rank(b));
  const rest = list.filter((v) => rank(v) < 0);
  return [...listed, ...rest];
}
