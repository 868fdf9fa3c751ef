/**
 * The patch client-side apply and edit send (kubectl's three-way strategic merge patch): what must change
 * to turn `current` (live) into `modified` (the user's file), plus the removal of what `original` (the
 * last applied configuration) had and `modified` no longer has. Fields neither the user's old nor new
 * file mention — defaults, fields other writers set — are left alone. Lists follow the kind's schema:
 * keyed lists (containers by name) patch item by item with `$patch: delete` for dropped items and
 * `$setElementOrder` for order, merged primitive lists (finalizers) add values and drop removed ones with
 * `$deleteFromPrimitiveList`, other lists are replaced whole. Without a schema the result is a plain JSON
 * merge patch (kubectl's choice for kinds it has no schema for).
 */
import { childSchema, type Schema } from '../api/schema.js';
import { deepEqual } from '../api/validation.js';

type Rec = Record<string, unknown>;

function isObject(v: unknown): v is Rec {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function mergeKeyOf(s: Schema | undefined): string | undefined {
  return s?.type === 'array' && s.strategy?.startsWith('merge') ? s.mergeKey : undefined;
}

function isPrimitiveSet(s: Schema | undefined, values: unknown[]): boolean {
  return s?.type === 'array' && !!s.strategy?.startsWith('merge') && !s.mergeKey && !values.some((v) => typeof v === 'object' && v !== null);
}

function itemSchema(s: Schema | undefined): Schema | undefined {
  return s?.type === 'array' ? s.items : undefined;
}

const keyed = (list: unknown[], key: string) => list.every((i) => isObject(i) && i[key] !== undefined);
const findByKey = (list: unknown[], key: string, value: unknown) => list.find((i) => isObject(i) && deepEqual(i[key], value)) as Rec | undefined;

/** Changes and additions from `current` to `modified` (nothing deleted). */
function additions(current: Rec, modified: Rec, s: Schema | undefined): Rec {
  const out: Rec = {};
  for (const [k, mv] of Object.entries(modified)) {
    const cv = current[k];
    if (deepEqual(cv, mv)) continue;
    const cs = childSchema(s, k);
    if (isObject(mv) && isObject(cv)) {
      const sub = additions(cv, mv, cs);
      if (Object.keys(sub).length > 0) {
        if (cs?.type === 'object' && cs.retainKeys) sub.$retainKeys = Object.keys(mv).sort();
        out[k] = sub;
      }
      continue;
    }
    const mk = mergeKeyOf(cs);
    if (Array.isArray(mv) && Array.isArray(cv) && mk && keyed(mv, mk) && keyed(cv, mk)) {
      const items: Rec[] = [];
      for (const item of mv as Rec[]) {
        const ci = findByKey(cv, mk, item[mk]);
        if (!ci) items.push(item);
        else {
          const sub = additions(ci, item, itemSchema(cs));
          if (Object.keys(sub).length > 0) items.push({ [mk]: item[mk], ...sub });
        }
      }
      const sameOrder = deepEqual(
        mv.map((i) => (i as Rec)[mk]),
        cv.map((i) => (i as Rec)[mk]).filter((key) => mv.some((i) => deepEqual((i as Rec)[mk], key))),
      );
      if (items.length > 0 || !sameOrder) out[k] = items;
      continue;
    }
    if (Array.isArray(mv) && Array.isArray(cv) && isPrimitiveSet(cs, [...mv, ...cv])) {
      const added = mv.filter((v) => !cv.some((c) => deepEqual(c, v)));
      if (added.length > 0) out[k] = added;
      continue;
    }
    out[k] = mv;
  }
  return out;
}

/** What `original` had that `modified` drops: `null` for fields, delete directives inside lists. */
function deletions(original: Rec, modified: Rec, s: Schema | undefined): Rec {
  const out: Rec = {};
  for (const [k, ov] of Object.entries(original)) {
    if (!Object.prototype.hasOwnProperty.call(modified, k)) {
      out[k] = null;
      continue;
    }
    const mv = modified[k];
    const cs = childSchema(s, k);
    if (isObject(ov) && isObject(mv)) {
      const sub = deletions(ov, mv, cs);
      if (Object.keys(sub).length > 0) out[k] = sub;
      continue;
    }
    if (!Array.isArray(ov) || !Array.isArray(mv)) continue;
    const mk = mergeKeyOf(cs);
    if (mk && keyed(ov, mk) && keyed(mv, mk)) {
      const items: Rec[] = [];
      for (const item of ov as Rec[]) {
        const mi = findByKey(mv, mk, item[mk]);
        if (!mi) items.push({ [mk]: item[mk], $patch: 'delete' });
        else {
          const sub = deletions(item, mi, itemSchema(cs));
          if (Object.keys(sub).length > 0) items.push({ [mk]: item[mk], ...sub });
        }
      }
      if (items.length > 0) out[k] = items;
    } else if (isPrimitiveSet(cs, [...ov, ...mv])) {
      const removed = ov.filter((v) => !mv.some((m) => deepEqual(m, v)));
      if (removed.length > 0) out[`$deleteFromPrimitiveList/${k}`] = removed;
    }
  }
  return out;
}

/** Merges the deletion and addition patches (keyed list items of the same key become one item). */
function combine(a: Rec, b: Rec, s: Schema | undefined): Rec {
  const out: Rec = { ...a };
  for (const [k, bv] of Object.entries(b)) {
    const av = out[k];
    const cs = childSchema(s, k);
    const mk = mergeKeyOf(cs);
    if (isObject(av) && isObject(bv)) out[k] = combine(av, bv, cs);
    else if (Array.isArray(av) && Array.isArray(bv) && mk) {
      const items = [...(av as Rec[])];
      for (const item of bv as Rec[]) {
        const at = items.findIndex((i) => deepEqual(i[mk], item[mk]));
        if (at >= 0) items[at] = combine(items[at]!, item, itemSchema(cs));
        else items.push(item);
      }
      out[k] = items;
    } else out[k] = bv;
  }
  return out;
}

/** Adds `$setElementOrder/<list>` for every keyed list the patch touches (the order of `modified`). */
function addElementOrder(patch: Rec, modified: Rec, s: Schema | undefined): void {
  for (const [k, pv] of Object.entries(patch)) {
    const cs = childSchema(s, k);
    const mv = modified[k];
    if (isObject(pv) && isObject(mv)) addElementOrder(pv, mv, cs);
    const mk = mergeKeyOf(cs);
    if (Array.isArray(pv) && Array.isArray(mv) && mk && keyed(mv, mk)) {
      patch[`$setElementOrder/${k}`] = mv.map((i) => ({ [mk]: (i as Rec)[mk] }));
      for (const item of pv as Rec[]) {
        const mi = findByKey(mv, mk, item[mk]);
        if (mi && item.$patch === undefined) addElementOrder(item, mi, itemSchema(cs));
      }
    }
  }
}

/**
 * The strategic merge patch (or, with no schema, JSON merge patch) that moves `current` to `modified`
 * and removes what `original` had and `modified` dropped. An empty object means nothing to do.
 */
export function threeWayMergePatch(original: Rec | undefined, modified: Rec, current: Rec, schema?: Schema): Rec {
  const patch = combine(original ? deletions(original, modified, schema) : {}, additions(current, modified, schema), schema);
  if (schema) addElementOrder(patch, modified, schema);
  return patch;
}

/** The patch from `original` to `modified` (edit, label): a three-way patch with current = original. */
export function twoWayMergePatch(original: Rec, modified: Rec, schema?: Schema): Rec {
  return threeWayMergePatch(original, modified, original, schema);
}
