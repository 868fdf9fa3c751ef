import { defineType } from '../../define.js';
import type { KubeObject, LabelSelectorSpec } from '../../meta.js';
import { defaultTemplate, validateNonNegative, validateSelectorUpdate, validateTemplateAndSelector } from '../../apps/v1/workload.js';
import { podTemplateSpecSchema } from '../../core/v1/pod-schema.js';
import type { PodTemplateSpec } from '../../core/v1/pod-types.js';
import { conditionSchema, kindSchema, labelSelectorSchema } from '../../meta-schema.js';
import type { FieldError, ResourceType } from '../../resource-type.js';
import { anything, bool, int, int32, list, obj, str, stringList, time } from '../../schema.js';
import { age, ageColumn, column, containerColumns, humanDuration, nameColumn, since, wide } from '../../table.js';
import { fieldErr, formatLabelSelector, immutable } from '../../validation.js';

export interface JobSpec {
  parallelism?: number;
  completions?: number;
  activeDeadlineSeconds?: number;
  backoffLimit?: number;
  selector?: LabelSelectorSpec;
  manualSelector?: boolean;
  template: PodTemplateSpec;
  ttlSecondsAfterFinished?: number;
  completionMode?: 'NonIndexed' | 'Indexed';
  suspend?: boolean;
  podReplacementPolicy?: 'TerminatingOrFailed' | 'Failed';
  [field: string]: unknown;
}

export interface JobStatus {
  conditions?: Array<{ type: string; status: string; reason?: string; message?: string; lastProbeTime?: string; lastTransitionTime?: string }>;
  startTime?: string;
  completionTime?: string;
  active?: number;
  succeeded?: number;
  failed?: number;
  terminating?: number;
  ready?: number;
  completedIndexes?: string;
}

export interface Job extends KubeObject {
  spec: JobSpec;
  status?: JobStatus;
}

/**
 * Kubernetes' Job defaults. Without `manualSelector`, the selector and template labels are generated
 * from metadata.uid (controller-uid and job-name labels): the server must assign the uid before calling.
 */
function defaultJob(o: KubeObject): void {
  const job = o as Job;
  const spec = job.spec;
  if (!spec || typeof spec !== 'object') return;
  if (spec.completions === undefined && spec.parallelism === undefined) {
    spec.completions = 1;
    spec.parallelism = 1;
  }
  spec.parallelism ??= 1;
  spec.backoffLimit ??= 6;
  spec.completionMode ??= 'NonIndexed';
  spec.suspend ??= false;
  if (spec['podFailurePolicy'] === undefined) spec.podReplacementPolicy ??= 'TerminatingOrFailed';
  spec.manualSelector ??= undefined;
  const uid = job.metadata.uid;
  if (!spec.manualSelector && !spec.selector && uid && spec.template) {
    spec.selector = { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
    const meta = (spec.template.metadata ??= {});
    meta.labels = {
      ...meta.labels,
      'batch.kubernetes.io/controller-uid': uid,
      'batch.kubernetes.io/job-name': job.metadata.name,
      'controller-uid': uid,
      'job-name': job.metadata.name,
    };
  }
  defaultTemplate(spec.template);
}

function validateJob(o: KubeObject, old?: KubeObject): FieldError[] {
  const spec = (o as Job).spec;
  if (!spec || typeof spec !== 'object') return [fieldErr.required('spec')];
  const errors = validateTemplateAndSelector(spec.selector, spec.template, { restartPolicies: ['OnFailure', 'Never'], selectorRequired: false });
  for (const f of ['parallelism', 'completions', 'backoffLimit', 'ttlSecondsAfterFinished'] as const) validateNonNegative(errors, `spec.${f}`, spec[f]);
  if (spec.activeDeadlineSeconds !== undefined && (!Number.isInteger(spec.activeDeadlineSeconds) || spec.activeDeadlineSeconds <= 0)) {
    errors.push(fieldErr.invalid('spec.activeDeadlineSeconds', spec.activeDeadlineSeconds, 'must be greater than 0'));
  }
  if (spec.completionMode !== undefined && !['NonIndexed', 'Indexed'].includes(spec.completionMode)) {
    errors.push(fieldErr.notSupported('spec.completionMode', spec.completionMode, ['NonIndexed', 'Indexed']));
  }
  if (spec.completionMode === 'Indexed' && spec.completions === undefined) errors.push(fieldErr.required('spec.completions', "when completion mode is Indexed"));
  const oldSpec = (old as Job | undefined)?.spec;
  if (oldSpec) {
    validateSelectorUpdate(spec.selector, oldSpec.selector, errors);
    if (!oldSpec.suspend) immutable(errors, 'spec.template', spec.template, oldSpec.template);
    if (spec.completionMode !== 'Indexed') immutable(errors, 'spec.completions', spec.completions, oldSpec.completions);
    immutable(errors, 'spec.completionMode', spec.completionMode, oldSpec.completionMode);
  }
  return errors;
}

/** The STATUS column kubectl 1.32 prints for a Job. */
export function jobStatusCell(job: Job): string {
  const is = (type: string) => job.status?.conditions?.some((c) => c.type === type && c.status === 'True');
  if (is('Complete')) return 'Complete';
  if (is('Failed')) return 'Failed';
  if (job.metadata.deletionTimestamp) return 'Terminating';
  if (is('FailureTarget')) return 'FailureTarget';
  if (is('SuccessCriteriaMet')) return 'SuccessCriteriaMet';
  if (is('Suspended')) return 'Suspended';
  return 'Running';
}

function completionsCell(job: Job): string {
  const succeeded = job.status?.succeeded ?? 0;
  if (job.spec?.completions !== undefined) return `${succeeded}/${job.spec.completions}`;
  const parallelism = job.spec?.parallelism ?? 0;
  return parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
}

function durationCell(job: Job, now: number): string {
  const start = job.status?.startTime;
  if (!start) return '';
  const end = job.status?.completionTime;
  return end ? humanDuration(Date.parse(end) - Date.parse(start)) : since(start, now);
}

export function jobType(): ResourceType {
  return defineType({
    group: 'batch',
    version: 'v1',
    kind: 'Job',
    resource: 'jobs',
    singular: 'job',
    namespaced: true,
    categories: ['all'],
    subresources: ['status'],
    hasStatus: true,
    schema: kindSchema('Job represents the configuration of a single job.', {
      spec: obj({
        parallelism: int32(),
        completions: int32(),
        activeDeadlineSeconds: int(),
        podFailurePolicy: obj({ rules: list(anything(), { listType: 'atomic' }) }),
        successPolicy: obj({ rules: list(obj({ succeededIndexes: str(), succeededCount: int32() }), { listType: 'atomic' }) }),
        backoffLimit: int32(),
        backoffLimitPerIndex: int32(),
        maxFailedIndexes: int32(),
        selector: labelSelectorSchema,
        manualSelector: bool(),
        template: podTemplateSpecSchema,
        ttlSecondsAfterFinished: int32(),
        completionMode: str(undefined, ['NonIndexed', 'Indexed']),
        suspend: bool(),
        podReplacementPolicy: str(),
        managedBy: str(),
      }, { required: ['template'] }),
      status: obj({
        conditions: list(conditionSchema, { listType: 'atomic' }),
        startTime: time(),
        completionTime: time(),
        active: int32(),
        succeeded: int32(),
        failed: int32(),
        terminating: int32(),
        completedIndexes: str(),
        failedIndexes: str(),
        uncountedTerminatedPods: obj({ succeeded: stringList(), failed: stringList() }),
        ready: int32(),
      }),
    }),
    defaults: defaultJob,
    validateSpec: validateJob,
    table: {
      columns: [
        nameColumn(),
        column('Status', 'Status of the job.'),
        column('Completions', 'The desired number of successfully finished pods the job should be run with.'),
        column('Duration', 'Time required to complete the job.'),
        ageColumn(),
        wide('Containers', 'Names of each container in the template.'),
        wide('Images', 'Images referenced by each container in the template.'),
        wide('Selector', 'A label query over pods that should match the pod count.'),
      ],
      cells(o, now = Date.now()) {
        const j = o as Job;
        const [names, images] = containerColumns(j.spec?.template?.spec);
        return [j.metadata.name, jobStatusCell(j), completionsCell(j), durationCell(j, now), age(j, now), names, images, formatLabelSelector(j.spec?.selector) || '<none>'];
      },
    },
    fields: { 'status.successful': (o) => String((o as Job).status?.succeeded ?? 0) },
  });
}
