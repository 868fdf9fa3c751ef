/** Query parameters of Kubernetes requests, parsed and checked (400 for malformed ones). */
import type { KubeObject } from '../api/meta.js';
import type { ResourceType } from '../api/registry.js';
import { parseFieldSelector, type FieldSelector } from '../store/field-selector.js';
import { EVERYTHING, matchesLabels, parseLabelSelector, type LabelSelector } from '../store/label-selector.js';
import type { DeleteOptions, FieldValidation, PropagationPolicy, WriteOptions } from './object-ops.js';
import type { UserInfo } from './authn/authenticator.js';
import { badRequest } from './status.js';

export function labelSelectorParam(q: URLSearchParams): LabelSelector {
  const v = q.get('labelSelector');
  if (!v) return EVERYTHING;
  try {
    return parseLabelSelector(v);
  } catch (err) {
    throw badRequest((err as Error).message, err);
  }
}

/** Parses a field selector and checks every label is one the kind supports (400 otherwise). */
export function fieldSelectorParam(t: ResourceType, q: URLSearchParams): FieldSelector {
  const v = q.get('fieldSelector');
  if (!v) return { requirements: [] };
  let sel: FieldSelector;
  try {
    sel = parseFieldSelector(v);
  } catch (err) {
    throw badRequest((err as Error).message, err);
  }
  for (const r of sel.requirements) {
    if (!t.fieldSelectors.includes(r.field)) throw badRequest(`field label not supported: ${r.field}`);
  }
  return sel;
}

/**
 * The object filter of a list or watch: namespace, labels, the kind's field values, and what the user
 * may see at all (a tenant user sees its tenant's objects only).
 */
export function objectFilter(t: ResourceType, namespace: string | undefined, labels: LabelSelector, fields: FieldSelector, visible?: (o: KubeObject) => boolean): (o: KubeObject) => boolean {
  return (o) => {
    if (namespace && o.metadata.namespace !== namespace) return false;
    if (visible && !visible(o)) return false;
    if (labels.requirements.length > 0 && !matchesLabels(labels, o.metadata.labels)) return false;
    for (const r of fields.requirements) {
      const v = t.fieldValue(o, r.field) ?? '';
      if (r.op === 'eq' ? v !== r.value : v === r.value) return false;
    }
    return true;
  };
}

export function intParam(q: URLSearchParams, name: string, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (!/^-?\d{1,15}$/.test(v)) throw badRequest(`${name} must be an integer, not "${v.slice(0, 50)}"`);
  const n = Number(v);
  if (n < min || n > max) throw badRequest(`${name} must be between ${min} and ${max}`);
  return n;
}

export function boolParam(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  if (v === null || v === '' || v === 'false' || v === '0') return false;
  if (v === 'true' || v === '1') return true;
  throw badRequest(`${name} must be true or false, not "${v.slice(0, 50)}"`);
}

export function dryRunParam(q: URLSearchParams): boolean {
  const values = q.getAll('dryRun');
  for (const v of values) if (v !== 'All') throw badRequest(`dryRun must be "All", not "${v.slice(0, 50)}"`);
  return values.length > 0;
}

export function fieldValidationParam(q: URLSearchParams): FieldValidation {
  const v = q.get('fieldValidation');
  if (v === null || v === '') return 'Warn';
  if (v === 'Strict' || v === 'Warn' || v === 'Ignore') return v;
  throw badRequest(`fieldValidation must be Strict, Warn or Ignore, not "${v.slice(0, 50)}"`);
}

/**
 * Options of a create, update or patch. The manager recorded in managedFields is the fieldManager
 * parameter or, as in Kubernetes, the product part of the User-Agent (`kubectl/v1.32.4 ...` → kubectl).
 */
export function writeOptions(q: URLSearchParams, userAgent: string | undefined, user: UserInfo): WriteOptions {
  return { user, dryRun: dryRunParam(q), fieldValidation: fieldValidationParam(q), warnings: [], fieldManager: fieldManagerParam(q) ?? (userAgent ?? '').split('/')[0]!.slice(0, 128) };
}

/** The fieldManager parameter: at most 128 printable characters. */
export function fieldManagerParam(q: URLSearchParams): string | undefined {
  const m = q.get('fieldManager');
  if (m === null || m === '') return undefined;
  if (m.length > 128) throw badRequest('fieldManager: Too long: may not be more than 128 bytes');
  if (!/^[\x20-\x7e]*$/.test(m)) throw badRequest('fieldManager: Invalid value: must be printable ASCII characters');
  return m;
}

function policy(v: unknown): PropagationPolicy | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (v === 'Foreground' || v === 'Background' || v === 'Orphan') return v;
  throw badRequest(`propagationPolicy must be Foreground, Background or Orphan, not "${String(v).slice(0, 50)}"`);
}

/** DeleteOptions from the query and an optional metav1.DeleteOptions body (the body wins). */
export function deleteOptions(q: URLSearchParams, body: Record<string, unknown> | undefined, user: UserInfo): DeleteOptions {
  const opts: DeleteOptions = {
    user,
    dryRun: dryRunParam(q),
    propagationPolicy: policy(q.get('propagationPolicy')),
    gracePeriodSeconds: intParam(q, 'gracePeriodSeconds', -1),
  };
  if (q.get('orphanDependents') === 'true' && !opts.propagationPolicy) opts.propagationPolicy = 'Orphan';
  if (body) {
    if (body.propagationPolicy !== undefined) opts.propagationPolicy = policy(body.propagationPolicy);
    if (body.orphanDependents === true && !opts.propagationPolicy) opts.propagationPolicy = 'Orphan';
    if (body.gracePeriodSeconds !== undefined && body.gracePeriodSeconds !== null) {
      if (typeof body.gracePeriodSeconds !== 'number' || !Number.isInteger(body.gracePeriodSeconds)) throw badRequest('gracePeriodSeconds must be an integer');
      opts.gracePeriodSeconds = body.gracePeriodSeconds;
    }
    if (Array.isArray(body.dryRun)) {
      if (body.dryRun.some((d) => d !== 'All')) throw badRequest('dryRun must be "All"');
      opts.dryRun = opts.dryRun || body.dryRun.length > 0;
    }
    const pre = body.preconditions;
    if (pre !== undefined && pre !== null) {
      if (typeof pre !== 'object' || Array.isArray(pre)) throw badRequest('preconditions must be an object');
      const p = pre as { uid?: unknown; resourceVersion?: unknown };
      if ((p.uid !== undefined && p.uid !== null && typeof p.uid !== 'string') || (p.resourceVersion !== undefined && p.resourceVersion !== null && typeof p.resourceVersion !== 'string')) {
        throw badRequest('preconditions.uid and preconditions.resourceVersion must be strings');
      }
      opts.preconditions = { uid: (p.uid as string) || undefined, resourceVersion: (p.resourceVersion as string) || undefined };
    }
  }
  if (opts.gracePeriodSeconds !== undefined && opts.gracePeriodSeconds < 0) opts.gracePeriodSeconds = 0;
  return opts;
}
