import { anything, bool, int, keyedList, list, map, obj, str, stringList, stringMap, stringSet, time, type ObjectSchema, type Schema } from './schema.js';

/** metav1.OwnerReference. */
export const ownerReferenceSchema = obj(
  {
    apiVersion: str('API version of the referent.'),
    kind: str('Kind of the referent.'),
    name: str('Name of the referent.'),
    uid: str('UID of the referent.'),
    controller: bool('If true, this reference points to the managing controller.'),
    blockOwnerDeletion: bool('If true, the owner cannot be deleted from the key-value store until this reference is removed.'),
  },
  { required: ['apiVersion', 'kind', 'name', 'uid'] },
);

/** metav1.ManagedFieldsEntry (server-side apply bookkeeping). */
export const managedFieldsEntrySchema = obj({
  manager: str(),
  operation: str(undefined, ['Apply', 'Update']),
  apiVersion: str(),
  time: time(),
  fieldsType: str(),
  fieldsV1: anything(),
  subresource: str(),
});

/** metav1.ObjectMeta. */
export const objectMetaSchema = obj(
  {
    name: str('Name must be unique within a namespace.'),
    generateName: str('An optional prefix the server uses to generate a unique name when name is not provided.'),
    namespace: str('The namespace the object lives in; empty for cluster-scoped objects.'),
    selfLink: str(),
    uid: str('Unique in time and space value for this object, set by the server.'),
    resourceVersion: str('An opaque value that represents the internal version of this object.'),
    generation: int('A sequence number representing a specific generation of the desired state.'),
    creationTimestamp: time('The time this object was created, set by the server.'),
    deletionTimestamp: time('The time after which this resource will be deleted, set by the server.'),
    deletionGracePeriodSeconds: int('Seconds allowed for graceful termination before removal.'),
    labels: stringMap('Map of string keys and values used to organize and categorize objects.'),
    annotations: stringMap('Unstructured key value map stored with a resource.'),
    ownerReferences: keyedList(ownerReferenceSchema, 'uid', { description: 'Objects this object depends on.' }),
    finalizers: stringSet('Must be empty before the object is deleted from the registry.'),
    managedFields: list(managedFieldsEntrySchema, { listType: 'atomic' }),
  },
  { description: 'Standard object metadata.' },
);

/** metav1.LabelSelector. */
export const labelSelectorSchema = obj({
  matchLabels: stringMap('Map of {key,value} pairs.'),
  matchExpressions: list(obj({ key: str(), operator: str(undefined, ['In', 'NotIn', 'Exists', 'DoesNotExist']), values: stringList() }, { required: ['key', 'operator'] }), { listType: 'atomic' }),
});

/** metav1.Condition-like entries found in statuses (type, status, reason, message, times). */
export const conditionSchema = obj({
  type: str(),
  status: str(),
  observedGeneration: int(),
  lastTransitionTime: time(),
  lastUpdateTime: time(),
  lastProbeTime: time(),
  lastHeartbeatTime: time(),
  reason: str(),
  message: str(),
});

export const conditionsList = (): Schema => keyedList(conditionSchema, 'type');

/** The whole object of a kind: apiVersion, kind, metadata, then the kind's own top-level fields. */
export function kindSchema(description: string, fields: Record<string, Schema>): ObjectSchema {
  return obj(
    {
      apiVersion: str('Versioned schema of this representation of an object.'),
      kind: str('The REST resource this object represents.'),
      metadata: objectMetaSchema,
      ...fields,
    },
    { description },
  );
}

export const resourceListSchema = map({ type: 'quantity' });
