/**
 * VirtualMachineInstanceMigration (kubevirt.io/v1, namespaced, short names vmim and vmims): a request
 * to move a running VMI to another node, in KubeVirt's shape. `spec.vmiName` names the VMI (required,
 * immutable: a migration's spec never changes); like KubeVirt's webhook, the migration is labelled
 * `kubevirt.io/vmi-name` with it. Decentralized migrations (spec.sendTo/receive) are refused: KubeVirt
 * keeps them behind a feature gate, and Nubis does not have them.
 */
import type { KubeObject } from '../../meta.js';
import { conditionsList } from '../../meta-schema.js';
import type { FieldError, ResourceType } from '../../resource-type.js';
import { obj, str, stringMap } from '../../schema.js';
import { column, nameColumn } from '../../table.js';
import { check, deepEqual, dns1123Subdomain, fieldErr, labelValue, validateLabels } from '../../validation.js';
import { migrationStateSchema, phaseTransitionsSchema } from './vmi-schema.js';
import { defineKubevirtType } from './define-kubevirt.js';
import { record } from './vmi-types.js';

export const MIGRATION_PHASES = ['Pending', 'Scheduling', 'Scheduled', 'PreparingTarget', 'TargetReady', 'Running', 'Succeeded', 'Failed'] as const;
export type MigrationPhase = (typeof MIGRATION_PHASES)[number];

/** The label KubeVirt puts on a migration: the name of the VMI it moves. */
export const MIGRATION_VMI_LABEL = 'kubevirt.io/vmi-name';

export interface VirtualMachineInstanceMigration extends KubeObject {
  spec: { vmiName: string; addedNodeSelector?: Record<string, string>; sendTo?: unknown; receive?: unknown };
  status?: { phase?: MigrationPhase; migrationState?: Record<string, unknown>; conditions?: unknown[] };
}

const specSchema = obj(
  {
    vmiName: str('The VirtualMachineInstance to migrate, in the same namespace.'),
    addedNodeSelector: stringMap('Labels the target node must have, besides the VMI\'s own node selector.'),
    sendTo: obj({ migrationID: str(), connectURL: str() }, { description: 'Decentralized migration: not supported by Nubis.' }),
    receive: obj({ migrationID: str() }, { description: 'Decentralized migration: not supported by Nubis.' }),
  },
  { description: 'Which VMI to migrate.' },
);

const statusSchema = obj({
  phase: str('Where the migration stands.', [...MIGRATION_PHASES]),
  conditions: conditionsList(),
  phaseTransitionTimestamps: phaseTransitionsSchema,
  migrationState: migrationStateSchema,
});

function defaults(o: KubeObject): void {
  const vmiName = record(o.spec)?.['vmiName'];
  if (typeof vmiName !== 'string' || vmiName === '' || labelValue(vmiName).length > 0) return;
  const labels = o.metadata.labels;
  if (labels !== undefined && !record(labels)) return;
  o.metadata.labels = { ...labels, [MIGRATION_VMI_LABEL]: vmiName };
}

function validateMigration(o: KubeObject, old?: KubeObject): FieldError[] {
  const spec = (o as VirtualMachineInstanceMigration).spec;
  const errors: FieldError[] = [];
  if (!spec.vmiName) errors.push(fieldErr.required('spec.vmiName', 'the name of the VirtualMachineInstance to migrate'));
  else check(errors, 'spec.vmiName', spec.vmiName, dns1123Subdomain(spec.vmiName));
  errors.push(...validateLabels(spec.addedNodeSelector, 'spec.addedNodeSelector'));
  for (const f of ['sendTo', 'receive'] as const) {
    if (spec[f] !== undefined) errors.push(fieldErr.forbidden(`spec.${f}`, 'decentralized live migration is not supported by Nubis'));
  }
  const before = (old as VirtualMachineInstanceMigration | undefined)?.spec;
  if (before && spec.vmiName !== before.vmiName) errors.push(fieldErr.invalid('spec.vmiName', spec.vmiName, 'field is immutable'));
  else if (before && !deepEqual(spec, before)) errors.push(fieldErr.forbidden('spec', 'the spec of a migration cannot change once it is created'));
  return errors;
}

function cells(o: KubeObject): unknown[] {
  const phase = record(o.status)?.['phase'];
  const vmi = record(o.spec)?.['vmiName'];
  return [o.metadata.name, typeof phase === 'string' ? phase : '', typeof vmi === 'string' ? vmi : ''];
}

export function migrationType(): ResourceType {
  return defineKubevirtType({
    kind: 'VirtualMachineInstanceMigration',
    resource: 'virtualmachineinstancemigrations',
    shortNames: ['vmim', 'vmims'],
    description: 'VirtualMachineInstanceMigration asks for a running VirtualMachineInstance to move to another node.',
    spec: specSchema,
    status: statusSchema,
    defaults,
    validateSpec: validateMigration,
    table: {
      columns: [nameColumn(), column('Phase', 'Where the migration stands.'), column('VMI', 'The VirtualMachineInstance it migrates.')],
      cells,
    },
    fields: { 'spec.vmiName': (o) => String(record(o.spec)?.['vmiName'] ?? '') },
  });
}
