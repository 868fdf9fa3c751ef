import type { KubeObject } from './meta.js';
import type { ObjectSchema, PatchMeta } from './schema.js';

/**
 * One kind the API serves, described as data: the API server routes, defaults, validates, patches and
 * prints objects through this, and knows nothing kind-specific itself.
 */
export interface ResourceType {
  /** '' for the core group. */
  group: string;
  version: string;
  kind: string;
  /** Plural, lower case: 'pods'. */
  resource: string;
  singular: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  /** Discovery verbs. */
  verbs: string[];
  /** e.g. ['status', 'binding', 'log', 'exec', 'eviction'] or ['status', 'scale']. */
  subresources: string[];
  /** Fills defaults in place on create, and on update (Kubernetes defaults every decoded object). */
  defaults(obj: KubeObject): void;
  /**
   * Field errors in Kubernetes' shape; empty when valid. `old` is set on update (immutable fields).
   * Checks metadata too (name syntax for the kind, labels, annotations).
   */
  validate(obj: KubeObject, old?: KubeObject): FieldError[];
  /** Columns for `kubectl get` Table output (meta.k8s.io/v1 Table): definitions and one row's cells. */
  table: { columns: TableColumn[]; cells(obj: KubeObject, now?: number): unknown[] };
  /** The strategic-merge-patch metadata of this kind: the schema, whose lists carry merge keys and strategies. */
  patchMeta: PatchMeta;
  /** The known fields of the whole object (apiVersion, kind, metadata, spec, status...): fieldValidation and OpenAPI. */
  schema: ObjectSchema;
  /** Whether the kind has a status subresource: status writes change only `status`, main writes all but `status`. */
  hasStatus: boolean;
  /** Field selector labels the kind supports (metadata.name and metadata.namespace always). */
  fieldSelectors: string[];
  /**
   * The value of a supported field selector label as Kubernetes compares it (booleans as "true"/"false",
   * missing as ""); undefined for a label the kind does not support (the server answers 400).
   */
  fieldValue(obj: KubeObject, path: string): string | undefined;
  /** For kinds with a scale subresource: where replicas and the selector live. */
  scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath: string };
  /**
   * Graceful deletion: the seconds a delete of `obj` leaves before the object goes, given the period
   * the request asked for (undefined: the kind's default). A positive answer marks the object with
   * deletionTimestamp and deletionGracePeriodSeconds instead of removing it; whoever runs it (a pod's
   * node agent) removes it with a delete of grace 0. 0 removes it at once. Kinds without the hook
   * always go at once (finalizers aside).
   */
  gracefulDeletion?(obj: KubeObject, requestedSeconds: number | undefined): number;
  /** A question answered on create and never stored (access reviews). */
  ephemeral?: boolean;
}

/** One field error, as Kubernetes' field.Error: the server turns a list into a 422 Status with causes. */
export interface FieldError {
  type:
    | 'FieldValueRequired'
    | 'FieldValueInvalid'
    | 'FieldValueNotSupported'
    | 'FieldValueDuplicate'
    | 'FieldValueForbidden'
    | 'FieldValueTooLong'
    | 'FieldValueTypeInvalid'
    | 'FieldValueNotFound';
  /** e.g. spec.containers[0].image */
  field: string;
  message: string;
  value?: unknown;
}

/** A column definition of meta.k8s.io/v1 Table; priority 1 columns show only with `-o wide`. */
export interface TableColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  format: string;
  description: string;
  priority: number;
}

/** `apps/v1`, or `v1` for the core group. */
export function apiVersionOf(type: Pick<ResourceType, 'group' | 'version'>): string {
  return type.group ? `${type.group}/${type.version}` : type.version;
}
