import type { KubeObject } from './meta.js';
import type { FieldError, ResourceType } from './resource-type.js';
import { schemaErrors } from './schema-check.js';
import { validateObjectMeta, validateObjectMetaUpdate, type NameRule } from './validation.js';

/** The verbs every ordinary resource supports (discovery). */
export const STANDARD_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

/** What a kind file states; `defineType` adds the common parts (metadata checks, field selectors). */
export interface TypeDefinition extends Omit<ResourceType, 'validate' | 'fieldSelectors' | 'fieldValue' | 'verbs' | 'defaults' | 'patchMeta'> {
  verbs?: string[];
  /** How metadata.name is checked; Kubernetes uses DNS-1123 subdomains for most kinds. */
  nameRule?: NameRule;
  defaults?(obj: KubeObject): void;
  /** Kind-specific checks (metadata is checked already). */
  validateSpec?(obj: KubeObject, old?: KubeObject): FieldError[];
  /** Extra field selector labels and how to read them; metadata.name and metadata.namespace are added. */
  fields?: Record<string, (obj: KubeObject) => string>;
}

export function defineType(def: TypeDefinition): ResourceType {
  const { nameRule = 'subdomain', validateSpec, fields = {}, verbs = STANDARD_VERBS, defaults, ...rest } = def;
  const selectors: Record<string, (obj: KubeObject) => string> = {
    'metadata.name': (o) => o.metadata.name ?? '',
    'metadata.namespace': (o) => o.metadata.namespace ?? '',
    ...fields,
  };
  return {
    ...rest,
    verbs,
    patchMeta: def.schema,
    defaults: (obj) => defaults?.(obj),
    validate(obj, old) {
      // Values of the wrong type, or objects without their required fields, are refused before the
      // kind's own rules read them as what they should be.
      const shape = schemaErrors(obj, def.schema);
      if (shape.some((e) => e.type === 'FieldValueTypeInvalid' || e.type === 'FieldValueRequired')) return shape;
      const own = validateObjectMeta(obj.metadata, def.namespaced, nameRule);
      if (old) own.push(...validateObjectMetaUpdate(obj.metadata, old.metadata));
      if (validateSpec) own.push(...validateSpec(obj, old));
      // The schema's enum and range checks and a kind's own may both see one value: said once (a kind
      // may name a list's field without the item's index, as Kubernetes does for scope selectors).
      const said = new Set(own.map((e) => `${e.type} ${unindexed(e.field)}`));
      return [...own, ...shape.filter((e) => !said.has(`${e.type} ${unindexed(e.field)}`))];
    },
    fieldSelectors: Object.keys(selectors),
    fieldValue: (obj, path) => selectors[path]?.(obj),
  };
}

const unindexed = (field: string): string => field.replace(/\[\d+\]/g, '');

/** Reads a dotted path as a field selector string: booleans "true"/"false", missing "". */
export function pathValue(obj: unknown, path: string, fallback = ''): string {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return fallback;
    cur = (cur as Record<string, unknown>)[part];
  }
  if (cur === undefined || cur === null) return fallback;
  return String(cur);
}

export const field = (path: string, fallback = '') => (obj: KubeObject): string => pathValue(obj, path, fallback);

/** The object's spec/status as a typed record (creating it on demand when `create`). */
export function specOf<T>(obj: KubeObject): T {
  if (obj.spec === undefined || obj.spec === null) obj.spec = {};
  return obj.spec as T;
}
