import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { builtinResources } from '../../registry.js';
import { runStrategyOf, virtualMachineType, type VirtualMachine } from './vm.js';

const type = virtualMachineType();

/** KubeVirt's vm-cirros example, in its shape: a container disk and cloud-init, halted. */
function vm(extra: Record<string, unknown> = {}, name = 'vm-cirros'): VirtualMachine {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachine',
    metadata: { name, namespace: 'default', labels: { 'kubevirt.io/vm': name } },
    spec: {
      runStrategy: 'Halted',
      template: {
        metadata: { labels: { 'kubevirt.io/vm': name } },
        spec: {
          domain: { devices: { disks: [{ name: 'containerdisk', disk: { bus: 'virtio' } }, { name: 'cloudinitdisk', disk: { bus: 'virtio' } }] }, memory: { guest: '128Mi' }, resources: {} },
          terminationGracePeriodSeconds: 0,
          volumes: [
            { name: 'containerdisk', containerDisk: { image: 'quay.io/kubevirt/cirros-container-disk-demo' } },
            { name: 'cloudinitdisk', cloudInitNoCloud: { userData: '#!/bin/sh\necho from cloud-init\n' } },
          ],
        },
      },
      ...extra,
    } as VirtualMachine['spec'],
  };
}

function errors(o: VirtualMachine): string[] {
  type.defaults(o);
  return type.validate(o).map((e) => `${e.field}: ${e.message}`);
}

describe('VirtualMachine', () => {
  it('is served as kubevirt.io/v1 virtualmachines with short names vm and vms and KubeVirt\'s columns', () => {
    const registry = builtinResources();
    const t = registry.find('vm')!;
    assert.equal(t, registry.byKind('kubevirt.io', 'v1', 'VirtualMachine'));
    assert.equal(registry.find('vms'), t);
    assert.equal(registry.find('virtualmachines.kubevirt.io'), t);
    assert.equal(t.namespaced, true);
    assert.deepEqual(t.subresources, ['status']);
    assert.deepEqual(t.table.columns.map((c) => c.name), ['Name', 'Age', 'Status', 'Ready']);
    const o = { ...vm(), metadata: { name: 'vm-cirros', creationTimestamp: '2024-05-01T10:00:00Z' }, status: { printableStatus: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } };
    assert.deepEqual(t.table.cells(o, Date.parse('2024-05-01T10:02:00Z')), ['vm-cirros', '2m', 'Running', 'True']);
    assert.deepEqual(t.table.cells(vm()), ['vm-cirros', '<unknown>', '', '']);
  });

  it('accepts KubeVirt\'s example', () => {
    assert.deepEqual(errors(vm()), []);
  });

  it('gives its template the architecture, machine type and a firmware UUID derived from the VM name as KubeVirt does', () => {
    const o = vm();
    type.defaults(o);
    const spec = o.spec.template.spec;
    assert.equal(spec.architecture, 'amd64');
    assert.deepEqual(spec.domain.machine, { type: 'q35' });
    // uuid.uuid5(UUID('6a1a24a1-4061-4607-8bf4-a3963d0c5895'), 'vm-cirros') in Python: what KubeVirt's VM controller derives.
    assert.equal(spec.domain.firmware?.uuid, '0d2a2043-41c0-59c3-9b17-025022203668');
    assert.equal(spec.networks, undefined, 'the VMI defaults are for the VMI the VM makes, not for its template');
    assert.equal(spec.domain.cpu, undefined);
  });

  it('takes runStrategy or the deprecated running, not both, and not neither', () => {
    for (const s of ['Always', 'RerunOnFailure', 'Manual', 'Halted', 'Once']) assert.deepEqual(errors(vm({ runStrategy: s })), [], s);
    assert.deepEqual(errors(vm({ runStrategy: 'Sometimes' })), ['spec.runStrategy: Unsupported value: "Sometimes": supported values: "Always", "RerunOnFailure", "Manual", "Halted", "Once"']);
    assert.deepEqual(errors(vm({ runStrategy: undefined, running: true })), []);
    assert.deepEqual(errors(vm({ running: false })), ['spec.running: Invalid value: false: running and runStrategy are mutually exclusive (running is deprecated: use runStrategy)']);
    assert.deepEqual(errors(vm({ runStrategy: undefined })), ['spec.runStrategy: Required value: one of Always, RerunOnFailure, Manual, Halted, Once']);
    assert.equal(runStrategyOf({ running: true }), 'Always');
    assert.equal(runStrategyOf({ running: false }), 'Halted');
    assert.equal(runStrategyOf({ runStrategy: 'Once' }), 'Once');
  });

  it('refuses DataVolume templates, instance types and preferences as not supported', () => {
    assert.deepEqual(errors(vm({ dataVolumeTemplates: [{ metadata: { name: 'dv' }, spec: { source: { http: { url: 'http://x' } } } }] })), [
      'spec.dataVolumeTemplates: Forbidden: DataVolume templates need CDI, which Nubis does not support: use a persistentVolumeClaim or containerDisk volume',
    ]);
    assert.deepEqual(errors(vm({ dataVolumeTemplates: [] })), []);
    assert.match(errors(vm({ instancetype: { name: 'u1.medium' } }))[0]!, /^spec\.instancetype: Forbidden: instance types are not supported by Nubis/);
  });

  it('checks the template as the VMI it makes, with paths inside the template', () => {
    const o = vm();
    o.spec.template.spec.domain.devices.disks!.push({ name: 'ghost' });
    o.spec.template.spec.networks = [{ name: 'default', multus: { networkName: 'br1' } }];
    o.spec.template.metadata!.labels = { 'bad key!': 'x' };
    const e = errors(o);
    assert.deepEqual(e.map((m) => m.replace(/: .*/, '')), [
      'spec.template.metadata.labels',
      'spec.template.spec.domain.devices.disks[2].name',
      'spec.template.spec.networks[0].multus',
      'spec.template.spec.networks[0].name',
    ]);
    const noTemplate = vm();
    delete (noTemplate.spec as Partial<VirtualMachine['spec']>).template;
    assert.deepEqual(errors(noTemplate), ['spec.template: Required value']);
  });

  it('lets the template change, unlike a VMI\'s spec', () => {
    const old = vm();
    type.defaults(old);
    const next = structuredClone(old);
    next.spec.template.spec.domain.memory!.guest = '256Mi';
    next.spec.runStrategy = 'Always';
    assert.deepEqual(type.validate(next, old), []);
  });
});
