import type { LabelSelectorSpec, ObjectMeta } from './meta.js';
import type { FieldError } from './resource-type.js';

/** Field error constructors with Kubernetes' wording ("Required value", "Invalid value: ..."). */
export const fieldErr = {
  required: (field: string, detail = ''): FieldError => ({ type: 'FieldValueRequired', field, message: detail ? `Required value: ${detail}` : 'Required value' }),
  invalid: (field: string, value: unknown, detail: string): FieldError => ({ type: 'FieldValueInvalid', field, value, message: `Invalid value: ${show(value)}: ${detail}` }),
  notSupported: (field: string, value: unknown, allowed: string[]): FieldError => ({
    type: 'FieldValueNotSupported',
    field,
    value,
    message: `Unsupported value: ${show(value)}: supported values: ${allowed.map((a) => `"${a}"`).join(', ')}`,
  }),
  duplicate: (field: string, value: unknown): FieldError => ({ type: 'FieldValueDuplicate', field, value, message: `Duplicate value: ${show(value)}` }),
  forbidden: (field: string, detail: string): FieldError => ({ type: 'FieldValueForbidden', field, message: `Forbidden: ${detail}` }),
  tooLong: (field: string, value: unknown, max: number): FieldError => ({ type: 'FieldValueTooLong', field, value, message: `Too long: may not be more than ${max} bytes` }),
};

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === undefined) return 'null';
  const s = JSON.stringify(value);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** The kubectl-style one-line summary of field errors: `spec.containers[0].image: Required value, ...`. */
export function describeFieldErrors(errors: FieldError[]): string {
  return errors.map((e) => `${e.field}: ${e.message}`).join(', ');
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const C_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const CONFIG_MAP_KEY = /^[-._a-zA-Z0-9]+$/;
const ENV_VAR_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/** Messages for a value that is not a DNS-1123 label (empty list: valid). */
export function dns1123Label(value: string): string[] {
  const out: string[] = [];
  if (value.length > 63) out.push('must be no more than 63 characters');
  if (!DNS1123_LABEL.test(value)) {
    out.push(
      "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
    );
  }
  return out;
}

export function dns1123Subdomain(value: string): string[] {
  const out: string[] = [];
  if (value.length > 253) out.push('must be no more than 253 characters');
  if (!DNS1123_SUBDOMAIN.test(value)) {
    out.push(
      "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
    );
  }
  return out;
}

export function dns1035Label(value: string): string[] {
  const out: string[] = [];
  if (value.length > 63) out.push('must be no more than 63 characters');
  if (!DNS1035_LABEL.test(value)) {
    out.push(
      "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
    );
  }
  return out;
}

/** A name usable as a path segment (Kubernetes' rule for names that only need to fit a URL), and a store key. */
export function pathSegmentName(value: string): string[] {
  if (value === '.' || value === '..') return [`may not be '${value}'`];
  if (value.includes('/') || value.includes('%')) return [`may not contain '/' or '%'`];
  if (value.includes('\0')) return ['may not contain a NUL character'];
  if (value.length > 253) return ['must be no more than 253 characters'];
  return [];
}

/** Label and annotation keys: an optional DNS-subdomain prefix and '/', then a name of at most 63 characters. */
export function qualifiedName(value: string): string[] {
  const parts = value.split('/');
  let name = value;
  const out: string[] = [];
  if (parts.length === 2) {
    const [prefix, n] = parts as [string, string];
    name = n;
    if (prefix.length === 0) out.push('prefix part must be non-empty');
    else out.push(...dns1123Subdomain(prefix).map((m) => `prefix part ${m}`));
  } else if (parts.length > 2) {
    return ["a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"];
  }
  if (name.length === 0) out.push('name part must be non-empty');
  else if (name.length > 63) out.push('name part must be no more than 63 characters');
  if (name.length > 0 && !QUALIFIED_NAME.test(name)) {
    out.push("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')");
  }
  return out;
}

export function labelValue(value: string): string[] {
  const out: string[] = [];
  if (value.length > 63) out.push('must be no more than 63 characters');
  if (!LABEL_VALUE.test(value)) {
    out.push("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')");
  }
  return out;
}

export const isCIdentifier = (v: string): boolean => C_IDENTIFIER.test(v);
export const isEnvVarName = (v: string): boolean => ENV_VAR_NAME.test(v);

/** ConfigMap and Secret data keys. */
export function configMapKey(value: string): string[] {
  const out: string[] = [];
  if (value.length > 253) out.push('must be no more than 253 characters');
  if (!CONFIG_MAP_KEY.test(value)) out.push("a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')");
  if (value === '.' || value === '..' || value.startsWith('..')) out.push(`must not be '.' or '..' or start with '..'`);
  return out;
}

/** IANA service names: port names (at most 15 characters, a letter, no '--'). */
export function portName(value: string): string[] {
  const out: string[] = [];
  if (value.length > 15) out.push('must be no more than 15 characters');
  if (!/^[-a-z0-9]+$/.test(value)) out.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
  if (value.includes('--')) out.push("must not contain consecutive hyphens");
  if (!/[a-z]/.test(value)) out.push('must contain at least one letter (a-z)');
  if (value.startsWith('-') || value.endsWith('-')) out.push('must not begin or end with a hyphen');
  return out;
}

export const isPortNumber = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 65535;

/** Pushes one Invalid error per message from a syntax check. */
export function check(errors: FieldError[], field: string, value: string, messages: string[]): void {
  for (const m of messages) errors.push(fieldErr.invalid(field, value, m));
}

/** How a kind's metadata.name is checked (Kubernetes varies it per kind). */
export type NameRule = 'subdomain' | 'label' | 'dns1035' | 'path-segment';

const NAME_CHECKS: Record<NameRule, (v: string) => string[]> = {
  subdomain: dns1123Subdomain,
  label: dns1123Label,
  dns1035: dns1035Label,
  'path-segment': pathSegmentName,
};

const TOTAL_ANNOTATION_SIZE = 256 * 1024;

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function validateLabels(labels: unknown, field: string): FieldError[] {
  const errors: FieldError[] = [];
  if (labels === undefined || labels === null) return errors;
  if (!isPlainObject(labels)) return [fieldErr.invalid(field, labels, 'must be a map of string keys to string values')];
  for (const [k, v] of Object.entries(labels as Record<string, unknown>)) {
    check(errors, field, k, qualifiedName(k));
    if (typeof v !== 'string') errors.push(fieldErr.invalid(`${field}`, v, 'label values must be strings'));
    else check(errors, field, v, labelValue(v));
  }
  return errors;
}

export function validateAnnotations(annotations: unknown, field: string): FieldError[] {
  const errors: FieldError[] = [];
  if (annotations === undefined || annotations === null) return errors;
  if (!isPlainObject(annotations)) return [fieldErr.invalid(field, annotations, 'must be a map of string keys to string values')];
  for (const [k, v] of Object.entries(annotations)) if (typeof v !== 'string') errors.push(fieldErr.invalid(`${field}[${k}]`, v, 'annotation values must be strings'));
  let size = 0;
  for (const [k, v] of Object.entries(annotations as Record<string, unknown>)) {
    check(errors, field, k.toLowerCase(), qualifiedName(k.toLowerCase()));
    size += Buffer.byteLength(k) + Buffer.byteLength(String(v));
  }
  if (size > TOTAL_ANNOTATION_SIZE) errors.push(fieldErr.tooLong(field, '', TOTAL_ANNOTATION_SIZE));
  return errors;
}

/** ObjectMeta rules common to every kind: name (or generateName), namespace scope, labels, annotations. */
export function validateObjectMeta(meta: ObjectMeta | undefined, namespaced: boolean, nameRule: NameRule): FieldError[] {
  const errors: FieldError[] = [];
  if (!meta || typeof meta !== 'object') return [fieldErr.required('metadata')];
  // (Values of the wrong type never get here: every kind's validation checks its schema first.)
  const nameCheck = NAME_CHECKS[nameRule];
  if (!meta.name) {
    if (!meta.generateName) errors.push(fieldErr.required('metadata.name', 'name or generateName is required'));
    else check(errors, 'metadata.generateName', meta.generateName, nameCheck(meta.generateName.replace(/-$/, 'a')));
  } else {
    check(errors, 'metadata.name', meta.name, nameCheck(meta.name));
  }
  if (namespaced) {
    if (!meta.namespace) errors.push(fieldErr.required('metadata.namespace'));
    else check(errors, 'metadata.namespace', meta.namespace, dns1123Label(meta.namespace));
  } else if (meta.namespace) {
    errors.push(fieldErr.forbidden('metadata.namespace', 'not allowed on this type'));
  }
  errors.push(...validateLabels(meta.labels, 'metadata.labels'));
  errors.push(...validateAnnotations(meta.annotations, 'metadata.annotations'));
  for (const [i, f] of (meta.finalizers ?? []).entries()) {
    check(errors, `metadata.finalizers[${i}]`, f, qualifiedName(f));
  }
  for (const [i, ref] of (meta.ownerReferences ?? []).entries()) {
    const p = `metadata.ownerReferences[${i}]`;
    if (!ref.apiVersion) errors.push(fieldErr.invalid(`${p}.apiVersion`, ref.apiVersion, 'version must not be empty'));
    if (!ref.kind) errors.push(fieldErr.invalid(`${p}.kind`, ref.kind, 'kind must not be empty'));
    if (!ref.name) errors.push(fieldErr.invalid(`${p}.name`, ref.name, 'name must not be empty'));
    if (!ref.uid) errors.push(fieldErr.invalid(`${p}.uid`, ref.uid, 'uid must not be empty'));
  }
  if ((meta.ownerReferences ?? []).filter((r) => r.controller).length > 1) {
    errors.push(fieldErr.invalid('metadata.ownerReferences', meta.ownerReferences, 'Only one reference can have Controller set to true'));
  }
  return errors;
}

/** ObjectMeta rules on update: name, namespace, uid and creationTimestamp never change. */
export function validateObjectMetaUpdate(meta: ObjectMeta, old: ObjectMeta): FieldError[] {
  const errors: FieldError[] = [];
  for (const f of ['name', 'namespace', 'uid', 'creationTimestamp'] as const) {
    if (meta[f] !== undefined && old[f] !== undefined && meta[f] !== old[f]) errors.push(fieldErr.invalid(`metadata.${f}`, meta[f], 'field is immutable'));
  }
  return errors;
}

/** Compares a field with its old value; Kubernetes' message for immutable fields. */
export function immutable(errors: FieldError[], field: string, value: unknown, old: unknown, detail = 'field is immutable'): void {
  if (!deepEqual(value, old)) errors.push(fieldErr.invalid(field, value, detail));
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => deepEqual(v, bb[i]));
  }
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** Checks a LabelSelector spec's syntax (keys, values, operators). */
export function validateLabelSelector(sel: LabelSelectorSpec | undefined, field: string): FieldError[] {
  const errors: FieldError[] = [];
  if (!sel) return errors;
  errors.push(...validateLabels(sel.matchLabels, `${field}.matchLabels`));
  for (const [i, e] of (sel.matchExpressions ?? []).entries()) {
    const p = `${field}.matchExpressions[${i}]`;
    check(errors, `${p}.key`, e.key, qualifiedName(e.key));
    if (e.operator === 'In' || e.operator === 'NotIn') {
      if (!e.values?.length) errors.push(fieldErr.required(`${p}.values`, 'must be specified when `operator` is \'In\' or \'NotIn\''));
    } else if (e.operator === 'Exists' || e.operator === 'DoesNotExist') {
      if (e.values?.length) errors.push(fieldErr.forbidden(`${p}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
    } else {
      errors.push(fieldErr.invalid(`${p}.operator`, e.operator, 'not a valid selector operator'));
    }
  }
  return errors;
}

/** Whether a LabelSelector spec matches a label set (an empty selector matches everything). */
export function selectorMatches(sel: LabelSelectorSpec, labels: Record<string, string> = {}): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const v = labels[e.key];
    if (e.operator === 'In' && !(has && e.values?.includes(v!))) return false;
    if (e.operator === 'NotIn' && has && e.values?.includes(v!)) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

/** The label selector string `kubectl` and the scale subresource show: `app=web,tier in (a,b)`. */
export function formatLabelSelector(sel: LabelSelectorSpec | undefined): string {
  if (!sel) return '';
  const parts = Object.entries(sel.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of sel.matchExpressions ?? []) {
    if (e.operator === 'In') parts.push(`${e.key} in (${[...(e.values ?? [])].sort().join(',')})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${[...(e.values ?? [])].sort().join(',')})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else parts.push(`!${e.key}`);
  }
  return parts.join(',');
}
