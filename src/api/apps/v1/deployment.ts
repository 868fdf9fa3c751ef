import { defineType } from '../../define.js';
import type { KubeObject, LabelSelectorSpec } from '../../meta.js';
import type { PodTemplateSpec } from '../../core/v1/pod-types.js';
import { kindSchema } from '../../meta-schema.js';
import type { FieldError, ResourceType } from '../../resource-type.js';
import { int32 } from '../../schema.js';
import { age, ageColumn, column, containerColumns, nameColumn, wide } from '../../table.js';
import { fieldErr, formatLabelSelector } from '../../validation.js';
import { deploymentSpecSchema, workloadStatus } from './apps-schema.js';
import { defaultTemplate, validateIntOrPercent, validateNonNegative, validateSelectorUpdate, validateTemplateAndSelector } from './workload.js';

export interface DeploymentSpec {
  replicas?: number;
  selector: LabelSelectorSpec;
  template: PodTemplateSpec;
  strategy?: { type?: 'Recreate' | 'RollingUpdate'; rollingUpdate?: { maxUnavailable?: number | string; maxSurge?: number | string } };
  minReadySeconds?: number;
  revisionHistoryLimit?: number;
  paused?: boolean;
  progressDeadlineSeconds?: number;
}

export interface DeploymentStatus {
  observedGeneration?: number;
  replicas?: number;
  updatedReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  unavailableReplicas?: number;
  conditions?: Array<{ type: string; status: string; reason?: string; message?: string; lastUpdateTime?: string; lastTransitionTime?: string }>;
  collisionCount?: number;
}

export interface Deployment extends KubeObject {
  spec: DeploymentSpec;
  status?: DeploymentStatus;
}

function defaultDeployment(o: KubeObject): void {
  const spec = (o as Deployment).spec;
  if (!spec || typeof spec !== 'object') return;
  spec.replicas ??= 1;
  spec.strategy ??= {};
  spec.strategy.type ??= 'RollingUpdate';
  if (spec.strategy.type === 'RollingUpdate') {
    spec.strategy.rollingUpdate ??= {};
    spec.strategy.rollingUpdate.maxUnavailable ??= '25%';
    spec.strategy.rollingUpdate.maxSurge ??= '25%';
  }
  spec.revisionHistoryLimit ??= 10;
  spec.progressDeadlineSeconds ??= 600;
  defaultTemplate(spec.template);
}

function validateDeployment(o: KubeObject, old?: KubeObject): FieldError[] {
  const spec = (o as Deployment).spec;
  if (!spec || typeof spec !== 'object') return [fieldErr.required('spec')];
  const errors = validateTemplateAndSelector(spec.selector, spec.template, { restartPolicies: ['Always'] });
  validateNonNegative(errors, 'spec.replicas', spec.replicas);
  validateNonNegative(errors, 'spec.minReadySeconds', spec.minReadySeconds);
  validateNonNegative(errors, 'spec.revisionHistoryLimit', spec.revisionHistoryLimit);
  const strategy = spec.strategy ?? {};
  const types = ['Recreate', 'RollingUpdate'];
  if (strategy.type !== undefined && !types.includes(strategy.type)) errors.push(fieldErr.notSupported('spec.strategy.type', strategy.type, types));
  if (strategy.type === 'Recreate' && strategy.rollingUpdate) {
    errors.push(fieldErr.forbidden('spec.strategy.rollingUpdate', "may not be specified when strategy `type` is 'Recreate'"));
  }
  const ru = strategy.rollingUpdate;
  if (ru) {
    const unavailable = validateIntOrPercent(errors, 'spec.strategy.rollingUpdate.maxUnavailable', ru.maxUnavailable);
    const surge = validateIntOrPercent(errors, 'spec.strategy.rollingUpdate.maxSurge', ru.maxSurge);
    if (unavailable === 0 && surge === 0) errors.push(fieldErr.invalid('spec.strategy.rollingUpdate.maxUnavailable', ru.maxUnavailable, 'may not be 0 when `maxSurge` is 0'));
  }
  if (spec.progressDeadlineSeconds !== undefined) {
    validateNonNegative(errors, 'spec.progressDeadlineSeconds', spec.progressDeadlineSeconds);
    if (spec.progressDeadlineSeconds <= (spec.minReadySeconds ?? 0)) {
      errors.push(fieldErr.invalid('spec.progressDeadlineSeconds', spec.progressDeadlineSeconds, 'must be greater than minReadySeconds'));
    }
  }
  if (old) validateSelectorUpdate(spec.selector, (old as Deployment).spec?.selector, errors);
  return errors;
}

export function deploymentType(): ResourceType {
  return defineType({
    group: 'apps',
    version: 'v1',
    kind: 'Deployment',
    resource: 'deployments',
    singular: 'deployment',
    namespaced: true,
    shortNames: ['deploy'],
    categories: ['all'],
    subresources: ['status', 'scale'],
    hasStatus: true,
    scale: { specReplicasPath: 'spec.replicas', statusReplicasPath: 'status.replicas', labelSelectorPath: 'spec.selector' },
    schema: kindSchema('Deployment enables declarative updates for Pods and ReplicaSets.', {
      spec: deploymentSpecSchema,
      status: workloadStatus({ replicas: int32(), updatedReplicas: int32(), readyReplicas: int32(), availableReplicas: int32(), unavailableReplicas: int32(), terminatingReplicas: int32() }),
    }),
    defaults: defaultDeployment,
    validateSpec: validateDeployment,
    table: {
      columns: [
        nameColumn(),
        column('Ready', 'Number of the pod with ready state'),
        column('Up-to-date', 'Total number of non-terminated pods targeted by this deployment that have the desired template spec.', { type: 'integer' }),
        column('Available', 'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.', { type: 'integer' }),
        ageColumn(),
        wide('Containers', 'Names of each container in the template.'),
        wide('Images', 'Images referenced by each container in the template.'),
        wide('Selector', 'Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.'),
      ],
      cells(o, now) {
        const d = o as Deployment;
        const s = d.status ?? {};
        const [names, images] = containerColumns(d.spec?.template?.spec);
        return [d.metadata.name, `${s.readyReplicas ?? 0}/${d.spec?.replicas ?? 0}`, s.updatedReplicas ?? 0, s.availableReplicas ?? 0, age(d, now), names, images, formatLabelSelector(d.spec?.selector) || '<none>'];
      },
    },
  });
}
