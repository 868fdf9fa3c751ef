import { defineType, field } from '../../define.js';
import type { KubeObject, LabelSelectorSpec } from '../../meta.js';
import type { PodTemplateSpec } from '../../core/v1/pod-types.js';
import { kindSchema } from '../../meta-schema.js';
import type { FieldError, ResourceType } from '../../resource-type.js';
import { int32 } from '../../schema.js';
import { age, ageColumn, column, containerColumns, nameColumn, wide } from '../../table.js';
import { fieldErr, formatLabelSelector } from '../../validation.js';
import { replicaSetSpecSchema, workloadStatus } from './apps-schema.js';
import { defaultTemplate, validateNonNegative, validateSelectorUpdate, validateTemplateAndSelector } from './workload.js';

export interface ReplicaSet extends KubeObject {
  spec: { replicas?: number; minReadySeconds?: number; selector: LabelSelectorSpec; template?: PodTemplateSpec };
  status?: { replicas?: number; fullyLabeledReplicas?: number; readyReplicas?: number; availableReplicas?: number; observedGeneration?: number };
}

function validateReplicaSet(o: KubeObject, old?: KubeObject): FieldError[] {
  const spec = (o as ReplicaSet).spec;
  if (!spec || typeof spec !== 'object') return [fieldErr.required('spec')];
  const errors = validateTemplateAndSelector(spec.selector, spec.template, { restartPolicies: ['Always'] });
  validateNonNegative(errors, 'spec.replicas', spec.replicas);
  validateNonNegative(errors, 'spec.minReadySeconds', spec.minReadySeconds);
  if (old) validateSelectorUpdate(spec.selector, (old as ReplicaSet).spec?.selector, errors);
  return errors;
}

export function replicaSetType(): ResourceType {
  return defineType({
    group: 'apps',
    version: 'v1',
    kind: 'ReplicaSet',
    resource: 'replicasets',
    singular: 'replicaset',
    namespaced: true,
    shortNames: ['rs'],
    categories: ['all'],
    subresources: ['status', 'scale'],
    hasStatus: true,
    scale: { specReplicasPath: 'spec.replicas', statusReplicasPath: 'status.replicas', labelSelectorPath: 'spec.selector' },
    schema: kindSchema('ReplicaSet ensures that a specified number of pod replicas are running at any given time.', {
      spec: replicaSetSpecSchema,
      status: workloadStatus({ replicas: int32(), fullyLabeledReplicas: int32(), readyReplicas: int32(), availableReplicas: int32(), terminatingReplicas: int32() }),
    }),
    defaults(o) {
      const spec = (o as ReplicaSet).spec;
      if (!spec || typeof spec !== 'object') return;
      spec.replicas ??= 1;
      defaultTemplate(spec.template);
    },
    validateSpec: validateReplicaSet,
    table: {
      columns: [
        nameColumn(),
        column('Desired', 'Number of desired pods.', { type: 'integer' }),
        column('Current', 'Most recently observed number of replicas.', { type: 'integer' }),
        column('Ready', 'The number of ready replicas for this replica set.', { type: 'integer' }),
        ageColumn(),
        wide('Containers', 'Names of each container in the template.'),
        wide('Images', 'Images referenced by each container in the template.'),
        wide('Selector', 'Label query over pods that should match the replica count.'),
      ],
      cells(o, now) {
        const r = o as ReplicaSet;
        const [names, images] = containerColumns(r.spec?.template?.spec);
        return [r.metadata.name, r.spec?.replicas ?? 0, r.status?.replicas ?? 0, r.status?.readyReplicas ?? 0, age(r, now), names, images, formatLabelSelector(r.spec?.selector) || '<none>'];
      },
    },
    fields: { 'status.replicas': field('status.replicas', '0') },
  });
}
