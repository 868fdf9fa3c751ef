/**
 * VirtualMachineInstance (kubevirt.io/v1, namespaced, short names vmi and vmis): one running virtual
 * machine, in KubeVirt's shape. Defaults and checks are KubeVirt's webhooks' (vmi-defaults.ts,
 * vmi-validation.ts); its spec does not change once created (KubeVirt lets only its own components
 * change it); `kubectl get vmi` prints KubeVirt's columns.
 */
import type { KubeObject } from '../../meta.js';
import type { FieldError, ResourceType } from '../../resource-type.js';
import { age, ageColumn, column, nameColumn, wide } from '../../table.js';
import { deepEqual, fieldErr } from '../../validation.js';
import { defaultVmiSpec, defaultVmiStatus } from './vmi-defaults.js';
import { vmiSpecSchema, vmiStatusSchema } from './vmi-schema.js';
import { conditionStatus, record, type VirtualMachineInstance, type VmiStatus } from './vmi-types.js';
import { defineKubevirtType } from './define-kubevirt.js';
import { validateVmiSpec } from './vmi-validation.js';

function defaults(o: KubeObject): void {
  const vmi = o as VirtualMachineInstance;
  if (!record(vmi.spec)) return;
  defaultVmiSpec(vmi.spec, vmi.metadata.name ?? '');
  vmi.status ??= {};
  if (record(vmi.status)) defaultVmiStatus(vmi.status, vmi.spec);
}

/** The spec as it would be stored: a stored spec gets the defaults it may not have had when it was written. */
function defaulted(spec: unknown, name: string): unknown {
  const copy = structuredClone(spec);
  defaultVmiSpec(copy, name);
  return copy;
}

function validateVmi(o: KubeObject, old?: KubeObject): FieldError[] {
  const vmi = o as VirtualMachineInstance;
  const errors = validateVmiSpec(vmi.spec, 'spec');
  if (old && !deepEqual(vmi.spec, defaulted(old.spec, old.metadata.name))) {
    errors.push(fieldErr.forbidden('spec', 'the spec of a VirtualMachineInstance cannot change once it is created'));
  }
  return errors;
}

function cells(o: KubeObject, now?: number): unknown[] {
  const status = (record(o.status) ?? {}) as VmiStatus;
  const first = Array.isArray(status.interfaces) ? record(status.interfaces[0]) : undefined;
  const text = (v: unknown) => (typeof v === 'string' ? v : '');
  return [
    o.metadata.name,
    age(o, now),
    text(status.phase),
    text(first?.['ipAddress']),
    text(status.nodeName),
    conditionStatus(status.conditions, 'Ready'),
    conditionStatus(status.conditions, 'LiveMigratable'),
    conditionStatus(status.conditions, 'Paused'),
  ];
}

export function virtualMachineInstanceType(): ResourceType {
  return defineKubevirtType({
    kind: 'VirtualMachineInstance',
    resource: 'virtualmachineinstances',
    shortNames: ['vmi', 'vmis'],
    description: 'VirtualMachineInstance is a virtual machine that runs: its hardware, storage and networks.',
    spec: vmiSpecSchema,
    status: vmiStatusSchema,
    defaults,
    validateSpec: validateVmi,
    table: {
      columns: [
        nameColumn(),
        ageColumn(),
        column('Phase', 'Where the VirtualMachineInstance is in its life.'),
        column('IP', 'The first address of its first interface.'),
        column('NodeName', 'The node it runs on.'),
        column('Ready', 'Whether it is ready.'),
        wide('Live-Migratable', 'Whether it can migrate live.'),
        wide('Paused', 'Whether it is paused.'),
      ],
      cells,
    },
    fields: {
      'status.phase': (o) => String(record(o.status)?.['phase'] ?? ''),
      'status.nodeName': (o) => String(record(o.status)?.['nodeName'] ?? ''),
    },
  });
}
