/**
 * Resource names as Kubernetes' core helpers judge them (pkg/apis/core/helper): which names are
 * standard, which quota and limit ranges know, which count in whole numbers, which are extended
 * resources. Messages are Kubernetes' own.
 */
import { Quantity } from '../../quantity.js';
import type { FieldError } from '../../resource-type.js';
import { check, fieldErr, qualifiedName } from '../../validation.js';

const STANDARD = new Set([
  'cpu', 'memory', 'ephemeral-storage', 'requests.cpu', 'requests.memory', 'requests.ephemeral-storage', 'limits.cpu', 'limits.memory',
  'limits.ephemeral-storage', 'pods', 'resourcequotas', 'services', 'replicationcontrollers', 'secrets', 'configmaps', 'persistentvolumeclaims',
  'storage', 'requests.storage', 'services.nodeports', 'services.loadbalancers',
]);
const STANDARD_QUOTA = new Set([...STANDARD].filter((n) => n !== 'storage'));
const INTEGER = new Set(['pods', 'resourcequotas', 'services', 'replicationcontrollers', 'secrets', 'configmaps', 'persistentvolumeclaims', 'services.nodeports', 'services.loadbalancers']);
const CONTAINER = new Set(['cpu', 'memory', 'ephemeral-storage']);

const isHugePages = (n: string): boolean => n.startsWith('hugepages-');
const isQuotaHugePages = (n: string): boolean => isHugePages(n) || n.startsWith('requests.hugepages-');

/** In the kubernetes.io namespace: unprefixed, or prefixed with *kubernetes.io/. */
export const isNativeResource = (n: string): boolean => !n.includes('/') || n.includes('kubernetes.io/');

/** A vendor's resource (`example.com/gpu`), never prefixed with `requests.`. */
export function isExtendedResourceName(n: string): boolean {
  return !isNativeResource(n) && !n.startsWith('requests.') && qualifiedName(`requests.${n}`).length === 0;
}

export const isStandardQuotaResourceName = (n: string): boolean => STANDARD_QUOTA.has(n) || isQuotaHugePages(n);

/** Counted in whole numbers: object counts (`count/...` included, as extended names) and extended resources. */
export const isIntegerResourceName = (n: string): boolean => INTEGER.has(n) || isExtendedResourceName(n);

/** Kubernetes' validateResourceName: a qualified name, standard unless it has a prefix. */
export function validateResourceName(name: string, field: string, errors: FieldError[]): void {
  const before = errors.length;
  check(errors, field, name, qualifiedName(name));
  if (errors.length > before) return;
  if (!name.includes('/') && !(STANDARD.has(name) || isQuotaHugePages(name))) errors.push(fieldErr.invalid(field, name, 'must be a standard resource type or fully qualified'));
}

export function validateQuotaResourceName(name: string, field: string, errors: FieldError[]): void {
  validateResourceName(name, field, errors);
  if (!name.includes('/') && !isStandardQuotaResourceName(name)) errors.push(fieldErr.invalid(field, name, 'must be a standard resource for quota'));
}

export function validateContainerResourceName(name: string, field: string, errors: FieldError[]): void {
  const before = errors.length;
  validateResourceName(name, field, errors);
  if (errors.length > before) return;
  if (!name.includes('/')) {
    if (!CONTAINER.has(name) && !isHugePages(name)) errors.push(fieldErr.invalid(field, name, 'must be a standard resource for containers'));
  } else if (!isNativeResource(name) && !isExtendedResourceName(name)) {
    errors.push(fieldErr.invalid(field, name, "doesn't follow extended resource name standard"));
  }
}

/** A quantity of `name`: parseable, not negative, whole where the resource counts in whole numbers. */
export function validateResourceQuantity(name: string, value: unknown, field: string, errors: FieldError[]): Quantity | undefined {
  const q = Quantity.parse(value);
  if (!q) {
    errors.push(fieldErr.invalid(field, value, "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"));
    return undefined;
  }
  if (q.sign() < 0) errors.push(fieldErr.invalid(field, q.toString(), 'must be greater than or equal to 0'));
  if (isIntegerResourceName(name) && q.milliValue() % 1000n !== 0n) errors.push(fieldErr.invalid(field, q.toString(), 'must be an integer'));
  return q;
}

/** Rewrites the valid quantities of a map in canonical form, as Kubernetes stores them (`1024Mi` → `1Gi`). */
export function canonicalizeQuantities(m: Record<string, unknown> | undefined): void {
  if (!m || typeof m !== 'object' || Array.isArray(m)) return;
  for (const [k, v] of Object.entries(m)) {
    const q = Quantity.parse(v);
    if (q) m[k] = q.toString();
  }
}
