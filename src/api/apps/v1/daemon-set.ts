import { defineType } from '../../define.js';
import type { KubeObject, LabelSelectorSpec } from '../../meta.js';
import type { PodTemplateSpec } from '../../core/v1/pod-types.js';
import { kindSchema } from '../../meta-schema.js';
import type { FieldError, ResourceType } from '../../resource-type.js';
import { int32 } from '../../schema.js';
import { age, ageColumn, column, containerColumns, formatMap, nameColumn, wide } from '../../table.js';
import { fieldErr, formatLabelSelector } from '../../validation.js';
import { daemonSetSpecSchema, workloadStatus } from './apps-schema.js';
import { defaultTemplate, validateIntOrPercent, validateNonNegative, validateSelectorUpdate, validateTemplateAndSelector } from './workload.js';

export interface DaemonSet extends KubeObject {
  spec: {
    selector: LabelSelectorSpec;
    template: PodTemplateSpec;
    updateStrategy?: { type?: 'OnDelete' | 'RollingUpdate'; rollingUpdate?: { maxUnavailable?: number | string; maxSurge?: number | string } };
    minReadySeconds?: number;
    revisionHistoryLimit?: number;
  };
  status?: {
    currentNumberScheduled?: number;
    numberMisscheduled?: number;
    desiredNumberScheduled?: number;
    numberReady?: number;
    observedGeneration?: number;
    updatedNumberScheduled?: number;
    numberAvailable?: number;
    numberUnavailable?: number;
  };
}

function validateDaemonSet(o: KubeObject, old?: KubeObject): FieldError[] {
  const spec = (o as DaemonSet).spec;
  if (!spec || typeof spec !== 'object') return [fieldErr.required('spec')];
  const errors = validateTemplateAndSelector(spec.selector, spec.template, { restartPolicies: ['Always'] });
  validateNonNegative(errors, 'spec.minReadySeconds', spec.minReadySeconds);
  validateNonNegative(errors, 'spec.revisionHistoryLimit', spec.revisionHistoryLimit);
  const strategy = spec.updateStrategy ?? {};
  const types = ['OnDelete', 'RollingUpdate'];
  if (strategy.type !== undefined && !types.includes(strategy.type)) errors.push(fieldErr.notSupported('spec.updateStrategy.type', strategy.type, types));
  const ru = strategy.rollingUpdate;
  if (ru) {
    const unavailable = validateIntOrPercent(errors, 'spec.updateStrategy.rollingUpdate.maxUnavailable', ru.maxUnavailable);
    const surge = validateIntOrPercent(errors, 'spec.updateStrategy.rollingUpdate.maxSurge', ru.maxSurge);
    if (unavailable === 0 && (surge ?? 0) === 0) errors.push(fieldErr.invalid('spec.updateStrategy.rollingUpdate.maxUnavailable', ru.maxUnavailable, 'may not be 0 when `maxSurge` is 0'));
  }
  if (old) validateSelectorUpdate(spec.selector, (old as DaemonSet).spec?.selector, errors);
  return errors;
}

export function daemonSetType(): ResourceType {
  return defineType({
    group: 'apps',
    version: 'v1',
    kind: 'DaemonSet',
    resource: 'daemonsets',
    singular: 'daemonset',
    namespaced: true,
    shortNames: ['ds'],
    categories: ['all'],
    subresources: ['status'],
    hasStatus: true,
    schema: kindSchema('DaemonSet represents the configuration of a daemon set.', {
      spec: daemonSetSpecSchema,
      status: workloadStatus({
        currentNumberScheduled: int32(), numberMisscheduled: int32(), desiredNumberScheduled: int32(), numberReady: int32(),
        updatedNumberScheduled: int32(), numberAvailable: int32(), numberUnavailable: int32(),
      }),
    }),
    defaults(o) {
      const spec = (o as DaemonSet).spec;
      if (!spec || typeof spec !== 'object') return;
      spec.updateStrategy ??= {};
      spec.updateStrategy.type ??= 'RollingUpdate';
      if (spec.updateStrategy.type === 'RollingUpdate') {
        spec.updateStrategy.rollingUpdate ??= {};
        spec.updateStrategy.rollingUpdate.maxUnavailable ??= 1;
        spec.updateStrategy.rollingUpdate.maxSurge ??= 0;
      }
      spec.revisionHistoryLimit ??= 10;
      defaultTemplate(spec.template);
    },
    validateSpec: validateDaemonSet,
    table: {
      columns: [
        nameColumn(),
        column('Desired', 'The total number of nodes that should be running the daemon pod.', { type: 'integer' }),
        column('Current', 'The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.', { type: 'integer' }),
        column('Ready', 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.', { type: 'integer' }),
        column('Up-to-date', 'The total number of nodes that are running updated daemon pod', { type: 'integer' }),
        column('Available', 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available.', { type: 'integer' }),
        column('Node Selector', 'NodeSelector is a selector which must be true for the pod to fit on a node.'),
        ageColumn(),
        wide('Containers', 'Names of each container in the template.'),
        wide('Images', 'Images referenced by each container in the template.'),
        wide('Selector', 'A label query over pods that are managed by the daemon set.'),
      ],
      cells(o, now) {
        const d = o as DaemonSet;
        const s = d.status ?? {};
        const [names, images] = containerColumns(d.spec?.template?.spec);
        return [
          d.metadata.name, s.desiredNumberScheduled ?? 0, s.currentNumberScheduled ?? 0, s.numberReady ?? 0, s.updatedNumberScheduled ?? 0, s.numberAvailable ?? 0,
          formatMap(d.spec?.template?.spec?.nodeSelector), age(d, now), names, images, formatLabelSelector(d.spec?.selector) || '<none>',
        ];
      },
    },
  });
}
