import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../meta.js';
import { builtinResources } from '../../registry.js';
import { migrationType, type VirtualMachineInstanceMigration } from './migration.js';

const type = migrationType();

const vmim = (spec: Record<string, unknown> = { vmiName: 'vmi-fedora' }, name = 'migration-job'): VirtualMachineInstanceMigration => ({
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachineInstanceMigration',
  metadata: { name, namespace: 'default' },
  spec: spec as VirtualMachineInstanceMigration['spec'],
});

function errors(o: KubeObject, old?: KubeObject): string[] {
  type.defaults(o);
  return type.validate(o, old).map((e) => `${e.field}: ${e.message}`);
}

describe('VirtualMachineInstanceMigration', () => {
  it('is served as kubevirt.io/v1 virtualmachineinstancemigrations (vmim, vmims) with NAME, PHASE and VMI columns', () => {
    const registry = builtinResources();
    const t = registry.find('vmim')!;
    assert.equal(t, registry.byKind('kubevirt.io', 'v1', 'VirtualMachineInstanceMigration'));
    assert.equal(registry.find('vmims'), t);
    assert.equal(t.resource, 'virtualmachineinstancemigrations');
    assert.deepEqual(t.table.columns.map((c) => c.name), ['Name', 'Phase', 'VMI']);
    assert.deepEqual(t.table.cells({ ...vmim(), status: { phase: 'Running' } }), ['migration-job', 'Running', 'vmi-fedora']);
    assert.deepEqual(t.table.cells(vmim()), ['migration-job', '', 'vmi-fedora']);
  });

  it('requires the name of the VMI, labels itself with it, and refuses decentralized migration', () => {
    const o = vmim();
    assert.deepEqual(errors(o), []);
    assert.deepEqual(o.metadata.labels, { 'kubevirt.io/vmi-name': 'vmi-fedora' });
    assert.deepEqual(errors(vmim({})), ['spec.vmiName: Required value: the name of the VirtualMachineInstance to migrate']);
    assert.match(errors(vmim({ vmiName: 'Bad_Name' }))[0]!, /^spec\.vmiName: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/);
    assert.deepEqual(errors(vmim({ vmiName: 'vmi-fedora', sendTo: { migrationID: 'm', connectURL: 'x' } })), ['spec.sendTo: Forbidden: decentralized live migration is not supported by Nubis']);
  });

  it('keeps its spec, and the VMI it names, for life', () => {
    const old = vmim({ vmiName: 'vmi-fedora', addedNodeSelector: { zone: 'a' } });
    type.defaults(old);
    assert.deepEqual(errors(vmim({ vmiName: 'vmi-other', addedNodeSelector: { zone: 'a' } }), old), ['spec.vmiName: Invalid value: "vmi-other": field is immutable']);
    assert.deepEqual(errors(vmim({ vmiName: 'vmi-fedora', addedNodeSelector: { zone: 'b' } }), old), ['spec: Forbidden: the spec of a migration cannot change once it is created']);
    const relabelled = vmim({ vmiName: 'vmi-fedora', addedNodeSelector: { zone: 'a' } });
    relabelled.metadata.labels = { team: 'x' };
    assert.deepEqual(errors(relabelled, old), []);
    assert.equal(relabelled.metadata.labels['kubevirt.io/vmi-name'], 'vmi-fedora');
  });

  it('checks its status phase', () => {
    const o = { ...vmim(), status: { phase: 'Teleporting' } };
    assert.deepEqual(errors(o), ['status.phase: Unsupported value: "Teleporting": supported values: "Pending", "Scheduling", "Scheduled", "PreparingTarget", "TargetReady", "Running", "Succeeded", "Failed"']);
  });
});
