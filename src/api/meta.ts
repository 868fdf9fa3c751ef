/**
 * Object metadata shared by every kind Nubis stores and serves, following Kubernetes' ObjectMeta
 * (metav1). Only the fields Nubis itself reads are typed; anything else a client sends is kept.
 */

/** A reference from a dependent object to its owner (garbage collection, controllers). */
export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** Kubernetes' ObjectMeta: identity, versioning and bookkeeping of one object. */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  generateName?: string;
  uid?: string;
  /** Opaque to clients; in Nubis a store-wide increasing integer rendered as a string. */
  resourceVersion?: string;
  /** Increases when the desired state (spec) changes; status-only writes leave it alone. */
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  [field: string]: unknown;
}

/** Any object of the API: a kind, its metadata, usually a spec (desired) and a status (observed). */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: unknown;
  status?: unknown;
  [field: string]: unknown;
}

/** metav1.LabelSelector as it appears in specs (Deployment.spec.selector, NetworkPolicy...). */
export interface LabelSelectorSpec {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }>;
}
