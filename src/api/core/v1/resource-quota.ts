/** ResourceQuota (core/v1): hard limits on what a namespace's objects may use, with the usage in status. */
import { defineType } from '../../define.js';
import type { KubeObject } from '../../meta.js';
import { kindSchema, resourceListSchema } from '../../meta-schema.js';
import { Quantity } from '../../quantity.js';
import type { FieldError, ResourceType } from '../../resource-type.js';
import { list, obj, str, stringList } from '../../schema.js';
import { age, ageColumn, column, nameColumn } from '../../table.js';
import { deepEqual, fieldErr } from '../../validation.js';
import type { ScopeRequirement } from './quota-usage.js';
import { canonicalizeQuantities, isStandardQuotaResourceName, validateQuotaResourceName, validateResourceQuantity } from './resource-names.js';

export interface ResourceQuotaSpec {
  hard?: Record<string, string | number>;
  scopes?: string[];
  scopeSelector?: { matchExpressions?: ScopeRequirement[] };
}

export interface ResourceQuotaStatus {
  hard?: Record<string, string>;
  used?: Record<string, string>;
}

export interface ResourceQuota extends KubeObject {
  spec?: ResourceQuotaSpec;
  status?: ResourceQuotaStatus;
}

/** The scopes Nubis honours; VolumeAttributesClass (a feature-gated storage scope) is refused. */
export const QUOTA_SCOPES = ['Terminating', 'NotTerminating', 'BestEffort', 'NotBestEffort', 'PriorityClass', 'CrossNamespacePodAffinity'];
const OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'];
const POD_COMPUTE = new Set(['pods', 'cpu', 'memory', 'limits.cpu', 'limits.memory', 'requests.cpu', 'requests.memory']);
const EXISTS_ONLY = ['Terminating', 'NotTerminating', 'BestEffort', 'NotBestEffort'];
const CONFLICTS = [['BestEffort', 'NotBestEffort'], ['Terminating', 'NotTerminating']];

/** Whether a hard limit may sit under a scope (IsResourceQuotaScopeValidForResource). */
function scopeFits(scope: string, resource: string): boolean {
  if (scope === 'BestEffort') return resource === 'pods';
  return QUOTA_SCOPES.includes(scope) ? POD_COMPUTE.has(resource) : true;
}

function validateResourceMap(m: unknown, field: string, errors: FieldError[]): void {
  if (m === undefined || m === null) return;
  if (typeof m !== 'object' || Array.isArray(m)) {
    errors.push(fieldErr.invalid(field, m, 'must be a map of resource names to quantities'));
    return;
  }
  for (const [k, v] of Object.entries(m)) {
    validateQuotaResourceName(k, `${field}[${k}]`, errors);
    validateResourceQuantity(k, v, `${field}[${k}]`, errors);
  }
}

function validateScopes(spec: ResourceQuotaSpec, errors: FieldError[]): void {
  const hard = Object.keys(spec.hard ?? {}).sort();
  /** Each scope named (with where an unknown one is reported, and as what), then the pairs that conflict. */
  const check = (scopes: string[], field: string, value: unknown, names: Array<[string, string, unknown]>) => {
    for (const [scope, nameField, shown] of names) {
      if (!QUOTA_SCOPES.includes(scope)) errors.push(fieldErr.invalid(nameField, shown, 'unsupported scope'));
      for (const k of hard) if (isStandardQuotaResourceName(k) && !scopeFits(scope, k)) errors.push(fieldErr.invalid(field, value, 'unsupported scope applied to resource'));
    }
    for (const pair of CONFLICTS) if (pair.every((p) => scopes.includes(p))) errors.push(fieldErr.invalid(field, value, 'conflicting scopes'));
  };
  if (spec.scopes !== undefined && !Array.isArray(spec.scopes)) errors.push(fieldErr.invalid('spec.scopes', spec.scopes, 'must be a list of scopes'));
  else if (spec.scopes?.length) check(spec.scopes, 'spec.scopes', spec.scopes, spec.scopes.map((s) => [s, 'spec.scopes', spec.scopes]));
  const selector = spec.scopeSelector;
  if (selector === undefined || selector === null) return;
  const exprs = selector.matchExpressions ?? [];
  const path = 'spec.scopeSelector.matchExpressions';
  if (!Array.isArray(exprs)) {
    errors.push(fieldErr.invalid(path, exprs, 'must be a list of scoped resource selector requirements'));
    return;
  }
  check(exprs.map((e) => e?.scopeName), path, selector, exprs.map((e) => [e?.scopeName, `${path}.scopeName`, e?.scopeName]));
  for (const e of exprs) {
    if (EXISTS_ONLY.includes(e?.scopeName) && e.operator !== 'Exists') {
      errors.push(fieldErr.invalid(`${path}.operator`, e.operator, "must be 'Exist' only operator when scope is any of ResourceQuotaScopeTerminating, ResourceQuotaScopeNotTerminating, ResourceQuotaScopeBestEffort and ResourceQuotaScopeNotBestEffort"));
    }
    if (e?.scopeName === 'CrossNamespacePodAffinity' && (e.operator === 'In' || e.operator === 'NotIn')) {
      errors.push(fieldErr.invalid(`${path}.operator`, e.operator, "must be 'Exists' or 'DoesNotExist' when scope is CrossNamespacePodAffinity"));
    }
    const values = e?.values ?? [];
    if (e?.operator === 'In' || e?.operator === 'NotIn') {
      if (values.length === 0) errors.push(fieldErr.required(`${path}.values`, "must be at least one value when `operator` is 'In' or 'NotIn' for scope selector"));
    } else if (e?.operator === 'Exists' || e?.operator === 'DoesNotExist') {
      if (values.length > 0) errors.push(fieldErr.invalid(`${path}.values`, values, "must be no value when `operator` is 'Exist' or 'DoesNotExist' for scope selector"));
    } else errors.push(fieldErr.notSupported(`${path}.operator`, e?.operator, OPERATORS));
  }
}

function validateResourceQuota(o: KubeObject, old?: KubeObject): FieldError[] {
  const q = o as ResourceQuota;
  const errors: FieldError[] = [];
  const spec = q.spec ?? {};
  if (typeof spec !== 'object' || Array.isArray(spec)) return [fieldErr.invalid('spec', spec, 'must be an object')];
  validateResourceMap(spec.hard, 'spec.hard', errors);
  validateScopes(spec, errors);
  validateResourceMap(q.status?.hard, 'status.hard', errors);
  validateResourceMap(q.status?.used, 'status.used', errors);
  const oldScopes = [...((old as ResourceQuota | undefined)?.spec?.scopes ?? [])].sort();
  if (old && !deepEqual([...(spec.scopes ?? [])].sort(), oldScopes)) errors.push(fieldErr.invalid('spec.scopes', spec.scopes ?? [], 'field is immutable'));
  return errors;
}

/** `requests.cpu: 500m/1, pods: 2/10` for the REQUEST column, limits.* for LIMIT (printResourceQuota). */
function usageCells(q: ResourceQuota): [string, string] {
  const hard = q.status?.hard ?? {};
  const used = q.status?.used ?? {};
  const requests: string[] = [];
  const limits: string[] = [];
  for (const k of Object.keys(hard).sort()) {
    const cell = `${k}: ${Quantity.orZero(used[k]).toString()}/${Quantity.orZero(hard[k]).toString()}`;
    (k.startsWith('limits.') ? limits : requests).push(cell);
  }
  return [requests.join(', '), limits.join(', ')];
}

export function resourceQuotaType(): ResourceType {
  const scope = obj({ scopeName: str(), operator: str(undefined, OPERATORS), values: stringList() }, { required: ['scopeName', 'operator'] });
  return defineType({
    group: '',
    version: 'v1',
    kind: 'ResourceQuota',
    resource: 'resourcequotas',
    singular: 'resourcequota',
    namespaced: true,
    shortNames: ['quota'],
    subresources: ['status'],
    hasStatus: true,
    schema: kindSchema('ResourceQuota sets aggregate quota restrictions enforced per namespace.', {
      spec: obj({
        hard: { ...resourceListSchema, description: 'hard is the set of desired hard limits for each named resource.' },
        scopes: stringList('A collection of filters that must match each object tracked by a quota.'),
        scopeSelector: obj({ matchExpressions: list(scope, { listType: 'atomic' }) }),
      }),
      status: obj({ hard: resourceListSchema, used: resourceListSchema }),
    }),
    defaults(o) {
      const spec = (o as ResourceQuota).spec;
      if (spec && typeof spec === 'object') canonicalizeQuantities(spec.hard);
    },
    validateSpec: validateResourceQuota,
    table: {
      columns: [
        nameColumn(),
        ageColumn(),
        column('Request', 'Request represents a minimum amount of cpu/memory that a container may consume.'),
        column('Limit', 'Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.'),
      ],
      cells: (o, now) => [o.metadata.name, age(o, now), ...usageCells(o as ResourceQuota)],
    },
  });
}
