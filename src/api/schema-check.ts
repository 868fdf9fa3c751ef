/**
 * What Kubernetes' decoder does to a body before anything reads it, driven by the kind's schema: fields
 * set to null are dropped (Go leaves them unset), unknown fields are dropped (after fieldValidation
 * had its say), and values the decoder cannot take (the wrong JSON type, integers beyond their range,
 * malformed quantities, times and base64) are field errors in the words of Kubernetes' schema
 * validation: `spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"`.
 */
import { quantityProblem } from './quantity.js';
import type { FieldError } from './resource-type.js';
import type { Schema } from './schema.js';
import { fieldErr } from './validation.js';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A body with more field errors than this is answered with the first ones. */
const MAX_ERRORS = 100;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-](\d{2}):(\d{2}))$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The JSON type of a value as Kubernetes names it in schema errors ("integer" for whole numbers). */
function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function typeInvalid(field: string, value: unknown, expected: string): FieldError {
  const got = jsonType(value);
  return { type: 'FieldValueTypeInvalid', field, value: got, message: `Invalid value: "${got}": ${field} in body must be of type ${expected}: "${got}"` };
}

function formatInvalid(field: string, value: string, format: string): FieldError {
  const shown = value.length > 64 ? `${value.slice(0, 61)}...` : value;
  return { type: 'FieldValueInvalid', field, value: shown, message: `Invalid value: ${JSON.stringify(shown)}: ${field} in body must be of type ${format}: ${JSON.stringify(shown)}` };
}

/** Whether a string is an RFC 3339 time with a real date (metav1.Time and MicroTime). */
export function isRfc3339(v: string): boolean {
  const m = RFC3339.exec(v);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const days = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return month >= 1 && month <= 12 && day >= 1 && day <= days && hour < 24 && minute < 60 && second < 60 && (m[9] === undefined || (Number(m[9]) < 24 && Number(m[10]) < 60));
}

function integerErrors(field: string, v: number, int32: boolean): FieldError[] {
  const [min, max] = int32 ? [INT32_MIN, INT32_MAX] : [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER];
  if (v > max) return [fieldErr.invalid(field, v, `must be less than or equal to ${max}`)];
  if (v < min) return [fieldErr.invalid(field, v, `must be greater than or equal to ${min}`)];
  return [];
}

/** The errors of one scalar value. */
function scalarErrors(v: unknown, s: Extract<Schema, { type: 'string' }> | Schema, path: string, enums: boolean): FieldError[] {
  switch (s.type) {
    case 'string':
      if (typeof v !== 'string') return [typeInvalid(path, v, 'string')];
      if (enums && s.enum && !s.enum.includes(v)) return [fieldErr.notSupported(path, v, s.enum)];
      return [];
    case 'boolean':
      return typeof v === 'boolean' ? [] : [typeInvalid(path, v, 'boolean')];
    case 'number':
      return typeof v === 'number' ? [] : [typeInvalid(path, v, 'number')];
    case 'integer':
      if (typeof v !== 'number' || !Number.isInteger(v)) return [typeInvalid(path, v, 'integer')];
      return integerErrors(path, v, s.format === 'int32');
    case 'int-or-string':
      if (typeof v === 'string') return [];
      if (typeof v !== 'number' || !Number.isInteger(v)) return [typeInvalid(path, v, 'integer,string')];
      return integerErrors(path, v, true);
    case 'quantity': {
      if (typeof v !== 'string' && typeof v !== 'number') return [typeInvalid(path, v, 'integer,string')];
      const problem = quantityProblem(v);
      return problem ? [fieldErr.invalid(path, v, problem)] : [];
    }
    case 'date-time':
      if (typeof v !== 'string') return [typeInvalid(path, v, 'string')];
      return isRfc3339(v) ? [] : [formatInvalid(path, v, 'date-time')];
    case 'byte':
      if (typeof v !== 'string') return [typeInvalid(path, v, 'string')];
      return BASE64.test(v.replace(/[\r\n]/g, '')) ? [] : [formatInvalid(path, v, 'byte')];
    default:
      return [];
  }
}

function walk(v: unknown, s: Schema, path: string, out: FieldError[], enums: boolean): void {
  if (out.length >= MAX_ERRORS || s.type === 'any') return;
  if (s.type === 'object') {
    if (!isObject(v)) {
      out.push(typeInvalid(path, v, 'object'));
      return;
    }
    for (const [k, child] of Object.entries(v)) {
      const cs = s.fields[k];
      if (cs && child !== null && child !== undefined) walk(child, cs, path ? `${path}.${k}` : k, out, enums);
    }
    if (enums) for (const k of s.required ?? []) if (v[k] === undefined || v[k] === null) out.push(fieldErr.required(path ? `${path}.${k}` : k));
  } else if (s.type === 'map') {
    if (!isObject(v)) out.push(typeInvalid(path, v, 'object'));
    else for (const [k, child] of Object.entries(v)) walk(child, s.values, `${path}[${k}]`, out, enums);
  } else if (s.type === 'array') {
    if (!Array.isArray(v)) out.push(typeInvalid(path, v, 'array'));
    else v.forEach((item, i) => walk(item, s.items, `${path}[${i}]`, out, enums));
  } else {
    out.push(...scalarErrors(v, s, path, enums));
  }
}

/**
 * Values Kubernetes' decoder would refuse: the wrong JSON type, integers beyond int32/int64 (here: the
 * integers a JSON number holds exactly), malformed quantities, times and base64. Fields set to null
 * are not errors (they count as unset); null list items and map values are.
 */
export function decodeErrors(value: unknown, schema: Schema): FieldError[] {
  const out: FieldError[] = [];
  walk(value, schema, '', out, false);
  return out.slice(0, MAX_ERRORS);
}

/**
 * decodeErrors, required fields that are missing and strings outside their field's enum ("Required
 * value", "Unsupported value"): what validation checks of every kind before its own rules.
 */
export function schemaErrors(value: unknown, schema: Schema): FieldError[] {
  const out: FieldError[] = [];
  walk(value, schema, '', out, true);
  return out.slice(0, MAX_ERRORS);
}

/** Drops, in place, fields set to null (Go leaves them unset); free-form parts (`any`) stay as sent. */
export function dropNulls(value: unknown, schema: Schema): void {
  prune(value, schema, (child) => child === null);
}

/** Drops, in place, fields the schema does not know (once fieldValidation had its say about them). */
export function dropUnknownFields(value: unknown, schema: Schema): void {
  prune(value, schema, (_, known) => !known);
}

function prune(value: unknown, schema: Schema, drop: (child: unknown, known: boolean) => boolean): void {
  if (schema.type === 'object' && isObject(value)) {
    for (const [k, child] of Object.entries(value)) {
      const cs = schema.fields[k];
      if (drop(child, cs !== undefined)) delete value[k];
      else if (cs) prune(child, cs, drop);
    }
  } else if (schema.type === 'map' && isObject(value)) {
    for (const child of Object.values(value)) prune(child, schema.values, drop);
  } else if (schema.type === 'array' && Array.isArray(value)) {
    for (const item of value) prune(item, schema.items, drop);
  }
}
