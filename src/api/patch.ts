import { invalid } from '../lib/errors.js';
import { deepEqual } from './validation.js';

/**
 * The patch formats of PATCH requests: JSON merge patch (RFC 7386, application/merge-patch+json) and
 * JSON patch (RFC 6902, application/json-patch+json). Strategic merge patch lives in
 * strategic-merge-patch.ts. Every function returns a new value and leaves its inputs alone; a patch
 * that cannot apply (malformed, missing path, failed `test`) throws Invalid with a one-line message.
 */

export { strategicMergePatch } from './strategic-merge-patch.js';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** RFC 7386: objects merge recursively, `null` deletes, everything else (arrays included) replaces. */
export function jsonMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = jsonMergePatch(out[k], v);
  }
  return out;
}

/** One operation of RFC 6902. */
export interface JsonPatchOp {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  value?: unknown;
  from?: string;
}

/** Splits a JSON pointer (RFC 6901) into unescaped tokens. */
export function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw invalid(`invalid JSON pointer "${pointer}": must start with "/"`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function arrayIndex(arr: unknown[], token: string, pointer: string, forAdd: boolean): number {
  if (forAdd && token === '-') return arr.length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw invalid(`invalid array index "${token}" in path "${pointer}"`);
  const i = Number(token);
  if (i > arr.length || (!forAdd && i === arr.length)) throw invalid(`array index ${i} out of bounds in path "${pointer}"`);
  return i;
}

/** The container (object or array) holding the last token of `pointer`, and that token. */
function parentOf(doc: unknown, pointer: string): { parent: Record<string, unknown> | unknown[]; key: string } {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) throw invalid(`the path "${pointer}" points at the whole document`);
  let cur: unknown = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(cur, t, pointer, false)];
    else if (isObject(cur) && Object.prototype.hasOwnProperty.call(cur, t)) cur = cur[t];
    else throw invalid(`path "${pointer}" does not exist`);
  }
  if (!Array.isArray(cur) && !isObject(cur)) throw invalid(`path "${pointer}" does not exist`);
  return { parent: cur, key: tokens[tokens.length - 1]! };
}

function getAt(doc: unknown, pointer: string): unknown {
  let cur: unknown = doc;
  for (const t of parsePointer(pointer)) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(cur, t, pointer, false)];
    else if (isObject(cur) && Object.prototype.hasOwnProperty.call(cur, t)) cur = cur[t];
    else throw invalid(`path "${pointer}" does not exist`);
  }
  return cur;
}

function removeAt(doc: unknown, pointer: string): unknown {
  const { parent, key } = parentOf(doc, pointer);
  if (Array.isArray(parent)) return parent.splice(arrayIndex(parent, key, pointer, false), 1)[0];
  if (!Object.prototype.hasOwnProperty.call(parent, key)) throw invalid(`unable to remove nonexistent key "${key}": path "${pointer}" does not exist`);
  const v = parent[key];
  delete parent[key];
  return v;
}

function addAt(doc: unknown, pointer: string, value: unknown): unknown {
  if (pointer === '') return value;
  const { parent, key } = parentOf(doc, pointer);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, pointer, true), 0, value);
  else parent[key] = value;
  return doc;
}

/** RFC 6902 applied in order, atomically (the input is untouched if any operation fails). */
export function jsonPatch(target: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations)) throw invalid('a JSON patch must be an array of operations');
  let doc = structuredClone(target);
  for (const [i, raw] of operations.entries()) {
    if (!isObject(raw) || typeof raw['op'] !== 'string' || typeof raw['path'] !== 'string') {
      throw invalid(`JSON patch operation ${i} needs string "op" and "path"`);
    }
    const op = raw as unknown as JsonPatchOp;
    const needsValue = op.op === 'add' || op.op === 'replace' || op.op === 'test';
    if (needsValue && !Object.prototype.hasOwnProperty.call(raw, 'value')) throw invalid(`JSON patch operation ${i} (${op.op}) needs a "value"`);
    const value = structuredClone(op.value);
    switch (op.op) {
      case 'add':
        doc = addAt(doc, op.path, value);
        break;
      case 'remove':
        removeAt(doc, op.path);
        break;
      case 'replace':
        if (op.path === '') doc = value;
        else {
          getAt(doc, op.path);
          const { parent, key } = parentOf(doc, op.path);
          if (Array.isArray(parent)) parent[arrayIndex(parent, key, op.path, false)] = value;
          else parent[key] = value;
        }
        break;
      case 'move': {
        if (typeof op.from !== 'string') throw invalid(`JSON patch operation ${i} (move) needs "from"`);
        if (op.path.startsWith(`${op.from}/`)) throw invalid(`cannot move "${op.from}" into its own child "${op.path}"`);
        const moved = removeAt(doc, op.from);
        doc = addAt(doc, op.path, moved);
        break;
      }
      case 'copy':
        if (typeof op.from !== 'string') throw invalid(`JSON patch operation ${i} (copy) needs "from"`);
        doc = addAt(doc, op.path, structuredClone(getAt(doc, op.from)));
        break;
      case 'test': {
        let actual: unknown;
        try {
          actual = getAt(doc, op.path);
        } catch (err) {
          throw invalid(`testing value ${op.path} failed: path does not exist`, err);
        }
        if (!deepEqual(actual, op.value)) throw invalid(`testing value ${op.path} failed: test failed`);
        break;
      }
      default:
        throw invalid(`JSON patch operation ${i} has unknown op "${String((raw as { op: unknown }).op)}"`);
    }
  }
  return doc;
}
