/**
 * VirtualMachine (kubevirt.io/v1, namespaced, short names vm and vms): a virtual machine that lives on
 * while its instances (VMIs) come and go, in KubeVirt's shape. `spec.runStrategy` says when an instance
 * runs (Always, RerunOnFailure, Manual, Halted, Once); the deprecated `spec.running` says the same as a
 * boolean, and setting both is invalid, as in KubeVirt. The template is checked as the VMI it would make
 * (with the VMI defaults applied to a copy); its stored form gets KubeVirt's VM defaults only (the
 * architecture, its machine type and a firmware UUID derived from the VM's name). DataVolume templates
 * need CDI, which Nubis does not have: they are refused.
 */
import type { KubeObject } from '../../meta.js';
import { conditionsList } from '../../meta-schema.js';
import type { FieldError, ResourceType } from '../../resource-type.js';
import { anything, bool, int, list, obj, str, stringMap, time } from '../../schema.js';
import { age, ageColumn, column, nameColumn } from '../../table.js';
import { fieldErr, validateAnnotations, validateLabels } from '../../validation.js';
import { defaultTemplateSpec, defaultVmiSpecBasics } from './vmi-defaults.js';
import { vmiTemplateSchema } from './vmi-schema.js';
import { conditionStatus, record, type VmiCondition, type VmiSpec, type VmiTemplateSpec } from './vmi-types.js';
import { defineKubevirtType } from './define-kubevirt.js';
import { validateVmiSpec } from './vmi-validation.js';

export const RUN_STRATEGIES = ['Always', 'RerunOnFailure', 'Manual', 'Halted', 'Once'] as const;
export type RunStrategy = (typeof RUN_STRATEGIES)[number];

export interface VirtualMachineSpec {
  running?: boolean;
  runStrategy?: RunStrategy;
  template: VmiTemplateSpec;
  dataVolumeTemplates?: unknown[];
  instancetype?: Record<string, unknown>;
  preference?: Record<string, unknown>;
}

export interface VirtualMachineStatus {
  printableStatus?: string;
  ready?: boolean;
  created?: boolean;
  conditions?: VmiCondition[];
  stateChangeRequests?: Array<{ action: 'Start' | 'Stop'; data?: Record<string, string>; uid?: string }>;
  runStrategy?: string;
}

export interface VirtualMachine extends KubeObject {
  spec: VirtualMachineSpec;
  status?: VirtualMachineStatus;
}

/** The run strategy a VM's spec says: runStrategy, or Always/Halted from the deprecated `running`. */
export function runStrategyOf(spec: Pick<VirtualMachineSpec, 'running' | 'runStrategy'>): RunStrategy {
  if (spec.runStrategy) return spec.runStrategy;
  return spec.running ? 'Always' : 'Halted';
}

const specSchema = obj(
  {
    running: bool('Deprecated: whether an instance runs (use runStrategy).'),
    runStrategy: str('When an instance of the VM runs.', [...RUN_STRATEGIES]),
    instancetype: anything('An instance type to take the hardware from (not supported by Nubis).'),
    preference: anything('Preferences to take defaults from (not supported by Nubis).'),
    template: vmiTemplateSchema,
    dataVolumeTemplates: list(anything(), { listType: 'atomic', description: 'DataVolumes (CDI) made with the VM: not supported by Nubis.' }),
    updateVolumesStrategy: str(undefined, ['Migration', 'Replacement']),
  },
  { required: ['template'], description: 'What the VirtualMachine runs, and when.' },
);

const statusSchema = obj({
  snapshotInProgress: str(),
  restoreInProgress: str(),
  created: bool('Whether an instance exists.'),
  ready: bool('Whether the instance is ready.'),
  printableStatus: str('The status kubectl shows (Stopped, Starting, Running…).'),
  conditions: conditionsList(),
  stateChangeRequests: list(obj({ action: str(undefined, ['Start', 'Stop']), data: stringMap(), uid: str() }, { required: ['action'] }), { listType: 'atomic' }),
  volumeRequests: list(anything(), { listType: 'atomic' }),
  volumeSnapshotStatuses: list(obj({ name: str(), enabled: bool(), reason: str() }, { required: ['name', 'enabled'] }), { listType: 'atomic' }),
  startFailure: obj({ consecutiveFailCount: int(), lastFailedVMIUID: str(), retryAfterTimestamp: time() }),
  memoryDumpRequest: anything(),
  observedGeneration: int(),
  desiredGeneration: int(),
  runStrategy: str(),
});

function defaults(o: KubeObject): void {
  const template = record(record(o.spec)?.['template']);
  if (template) defaultTemplateSpec(template['spec'], o.metadata.name ?? '');
}

function validateRunStrategy(spec: VirtualMachineSpec, errors: FieldError[]): void {
  if (spec.running !== undefined && spec.runStrategy !== undefined) {
    errors.push(fieldErr.invalid('spec.running', spec.running, 'running and runStrategy are mutually exclusive (running is deprecated: use runStrategy)'));
  }
  if (spec.running === undefined && spec.runStrategy === undefined) {
    errors.push(fieldErr.required('spec.runStrategy', `one of ${RUN_STRATEGIES.join(', ')}`));
  }
}

function validateUnsupported(spec: VirtualMachineSpec, errors: FieldError[]): void {
  if (spec.dataVolumeTemplates?.length) {
    errors.push(fieldErr.forbidden('spec.dataVolumeTemplates', 'DataVolume templates need CDI, which Nubis does not support: use a persistentVolumeClaim or containerDisk volume'));
  }
  if (spec.instancetype) errors.push(fieldErr.forbidden('spec.instancetype', 'instance types are not supported by Nubis: give the hardware in spec.template.spec.domain'));
  if (spec.preference) errors.push(fieldErr.forbidden('spec.preference', 'preferences are not supported by Nubis: give the settings in spec.template.spec'));
}

/** The template as the VMI it would make: KubeVirt's VMI spec defaults applied to a copy, then checked. */
function validateTemplate(template: VmiTemplateSpec): FieldError[] {
  const spec = structuredClone(template.spec);
  defaultVmiSpecBasics(spec as unknown as Record<string, unknown>);
  return [
    ...validateLabels(template.metadata?.labels, 'spec.template.metadata.labels'),
    ...validateAnnotations(template.metadata?.annotations, 'spec.template.metadata.annotations'),
    ...validateVmiSpec(spec as VmiSpec, 'spec.template.spec'),
  ];
}

function validateVm(o: KubeObject): FieldError[] {
  const spec = (o as VirtualMachine).spec;
  const errors: FieldError[] = [];
  validateRunStrategy(spec, errors);
  validateUnsupported(spec, errors);
  errors.push(...validateTemplate(spec.template));
  return errors;
}

function cells(o: KubeObject, now?: number): unknown[] {
  const status = (record(o.status) ?? {}) as VirtualMachineStatus;
  const printable = typeof status.printableStatus === 'string' ? status.printableStatus : '';
  return [o.metadata.name, age(o, now), printable, conditionStatus(status.conditions, 'Ready')];
}

export function virtualMachineType(): ResourceType {
  return defineKubevirtType({
    kind: 'VirtualMachine',
    resource: 'virtualmachines',
    shortNames: ['vm', 'vms'],
    description: 'VirtualMachine is a virtual machine whose instances it starts and stops by its run strategy.',
    spec: specSchema,
    status: statusSchema,
    defaults,
    validateSpec: validateVm,
    table: {
      columns: [nameColumn(), ageColumn(), column('Status', 'The status of the VM as people read it (Stopped, Starting, Running…).'), column('Ready', 'Whether its instance is ready.')],
      cells,
    },
  });
}
