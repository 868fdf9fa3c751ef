import { invalid } from '../lib/errors.js';

/** One requirement of a field selector: a dotted field path compared with a value. */
export interface FieldRequirement {
  field: string;
  op: 'eq' | 'neq';
  value: string;
}

/** A parsed field selector: every requirement must hold. The empty selector matches everything. */
export interface FieldSelector {
  readonly requirements: readonly FieldRequirement[];
}

const FIELD = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/** Splits on an unescaped separator; `\` escapes `,`, `=`, `!` and itself as in Kubernetes' field selectors. */
function splitUnescaped(input: string, sep: string): string[] {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < input.length; i++) {
    const c = input[i]!;
    if (c === '\\' && i + 1 < input.length) {
      cur += c + input[i + 1];
      i++;
    } else if (c === sep) {
      parts.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  parts.push(cur);
  return parts;
}

function unescape(value: string): string {
  return value.replace(/\\(.)/g, '$1');
}

/**
 * Parses Kubernetes' field selector syntax: `metadata.name=x,spec.nodeName!=n1` (`=`, `==`, `!=`).
 * Any dotted path into the object is accepted; values compare as strings.
 */
export function parseFieldSelector(input: string): FieldSelector {
  const requirements: FieldRequirement[] = [];
  if (input.trim() === '') return { requirements };
  for (const part of splitUnescaped(input, ',')) {
    const m = /^([^=!\s]+)\s*(==|!=|=)(.*)$/s.exec(part.trim());
    if (!m || !FIELD.test(m[1]!)) throw invalid(`invalid field selector "${input}": cannot read "${part}"`);
    const raw = m[3]!.trim();
    if (/(^|[^\\])[=!]/.test(raw)) throw invalid(`invalid field selector "${input}": unescaped "=" or "!" in "${part}"`);
    requirements.push({ field: m[1]!, op: m[2] === '!=' ? 'neq' : 'eq', value: unescape(raw) });
  }
  return { requirements };
}

/** The value of a dotted path in an object as a field selector sees it: scalars as strings, missing as ''. */
export function fieldValue(obj: unknown, field: string): string {
  let cur: unknown = obj;
  for (const part of field.split('.')) {
    if (cur === null || typeof cur !== 'object') return '';
    cur = (cur as Record<string, unknown>)[part];
  }
  if (cur === undefined || cur === null) return '';
  return typeof cur === 'object' ? JSON.stringify(cur) : String(cur);
}

/** Whether an object satisfies every requirement of the field selector. */
export function matchesFields(selector: FieldSelector, obj: unknown): boolean {
  for (const r of selector.requirements) {
    const v = fieldValue(obj, r.field);
    if (r.op === 'eq' ? v !== r.value : v === r.value) return false;
  }
  return true;
}

/** The value a selector requires for `field` with `=`, if any (lets a store narrow a scan, e.g. by namespace). */
export function requiredFieldValue(selector: FieldSelector, field: string): string | undefined {
  return selector.requirements.find((r) => r.field === field && r.op === 'eq')?.value;
}
