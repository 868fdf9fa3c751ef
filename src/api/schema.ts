/**
 * The field description of each kind: one source of truth for unknown-field detection
 * (fieldValidation=Strict|Warn), strategic-merge-patch metadata (merge keys and strategies) and the
 * OpenAPI v3 schemas kubectl reads (`kubectl explain`, client-side validation).
 */

interface SchemaBase {
  description?: string;
}

/** A scalar; `int-or-string` and `quantity` accept both JSON numbers and strings, as in Kubernetes. */
export interface ScalarSchema extends SchemaBase {
  type: 'string' | 'integer' | 'number' | 'boolean' | 'int-or-string' | 'quantity' | 'date-time' | 'byte';
  enum?: string[];
  /** Integers Kubernetes keeps in 32 bits (counts, ports, replicas); others are int64. */
  format?: 'int32';
}

/** A struct with known fields; `retainKeys` is the patchStrategy of a union-like struct (Deployment strategy). */
export interface ObjectSchema extends SchemaBase {
  type: 'object';
  fields: Record<string, Schema>;
  required?: string[];
  retainKeys?: boolean;
}

/** A map with free keys (labels, ConfigMap data, resource lists). */
export interface MapSchema extends SchemaBase {
  type: 'map';
  values: Schema;
}

/** A list. `mergeKey`/`strategy` are the strategic-merge-patch tags; without them the list is atomic. */
export interface ArraySchema extends SchemaBase {
  type: 'array';
  items: Schema;
  mergeKey?: string;
  strategy?: 'merge' | 'replace' | 'merge,retainKeys';
  /** Server-side-apply list semantics (x-kubernetes-list-type); defaults follow mergeKey/strategy. */
  listType?: 'atomic' | 'set' | 'map';
  listMapKeys?: string[];
}

/** Anything (RawExtension and free-form JSON): no unknown fields below. */
export interface AnySchema extends SchemaBase {
  type: 'any';
}

export type Schema = ScalarSchema | ObjectSchema | MapSchema | ArraySchema | AnySchema;

/** The strategic-merge-patch metadata of a kind is its schema (merge keys and strategies live on lists). */
export type PatchMeta = Schema;

export const str = (description?: string, values?: string[]): ScalarSchema => ({ type: 'string', description, enum: values });
export const int = (description?: string): ScalarSchema => ({ type: 'integer', description });
export const int32 = (description?: string): ScalarSchema => ({ type: 'integer', format: 'int32', description });
export const num = (description?: string): ScalarSchema => ({ type: 'number', description });
export const bool = (description?: string): ScalarSchema => ({ type: 'boolean', description });
export const time = (description?: string): ScalarSchema => ({ type: 'date-time', description });
export const bytes = (description?: string): ScalarSchema => ({ type: 'byte', description });
export const intOrString = (description?: string): ScalarSchema => ({ type: 'int-or-string', description });
export const quantity = (description?: string): ScalarSchema => ({ type: 'quantity', description });
export const anything = (description?: string): AnySchema => ({ type: 'any', description });

export function obj(
  fields: Record<string, Schema>,
  options: { description?: string; required?: string[]; retainKeys?: boolean } = {},
): ObjectSchema {
  return { type: 'object', fields, ...options };
}

export const map = (values: Schema, description?: string): MapSchema => ({ type: 'map', values, description });
export const stringMap = (description?: string): MapSchema => map(str(), description);

export function list(items: Schema, options: Omit<ArraySchema, 'type' | 'items'> = {}): ArraySchema {
  return { type: 'array', items, ...options };
}

/** A list merged by `key` in strategic merge patches (containers by name, ports by containerPort...). */
export function keyedList(items: Schema, key: string, options: Omit<ArraySchema, 'type' | 'items' | 'mergeKey'> = {}): ArraySchema {
  return { type: 'array', items, mergeKey: key, strategy: options.strategy ?? 'merge', listType: 'map', listMapKeys: [key], ...options };
}

export const stringList = (description?: string): ArraySchema => list(str(), { description, listType: 'atomic' });
/** A list of strings merged as a set in strategic merge patches (finalizers). */
export const stringSet = (description?: string): ArraySchema => list(str(), { description, strategy: 'merge', listType: 'set' });

/** The sub-schema of one field of an object, or the values of a map; undefined when not described. */
export function childSchema(schema: Schema | undefined, field: string): Schema | undefined {
  if (!schema) return undefined;
  if (schema.type === 'object') return schema.fields[field];
  if (schema.type === 'map') return schema.values;
  if (schema.type === 'any') return schema;
  return undefined;
}

/** The schema at a dotted path (`spec.template.spec.containers`), lists stepped through to their items. */
export function schemaAt(schema: Schema | undefined, path: string): Schema | undefined {
  let cur = schema;
  for (const part of path.split('.').filter(Boolean)) {
    while (cur?.type === 'array') cur = cur.items;
    cur = childSchema(cur, part);
  }
  return cur;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The fields of `value` the schema does not know, as Kubernetes reports them for fieldValidation:
 * `spec.containers[0].imagee`. Values of the wrong JSON type are not reported here (validation does).
 */
export function unknownFields(value: unknown, schema: Schema, path = ''): string[] {
  const out: string[] = [];
  const walk = (v: unknown, s: Schema, p: string): void => {
    if (s.type === 'any' || v === null || v === undefined) return;
    if (s.type === 'object' && isPlainObject(v)) {
      for (const [k, child] of Object.entries(v)) {
        const cs = s.fields[k];
        const cp = p ? `${p}.${k}` : k;
        if (!cs) out.push(cp);
        else walk(child, cs, cp);
      }
    } else if (s.type === 'map' && isPlainObject(v)) {
      for (const [k, child] of Object.entries(v)) walk(child, s.values, p ? `${p}.${k}` : k);
    } else if (s.type === 'array' && Array.isArray(v)) {
      v.forEach((item, i) => walk(item, s.items, `${p}[${i}]`));
    }
  };
  walk(value, schema, path);
  return out;
}
