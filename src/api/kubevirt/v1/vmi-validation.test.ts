import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { VirtualMachineInstance } from './vmi-types.js';
import { validateVmiSpec } from './vmi-validation.js';
import { virtualMachineInstanceType } from './vmi.js';

const type = virtualMachineInstanceType();

/** A valid VMI spec: a container disk, cloud-init, a masquerade interface on the pod network. */
function spec(): Record<string, any> {
  return {
    domain: {
      devices: {
        disks: [{ name: 'containerdisk', disk: { bus: 'virtio' } }, { name: 'cloudinitdisk', disk: { bus: 'virtio' } }],
        interfaces: [{ name: 'default', masquerade: {}, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }],
        rng: {},
      },
      memory: { guest: '128Mi' },
      resources: {},
    },
    networks: [{ name: 'default', pod: {} }],
    terminationGracePeriodSeconds: 0,
    volumes: [
      { name: 'containerdisk', containerDisk: { image: 'quay.io/kubevirt/cirros-container-disk-demo' } },
      { name: 'cloudinitdisk', cloudInitNoCloud: { userData: '#!/bin/sh\necho hello\n' } },
    ],
  };
}

const vmi = (s: Record<string, unknown>): VirtualMachineInstance => ({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachineInstance', metadata: { name: 'testvmi', namespace: 'default' }, spec: s as never });

/** The errors of a VMI with `s` as its spec, defaults applied first (as the server does). */
function errors(s: Record<string, unknown>): string[] {
  const o = vmi(s);
  type.defaults(o);
  return type.validate(o).map((e) => `${e.field}: ${e.message}`);
}

function change(f: (s: Record<string, any>) => void): Record<string, any> {
  const s = spec();
  f(s);
  return s;
}

describe('VirtualMachineInstance validation', () => {
  it('accepts KubeVirt\'s example shape', () => {
    assert.deepEqual(errors(spec()), []);
  });

  it('requires each disk to name a volume, and shows each volume on one disk only', () => {
    assert.deepEqual(errors(change((s) => s.domain.devices.disks.push({ name: 'ghost', disk: {} }))), ['spec.domain.devices.disks[2].name: Invalid value: "ghost": no volume of this name in spec.volumes']);
    assert.deepEqual(errors(change((s) => s.domain.devices.disks.push({ name: 'containerdisk', cdrom: {} }))), ['spec.domain.devices.disks[2].name: Duplicate value: "containerdisk"']);
    // The volume left without a disk gets one by default; the renamed disk names no volume, and no valid one.
    const renamed = errors(change((s) => (s.domain.devices.disks[0].name = 'Root_Disk')));
    assert.equal(renamed.length, 2);
    assert.match(renamed[0]!, /^spec\.domain\.devices\.disks\[0\]\.name: Invalid value: "Root_Disk": a lowercase RFC 1123 label/);
    assert.equal(renamed[1], 'spec.domain.devices.disks[0].name: Invalid value: "Root_Disk": no volume of this name in spec.volumes');
  });

  it('checks disk targets, buses and boot orders', () => {
    const e = errors(change((s) => {
      s.domain.devices.disks[0] = { name: 'containerdisk', disk: {}, cdrom: {}, bootOrder: 1 };
      s.domain.devices.disks[1] = { name: 'cloudinitdisk', cdrom: { bus: 'virtio' }, bootOrder: 1 };
    }));
    assert.deepEqual(e, [
      'spec.domain.devices.disks[0]: Invalid value: "disk, cdrom": only one of disk, lun and cdrom may be set',
      'spec.domain.devices.disks[1].cdrom.bus: Invalid value: "virtio": a CD-ROM cannot be on the virtio bus',
      'spec.domain.devices.disks[1].bootOrder: Duplicate value: 1',
    ]);
    assert.deepEqual(errors(change((s) => (s.domain.devices.disks[0].disk.bus = 'ide'))), ['spec.domain.devices.disks[0].disk.bus: Unsupported value: "ide": supported values: "virtio", "sata", "scsi", "usb"']);
  });

  it('requires unique volume names and exactly one supported source per volume', () => {
    assert.deepEqual(errors(change((s) => s.volumes.push({ name: 'containerdisk', emptyDisk: { capacity: '1Gi' } }))), ['spec.volumes[2].name: Duplicate value: "containerdisk"']);
    assert.deepEqual(errors(change((s) => (s.volumes[0].emptyDisk = { capacity: '1Gi' }))), [
      'spec.volumes[0]: Invalid value: "containerDisk, emptyDisk": must have exactly one source type set (containerDisk, emptyDisk, cloudInitNoCloud, cloudInitConfigDrive, hostDisk, persistentVolumeClaim)',
    ]);
    assert.match(errors(change((s) => (s.volumes[1] = { name: 'cloudinitdisk' })))[0]!, /^spec\.volumes\[1\]: Invalid value: "": must have exactly one source type set/);
    assert.deepEqual(errors(change((s) => (s.volumes[1] = { name: 'cloudinitdisk', dataVolume: { name: 'dv' } }))), [
      'spec.volumes[1].dataVolume: Unsupported value: "dataVolume": supported values: "containerDisk", "emptyDisk", "cloudInitNoCloud", "cloudInitConfigDrive", "hostDisk", "persistentVolumeClaim"',
    ]);
  });

  it('requires a container disk image and a clean path', () => {
    assert.deepEqual(errors(change((s) => (s.volumes[0].containerDisk = { image: '' }))), ['spec.volumes[0].containerDisk.image: Required value']);
    assert.deepEqual(errors(change((s) => (s.volumes[0].containerDisk.path = '/disk/../etc/shadow'))), ['spec.volumes[0].containerDisk.path: Invalid value: "/disk/../etc/shadow": must be an absolute path to a file without relative components']);
    assert.deepEqual(errors(change((s) => delete s.volumes[0].containerDisk.image)), ['spec.volumes[0].containerDisk.image: Required value']);
  });

  it('keeps inline cloud-init data within 2048 bytes, and one source of it', () => {
    assert.deepEqual(errors(change((s) => (s.volumes[1].cloudInitNoCloud.userData = 'x'.repeat(2048)))), []);
    assert.deepEqual(errors(change((s) => (s.volumes[1].cloudInitNoCloud.userData = 'x'.repeat(2049)))), ['spec.volumes[1].cloudInitNoCloud.userData: Too long: may not be more than 2048 bytes (put larger data in a Secret)']);
    assert.deepEqual(errors(change((s) => (s.volumes[1].cloudInitNoCloud = { userDataBase64: Buffer.alloc(2049).toString('base64') }))), ['spec.volumes[1].cloudInitNoCloud.userDataBase64: Too long: may not be more than 2048 bytes (put larger data in a Secret)']);
    assert.deepEqual(errors(change((s) => (s.volumes[1].cloudInitConfigDrive = s.volumes[1].cloudInitNoCloud, delete s.volumes[1].cloudInitNoCloud, s.volumes[1].cloudInitConfigDrive.networkData = 'é'.repeat(1025)))), [
      'spec.volumes[1].cloudInitConfigDrive.networkData: Too long: may not be more than 2048 bytes (put larger data in a Secret)',
    ]);
    assert.deepEqual(errors(change((s) => (s.volumes[1].cloudInitNoCloud.secretRef = { name: 'userdata' }))), ['spec.volumes[1].cloudInitNoCloud: Invalid value: "userData": only one of userData, userDataBase64 and secretRef may be set']);
    assert.deepEqual(errors(change((s) => (s.volumes[1].cloudInitNoCloud = { userDataBase64: '!!' }))), ['spec.volumes[1].cloudInitNoCloud.userDataBase64: Invalid value: "!!": spec.volumes[1].cloudInitNoCloud.userDataBase64 in body must be of type byte: "!!"']);
    assert.deepEqual(errors(change((s) => (s.volumes[1].cloudInitNoCloud = { userDataBase64: Buffer.from('#cloud-config\n').toString('base64') }))), []);
    assert.deepEqual(errors(change((s) => (s.volumes[1].cloudInitNoCloud = {}))), ['spec.volumes[1].cloudInitNoCloud: Required value: user data or network data must be given']);
  });

  it('takes host disks of type Disk (without capacity) or DiskOrCreate (with one)', () => {
    const host = (hostDisk: Record<string, unknown>) => errors(change((s) => (s.volumes[1] = { name: 'cloudinitdisk', hostDisk })));
    assert.deepEqual(host({ path: '/var/data/disk.img', type: 'DiskOrCreate', capacity: '1Gi' }), []);
    assert.deepEqual(host({ path: '/var/data/disk.img', type: 'Disk' }), []);
    assert.deepEqual(host({ path: '/var/data/disk.img', type: 'DiskOrCreate' }), ['spec.volumes[1].hostDisk.capacity: Required value: a hostDisk of type DiskOrCreate needs a capacity greater than 0']);
    assert.deepEqual(host({ path: '/var/data/disk.img', type: 'Disk', capacity: '1Gi' }), ['spec.volumes[1].hostDisk.capacity: Invalid value: "1Gi": may be set only with type DiskOrCreate']);
    assert.deepEqual(host({ path: '/var/data/disk.img', type: 'File' }), ['spec.volumes[1].hostDisk.type: Unsupported value: "File": supported values: "Disk", "DiskOrCreate"']);
    assert.deepEqual(host({ path: 'disk.img', type: 'Disk' }), ['spec.volumes[1].hostDisk.path: Invalid value: "disk.img": must be an absolute path']);
  });

  it('matches interfaces and networks by name, and refuses Multus', () => {
    assert.deepEqual(errors(change((s) => (s.networks[0].name = 'other'))), [
      'spec.networks[0].name: Required value: no interface named "other" in spec.domain.devices.interfaces',
      'spec.domain.devices.interfaces[0].name: Invalid value: "default": no network named "default" in spec.networks',
    ]);
    assert.deepEqual(errors(change((s) => (s.networks[0] = { name: 'default', multus: { networkName: 'br1' } }))), [
      'spec.networks[0].multus: Forbidden: Multus networks are not supported by Nubis: use the pod network (pod: {})',
      'spec.domain.devices.interfaces[0].name: Invalid value: "default": masquerade works only on the pod network',
    ]);
    assert.deepEqual(errors(change((s) => s.networks.push({ name: 'default', pod: {} }))), ['spec.networks[1].name: Duplicate value: "default"', 'spec.networks[1]: Invalid value: "default": only one network may be the pod network']);
  });

  it('checks bindings, models, MAC addresses and ports of interfaces', () => {
    assert.deepEqual(errors(change((s) => (s.domain.devices.interfaces[0].bridge = {}))), ['spec.domain.devices.interfaces[0]: Invalid value: "masquerade, bridge": must have exactly one binding method (masquerade or bridge)']);
    assert.deepEqual(errors(change((s) => (s.domain.devices.interfaces[0] = { name: 'default', slirp: {} }))), ['spec.domain.devices.interfaces[0].slirp: Forbidden: the slirp binding is discontinued: use masquerade']);
    assert.deepEqual(errors(change((s) => (s.domain.devices.interfaces[0].macAddress = '02:00:00:00:00:00'))), ['spec.domain.devices.interfaces[0].macAddress: Invalid value: "02:00:00:00:00:00": reserved for the bridge of the masquerade binding: choose another']);
    assert.deepEqual(errors(change((s) => (s.domain.devices.interfaces[0].macAddress = '02:00:00:00:00'))), ['spec.domain.devices.interfaces[0].macAddress: Invalid value: "02:00:00:00:00": not a MAC address of six octets']);
    assert.deepEqual(errors(change((s) => (s.domain.devices.interfaces[0].model = 'vmxnet3'))), ['spec.domain.devices.interfaces[0].model: Unsupported value: "vmxnet3": supported values: "virtio", "e1000", "e1000e", "igb", "ne2k_pci", "pcnet", "rtl8139"']);
    assert.deepEqual(errors(change((s) => s.domain.devices.interfaces[0].ports.push({ name: 'http', port: 70000, protocol: 'SCTP' }))), [
      'spec.domain.devices.interfaces[0].ports[1].port: Invalid value: 70000: must be between 1 and 65535, inclusive',
      'spec.domain.devices.interfaces[0].ports[1].protocol: Unsupported value: "SCTP": supported values: "TCP", "UDP"',
      'spec.domain.devices.interfaces[0].ports[1].name: Duplicate value: "http"',
    ]);
  });

  it('requires memory of at least 1M, within its limit', () => {
    assert.deepEqual(errors(change((s) => delete s.domain.memory)), [
      'spec.domain.memory.guest: Required value: no memory requested: set spec.domain.memory.guest, spec.domain.memory.hugepages.pageSize or spec.domain.resources.requests.memory',
    ]);
    assert.deepEqual(errors(change((s) => (s.domain.memory.guest = '512k'))), ['spec.domain.memory.guest: Invalid value: "512k": must be greater than or equal to 1M']);
    assert.deepEqual(errors(change((s) => (s.domain.memory.guest = '1M'))), []);
    assert.deepEqual(errors(change((s) => (s.domain.resources = { limits: { memory: '64Mi' } }))), ['spec.domain.memory.guest: Invalid value: "128Mi": must be less than or equal to the memory limit (64Mi)']);
    assert.deepEqual(errors(change((s) => (s.domain.resources = { requests: { memory: '1Gi' }, limits: { memory: '512Mi' } }))), [
      'spec.domain.resources.requests.memory: Invalid value: "1Gi": must be less than or equal to the memory limit (512Mi)',
    ]);
    assert.deepEqual(errors(change((s) => (s.domain.resources = { requests: { memory: '-1Gi' } }))), ['spec.domain.resources.requests.memory: Invalid value: "-1Gi": must be greater than or equal to 0']);
  });

  it('keeps CPU requests within limits', () => {
    assert.deepEqual(errors(change((s) => (s.domain.resources = { requests: { cpu: '2' }, limits: { cpu: '1' } }))), ['spec.domain.resources.requests.cpu: Invalid value: "2": must be less than or equal to the CPU limit (1)']);
    assert.deepEqual(errors(change((s) => (s.domain.cpu = { sockets: -1 }))), ['spec.domain.cpu.sockets: Invalid value: -1: must be between 0 and 4294967295']);
  });

  it('checks the grace period, host names, architecture, machine type and firmware', () => {
    assert.deepEqual(errors(change((s) => (s.terminationGracePeriodSeconds = -1))), ['spec.terminationGracePeriodSeconds: Invalid value: -1: must be greater than or equal to 0']);
    assert.match(errors(change((s) => (s.hostname = 'Not_A_Label')))[0]!, /^spec\.hostname: Invalid value: "Not_A_Label": a lowercase RFC 1123 label/);
    assert.deepEqual(errors(change((s) => (s.architecture = 'riscv64'))), ['spec.architecture: Unsupported value: "riscv64": supported values: "amd64", "arm64", "s390x"']);
    assert.deepEqual(errors(change((s) => (s.domain.machine = { type: 'pc-i440fx-2.5' }))), ['spec.domain.machine.type: Unsupported value: "pc-i440fx-2.5": supported values: "q35*", "pc-q35*"']);
    assert.deepEqual(errors(change((s) => (s.domain.firmware = { bootloader: { bios: {}, efi: { secureBoot: false } } }))), ['spec.domain.firmware.bootloader: Invalid value: "bios, efi": bios and efi are mutually exclusive']);
    assert.match(errors(change((s) => (s.domain.firmware = { bootloader: { efi: {} } })))[0]!, /^spec\.domain\.features\.smm: Invalid value: null: EFI secure boot/);
    assert.deepEqual(errors(change((s) => ((s.domain.firmware = { bootloader: { efi: {} } }), (s.domain.features = { smm: {} })))), []);
  });

  it('refuses GPUs, host devices and resource claims (KubeVirt keeps them behind feature gates; Nubis has none)', () => {
    assert.deepEqual(errors(change((s) => (s.domain.devices.gpus = [{ name: 'gpu1', deviceName: 'nvidia.com/GP102GL_Tesla_P40' }]))), ['spec.domain.devices.gpus: Forbidden: passing host devices through is not supported by Nubis']);
    assert.deepEqual(errors(change((s) => (s.resourceClaims = [{ name: 'pgpu', resourceClaimTemplateName: 'pgpu' }]))), ['spec.resourceClaims: Forbidden: dynamic resource allocation is not supported by Nubis']);
    assert.deepEqual(errors(change((s) => (s.domain.devices.gpus = []))), []);
  });

  it('keeps the spec of a VMI as it was created', () => {
    const old = vmi(spec());
    type.defaults(old);
    const same = structuredClone(old);
    same.metadata.labels = { tier: 'db' };
    assert.deepEqual(type.validate(same, old), []);
    const changed = structuredClone(old);
    changed.spec.domain.memory!.guest = '256Mi';
    assert.deepEqual(type.validate(changed, old).map((e) => `${e.field}: ${e.message}`), ['spec: Forbidden: the spec of a VirtualMachineInstance cannot change once it is created']);
  });

  it('says where in a VirtualMachine\'s template a fault is', () => {
    const s = spec();
    s.architecture = 'amd64';
    s.terminationGracePeriodSeconds = -5;
    assert.deepEqual(validateVmiSpec(s as never, 'spec.template.spec').map((e) => e.field), ['spec.template.spec.terminationGracePeriodSeconds']);
  });
});
