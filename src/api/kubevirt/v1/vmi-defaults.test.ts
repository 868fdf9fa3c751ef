import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { containerDiskPullPolicy, defaultArchitecture, firmwareUuidFor } from './vmi-defaults.js';
import type { VirtualMachineInstance } from './vmi-types.js';
import { virtualMachineInstanceType } from './vmi.js';

const type = virtualMachineInstanceType();

function vmi(spec: Record<string, unknown>, name = 'testvmi'): VirtualMachineInstance {
  return { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachineInstance', metadata: { name, namespace: 'default' }, spec: spec as never };
}

const domain = (extra: Record<string, unknown> = {}) => ({ devices: {}, memory: { guest: '128Mi' }, ...extra });

/** The VMI after defaulting. */
function defaulted(spec: Record<string, unknown>, name?: string): VirtualMachineInstance {
  const o = vmi(structuredClone(spec), name);
  type.defaults(o);
  return o;
}

describe('VirtualMachineInstance defaults', () => {
  it('adds the pod network with a masquerade interface named default when there is neither', () => {
    const o = defaulted({ domain: domain() });
    assert.deepEqual(o.spec.domain.devices.interfaces, [{ name: 'default', masquerade: {} }]);
    assert.deepEqual(o.spec.networks, [{ name: 'default', pod: {} }]);
  });

  it('adds no network when one is given, or when autoattachPodInterface is false', () => {
    const given = defaulted({ domain: domain({ devices: { interfaces: [{ name: 'n', bridge: {} }] } }), networks: [{ name: 'n', pod: {} }] });
    assert.deepEqual(given.spec.networks, [{ name: 'n', pod: {} }]);
    assert.deepEqual(given.spec.domain.devices.interfaces, [{ name: 'n', bridge: {} }]);
    const off = defaulted({ domain: domain({ devices: { autoattachPodInterface: false } }) });
    assert.equal(off.spec.networks, undefined);
    assert.equal(off.spec.domain.devices.interfaces, undefined);
  });

  it('gives every volume without a disk a disk, and disks without a target a disk target on the architecture\'s bus', () => {
    const o = defaulted({
      domain: domain({ devices: { disks: [{ name: 'root', disk: { bus: 'virtio' } }, { name: 'iso', cdrom: {} }] } }),
      volumes: [
        { name: 'root', containerDisk: { image: 'quay.io/kubevirt/cirros-container-disk-demo:v1.4.0' } },
        { name: 'iso', persistentVolumeClaim: { claimName: 'iso' } },
        { name: 'seed', cloudInitNoCloud: { userData: '#cloud-config' } },
      ],
    });
    assert.equal(o.spec.architecture, 'amd64');
    assert.deepEqual(o.spec.domain.devices.disks, [
      { name: 'root', disk: { bus: 'virtio' } },
      { name: 'iso', cdrom: { bus: 'sata', readonly: true, tray: 'closed' } },
      { name: 'seed', disk: { bus: 'sata' } },
    ]);
  });

  it('uses virtio (scsi for CD-ROMs), host-passthrough and EFI on arm64', () => {
    const o = defaulted({ architecture: 'arm64', domain: domain({ devices: { disks: [{ name: 'a' }, { name: 'b', cdrom: {} }] } }), volumes: [{ name: 'a', emptyDisk: { capacity: '1Gi' } }, { name: 'b', persistentVolumeClaim: { claimName: 'b' } }] });
    assert.deepEqual(o.spec.domain.devices.disks?.map((d) => d.disk?.bus ?? d.cdrom?.bus), ['virtio', 'scsi']);
    assert.equal(o.spec.domain.machine?.type, 'virt');
    assert.equal(o.spec.domain.cpu?.model, 'host-passthrough');
    assert.deepEqual(o.spec.domain.firmware?.bootloader, { efi: { secureBoot: false } });
  });

  it('sets machine type q35, CPU model host-model, eviction strategy None and ACPI on amd64', () => {
    const o = defaulted({ domain: domain({ features: { smm: {} } }) });
    assert.deepEqual(o.spec.domain.machine, { type: 'q35' });
    assert.equal(o.spec.domain.cpu?.model, 'host-model');
    assert.equal(o.spec.evictionStrategy, 'None');
    assert.deepEqual(o.spec.domain.features, { smm: { enabled: true }, acpi: { enabled: true } });
    const kept = defaulted({ domain: domain({ machine: { type: 'pc-q35-rhel9.4.0' }, cpu: { model: 'Haswell' } }), evictionStrategy: 'LiveMigrate' });
    assert.equal(kept.spec.domain.machine?.type, 'pc-q35-rhel9.4.0');
    assert.equal(kept.spec.domain.cpu?.model, 'Haswell');
    assert.equal(kept.spec.evictionStrategy, 'LiveMigrate');
  });

  it('takes the guest memory from the memory request, else the limit, and keeps a given one', () => {
    const req = defaulted({ domain: { devices: {}, resources: { requests: { memory: '1024Mi' }, limits: { memory: '2Gi' } } } });
    assert.equal(req.spec.domain.memory?.guest, '1Gi');
    assert.deepEqual(req.spec.domain.resources?.requests, { memory: '1Gi' });
    const lim = defaulted({ domain: { devices: {}, resources: { limits: { memory: '512Mi' } } } });
    assert.equal(lim.spec.domain.memory?.guest, '512Mi');
    assert.equal(lim.spec.domain.resources?.requests, undefined, 'the request is not made up from the guest memory');
    const own = defaulted({ domain: { devices: {}, memory: { guest: '256Mi' }, resources: { requests: { memory: '1Gi' } } } });
    assert.equal(own.spec.domain.memory?.guest, '256Mi');
    const none = defaulted({ domain: { devices: {} } });
    assert.equal(none.spec.domain.memory?.guest, undefined);
  });

  it('makes a topology of one core and one thread per socket, sockets from the CPU limit or request', () => {
    assert.deepEqual(defaulted({ domain: domain() }).spec.domain.cpu, { sockets: 1, cores: 1, threads: 1, model: 'host-model' });
    const limit = defaulted({ domain: domain({ resources: { limits: { cpu: '2500m' } } }) });
    assert.equal(limit.spec.domain.cpu?.sockets, 3);
    assert.deepEqual(limit.spec.domain.resources?.requests, { cpu: '2500m' }, 'the CPU request follows the limit');
    assert.equal(defaulted({ domain: domain({ resources: { requests: { cpu: '2' } } }) }).spec.domain.cpu?.sockets, 2);
    const given = defaulted({ domain: domain({ cpu: { cores: 4 } }) });
    assert.deepEqual(given.spec.domain.cpu, { cores: 4, model: 'host-model' });
  });

  it('derives the firmware UUID from the name, stably, and keeps a given one', () => {
    const a = defaulted({ domain: domain() }, 'vm-a');
    assert.equal(a.spec.domain.firmware?.uuid, firmwareUuidFor('vm-a'));
    assert.equal(defaulted({ domain: domain() }, 'vm-a').spec.domain.firmware?.uuid, a.spec.domain.firmware?.uuid);
    assert.notEqual(defaulted({ domain: domain() }, 'vm-b').spec.domain.firmware?.uuid, a.spec.domain.firmware?.uuid);
    const own = defaulted({ domain: domain({ firmware: { uuid: '5d307ca9-b3ef-428c-8861-06e72d69f223' } }) });
    assert.equal(own.spec.domain.firmware?.uuid, '5d307ca9-b3ef-428c-8861-06e72d69f223');
  });

  it('pulls container disks always for :latest or untagged images, else if not present', () => {
    assert.equal(containerDiskPullPolicy('quay.io/kubevirt/cirros-container-disk-demo'), 'Always');
    assert.equal(containerDiskPullPolicy('quay.io/kubevirt/cirros-container-disk-demo:latest'), 'Always');
    assert.equal(containerDiskPullPolicy('quay.io/kubevirt/cirros-container-disk-demo:v1.4.0'), 'IfNotPresent');
    assert.equal(containerDiskPullPolicy('quay.io/kubevirt/demo@sha256:abcd'), 'IfNotPresent');
    const o = defaulted({ domain: domain(), volumes: [{ name: 'd', containerDisk: { image: 'busybox' } }, { name: 'e', containerDisk: { image: 'busybox', imagePullPolicy: 'Never' } }] });
    assert.deepEqual(o.spec.volumes?.map((v) => v.containerDisk?.imagePullPolicy), ['Always', 'Never']);
  });

  it('starts the status Pending, with the CPU topology and the guest memory', () => {
    const o = defaulted({ domain: domain() });
    assert.deepEqual(o.status, { phase: 'Pending', currentCPUTopology: { cores: 1, sockets: 1, threads: 1 }, memory: { guestAtBoot: '128Mi', guestCurrent: '128Mi', guestRequested: '128Mi' } });
    const running = vmi({ domain: domain() });
    running.status = { phase: 'Running' };
    type.defaults(running);
    assert.equal(running.status.phase, 'Running');
  });

  it('changes nothing when applied again', () => {
    const once = defaulted({ domain: domain({ resources: { limits: { cpu: '2' } } }), volumes: [{ name: 'v', emptyDisk: { capacity: '1024Mi' } }] });
    const twice = structuredClone(once);
    type.defaults(twice);
    assert.deepEqual(twice, once);
  });

  it('leaves values of the wrong shape to validation without throwing', () => {
    for (const spec of ['x', { domain: 5 }, { domain: { devices: 'x' } }, { domain: { devices: { disks: {} } }, volumes: 'x' }, { domain: { cpu: 'x', memory: [], resources: { requests: 'x' } }, volumes: [null, 3] }]) {
      const o = vmi(spec as Record<string, unknown>);
      assert.doesNotThrow(() => type.defaults(o));
    }
  });

  it('names the server\'s architecture as Go does', () => {
    assert.equal(defaultArchitecture('x64'), 'amd64');
    assert.equal(defaultArchitecture('arm64'), 'arm64');
    assert.equal(defaultArchitecture('ia32'), 'amd64');
  });
});
