/**
 * LimitRange (core/v1): per namespace, the least and most a container, a pod or a claim may ask for, the
 * limit/request ratio allowed, and the defaults given to containers that state nothing (LimitRanger
 * admission applies them).
 */
import { defineType } from '../../define.js';
import type { KubeObject } from '../../meta.js';
import { kindSchema, resourceListSchema } from '../../meta-schema.js';
import type { Quantity } from '../../quantity.js';
import type { FieldError, ResourceType } from '../../resource-type.js';
import { list, obj, str } from '../../schema.js';
import { column, nameColumn } from '../../table.js';
import { fieldErr } from '../../validation.js';
import { canonicalizeQuantities, isNativeResource, validateContainerResourceName, validateResourceName, validateResourceQuantity } from './resource-names.js';

export type LimitType = 'Container' | 'Pod' | 'PersistentVolumeClaim';
type Limits = Record<string, string | number>;

export interface LimitRangeItem {
  type: LimitType;
  max?: Limits;
  min?: Limits;
  default?: Limits;
  defaultRequest?: Limits;
  maxLimitRequestRatio?: Limits;
}

export interface LimitRange extends KubeObject {
  spec?: { limits?: LimitRangeItem[] };
}

export const LIMIT_TYPES: LimitType[] = ['Container', 'Pod', 'PersistentVolumeClaim'];
const MAPS = ['max', 'min', 'default', 'defaultRequest', 'maxLimitRequestRatio'] as const;

/**
 * Kubernetes' SetDefaults_LimitRangeItem, for containers: the default limit is the max unless given, the
 * default request is the default limit, else the min.
 */
function defaultItem(item: LimitRangeItem): void {
  for (const m of MAPS) canonicalizeQuantities(item[m]);
  if (item.type !== 'Container') return;
  const def = (item.default ??= {});
  const req = (item.defaultRequest ??= {});
  for (const [k, v] of Object.entries(item.max ?? {})) def[k] ??= v;
  for (const [k, v] of Object.entries(def)) req[k] ??= v;
  for (const [k, v] of Object.entries(item.min ?? {})) req[k] ??= v;
}

/** The relations between min, defaultRequest, default, max and the ratio of one resource (ValidateLimitRange). */
function validateRelations(k: string, q: Partial<Record<(typeof MAPS)[number], Quantity>>, path: string, errors: FieldError[]): void {
  const { min, max, default: def, defaultRequest: req, maxLimitRequestRatio: ratio } = q;
  const at = (m: string) => `${path}.${m}[${k}]`;
  const gt = (a?: Quantity, b?: Quantity): boolean => a !== undefined && b !== undefined && a.cmp(b) > 0;
  if (gt(min, max)) errors.push(fieldErr.invalid(at('min'), min!.toString(), `min value ${min} is greater than max value ${max}`));
  if (gt(min, req)) errors.push(fieldErr.invalid(at('defaultRequest'), req!.toString(), `min value ${min} is greater than default request value ${req}`));
  if (gt(req, max)) errors.push(fieldErr.invalid(at('defaultRequest'), req!.toString(), `default request value ${req} is greater than max value ${max}`));
  if (gt(req, def)) errors.push(fieldErr.invalid(at('defaultRequest'), req!.toString(), `default request value ${req} is greater than default limit value ${def}`));
  if (gt(min, def)) errors.push(fieldErr.invalid(at('default'), min!.toString(), `min value ${min} is greater than default value ${def}`));
  if (gt(def, max)) errors.push(fieldErr.invalid(at('default'), max!.toString(), `default value ${def} is greater than max value ${max}`));
  if (ratio && ratio.milliValue() < 1000n) errors.push(fieldErr.invalid(at('maxLimitRequestRatio'), ratio.toString(), `ratio ${ratio} is less than 1`));
  if (ratio && min && max && min.sign() > 0) {
    const bound = Number(max.milliValue()) / Number(min.milliValue());
    if (Number(ratio.milliValue()) / 1000 > bound) errors.push(fieldErr.invalid(at('maxLimitRequestRatio'), ratio.toString(), `ratio ${ratio} is greater than max/min = ${bound.toFixed(6)}`));
  }
  const overcommit = isNativeResource(k) && !k.startsWith('hugepages-');
  if (!overcommit && def && req && def.cmp(req) !== 0) errors.push(fieldErr.invalid(at('defaultRequest'), req.toString(), `default value ${def} must equal to defaultRequest value ${req} in ${k}`));
}

function validateItem(item: LimitRangeItem, path: string, errors: FieldError[]): void {
  if (!LIMIT_TYPES.includes(item.type)) errors.push(fieldErr.notSupported(`${path}.type`, item.type, LIMIT_TYPES));
  const values: Record<string, Partial<Record<(typeof MAPS)[number], Quantity>>> = {};
  for (const m of MAPS) {
    const entries = item[m];
    if (entries === undefined || entries === null) continue;
    if (typeof entries !== 'object' || Array.isArray(entries)) {
      errors.push(fieldErr.invalid(`${path}.${m}`, entries, 'must be a map of resource names to quantities'));
      continue;
    }
    if (item.type === 'Pod' && (m === 'default' || m === 'defaultRequest')) {
      if (Object.keys(entries).length > 0) errors.push(fieldErr.forbidden(`${path}.${m}`, "may not be specified when `type` is 'Pod'"));
      continue;
    }
    for (const k of Object.keys(entries).sort()) {
      const field = `${path}.${m}[${k}]`;
      if (item.type === 'Pod' || item.type === 'Container') validateContainerResourceName(k, field, errors);
      else validateResourceName(k, field, errors);
      const q = validateResourceQuantity(k, entries[k], field, errors);
      if (q) (values[k] ??= {})[m] = q;
    }
  }
  if (item.type === 'PersistentVolumeClaim' && item.min?.storage === undefined && item.max?.storage === undefined) {
    errors.push(fieldErr.required(`${path}.limits`, 'either minimum or maximum storage value is required, but neither was provided'));
  }
  for (const k of Object.keys(values).sort()) validateRelations(k, values[k]!, path, errors);
}

function validateLimitRange(o: KubeObject): FieldError[] {
  const limits = (o as LimitRange).spec?.limits;
  if (limits === undefined || limits === null) return [];
  if (!Array.isArray(limits)) return [fieldErr.invalid('spec.limits', limits, 'must be a list of limit range items')];
  const errors: FieldError[] = [];
  const seen = new Set<string>();
  limits.forEach((item, i) => {
    const path = `spec.limits[${i}]`;
    if (typeof item !== 'object' || item === null) {
      errors.push(fieldErr.invalid(path, item, 'must be an object'));
      return;
    }
    if (seen.has(item.type)) errors.push(fieldErr.duplicate(`${path}.type`, item.type));
    seen.add(item.type);
    validateItem(item, path, errors);
  });
  return errors;
}

export function limitRangeType(): ResourceType {
  const item = obj(
    {
      type: str('Type of resource that this limit applies to.', LIMIT_TYPES),
      max: resourceListSchema,
      min: resourceListSchema,
      default: resourceListSchema,
      defaultRequest: resourceListSchema,
      maxLimitRequestRatio: resourceListSchema,
    },
    { required: ['type'] },
  );
  return defineType({
    group: '',
    version: 'v1',
    kind: 'LimitRange',
    resource: 'limitranges',
    singular: 'limitrange',
    namespaced: true,
    shortNames: ['limits'],
    subresources: [],
    hasStatus: false,
    schema: kindSchema('LimitRange sets resource usage limits for each kind of resource in a Namespace.', {
      spec: obj({ limits: list(item, { listType: 'atomic', description: 'Limits is the list of LimitRangeItem objects that are enforced.' }) }, { required: ['limits'] }),
    }),
    defaults(o) {
      const limits = (o as LimitRange).spec?.limits;
      if (Array.isArray(limits)) for (const item of limits) if (item && typeof item === 'object') defaultItem(item);
    },
    validateSpec: validateLimitRange,
    table: {
      columns: [nameColumn(), column('Created At', 'CreationTimestamp is a timestamp representing the server time when this object was created.', { type: 'date' })],
      cells: (o) => [o.metadata.name, o.metadata.creationTimestamp ?? ''],
    },
  });
}
