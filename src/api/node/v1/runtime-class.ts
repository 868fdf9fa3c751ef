/**
 * RuntimeClass (node.k8s.io/v1, cluster-scoped): a name pods give in `spec.runtimeClassName` for how
 * their node runs them. `handler` names the node's runtime (immutable); `overhead.podFixed` is what a
 * pod of the class costs beyond its containers (admission writes it into the pod's `spec.overhead`, and
 * the scheduler and quotas count it); `scheduling` confines the class's pods to the nodes that have the
 * runtime (its nodeSelector and tolerations are merged into the pod at admission).
 */
import { defineType } from '../../define.js';
import type { KubeObject } from '../../meta.js';
import { kindSchema, resourceListSchema } from '../../meta-schema.js';
import type { FieldError, ResourceType } from '../../resource-type.js';
import { list, obj, str, stringMap } from '../../schema.js';
import { age, ageColumn, column, nameColumn } from '../../table.js';
import { check, dns1123Label, fieldErr, immutable, validateLabels } from '../../validation.js';
import { tolerationSchema } from '../../core/v1/pod-schema.js';
import type { Toleration } from '../../core/v1/pod-types.js';
import { validateTolerations } from '../../core/v1/pod-validation.js';
import { canonicalizeQuantities, validateContainerResourceName, validateResourceQuantity } from '../../core/v1/resource-names.js';

export const NODE_GROUP = 'node.k8s.io';

/** The handler of pods that name no RuntimeClass, and the only one a node that reports no handlers runs. */
export const DEFAULT_RUNTIME_HANDLER = 'runc';

export interface RuntimeClass extends KubeObject {
  handler: string;
  overhead?: { podFixed?: Record<string, string> };
  scheduling?: { nodeSelector?: Record<string, string>; tolerations?: Toleration[] };
}

/** Kubernetes' ValidateRuntimeClass and ValidateRuntimeClassUpdate (metadata is checked by defineType). */
function validateRuntimeClass(o: KubeObject, old?: KubeObject): FieldError[] {
  const rc = o as RuntimeClass;
  const errors: FieldError[] = [];
  check(errors, 'handler', rc.handler, dns1123Label(rc.handler));
  if (old) immutable(errors, 'handler', rc.handler, (old as RuntimeClass).handler);
  for (const [name, q] of Object.entries(rc.overhead?.podFixed ?? {})) {
    const at = `overhead.podFixed[${name}]`;
    validateContainerResourceName(name, at, errors);
    validateResourceQuantity(name, q, at, errors);
  }
  const scheduling = rc.scheduling;
  if (scheduling) {
    errors.push(...validateLabels(scheduling.nodeSelector, 'scheduling.nodeSelector'));
    errors.push(...validateTolerations(scheduling.tolerations, 'scheduling.tolerations'));
    // Only key, operator and effect make a toleration unique here.
    const seen = new Set<string>();
    for (const [i, t] of (scheduling.tolerations ?? []).entries()) {
      const key = `${t.key ?? ''}|${t.operator ?? ''}|${t.effect ?? ''}`;
      if (seen.has(key)) errors.push(fieldErr.duplicate(`scheduling.tolerations[${i}]`, t));
      seen.add(key);
    }
  }
  return errors;
}

export function runtimeClassType(): ResourceType {
  const schema = kindSchema('RuntimeClass defines a class of container runtime supported in the cluster.', {
    handler: str('The runtime and configuration the node uses to run pods of this class: a DNS label, immutable.'),
    overhead: obj({ podFixed: resourceListSchema }, { description: 'The resources a pod of this class uses beyond its containers.' }),
    scheduling: obj(
      {
        nodeSelector: stringMap('Labels a node must have to run pods of this class; merged into the pod\'s nodeSelector.'),
        tolerations: list(tolerationSchema, { listType: 'atomic', description: 'Appended to the tolerations of pods of this class.' }),
      },
      { description: 'Which nodes support this class.' },
    ),
  });
  return defineType({
    group: NODE_GROUP,
    version: 'v1',
    kind: 'RuntimeClass',
    resource: 'runtimeclasses',
    singular: 'runtimeclass',
    namespaced: false,
    subresources: [],
    hasStatus: false,
    schema: { ...schema, required: ['handler'] },
    defaults: (o) => canonicalizeQuantities((o as RuntimeClass).overhead?.podFixed),
    validateSpec: validateRuntimeClass,
    table: {
      columns: [
        nameColumn(),
        column('Handler', 'Handler specifies the underlying runtime and configuration that the CRI implementation will use to handle pods of this class.'),
        ageColumn(),
      ],
      cells: (o, now) => [o.metadata.name, (o as RuntimeClass).handler ?? '', age(o, now)],
    },
  });
}
