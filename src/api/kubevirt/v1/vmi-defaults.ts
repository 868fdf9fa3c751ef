/**
 * The defaults KubeVirt's mutating webhook gives a VirtualMachineInstance (and, in part, a VirtualMachine's
 * template), so `kubectl get vmi -o yaml` shows what KubeVirt shows: the architecture and its machine type
 * (q35 on amd64), the guest memory from the memory request (or limit), a CPU topology of one core and
 * thread per socket (sockets from the CPU limit or request), the CPU model host-model, a disk for every
 * volume without one (a `disk` target, its bus by architecture: sata on amd64, virtio elsewhere), the pod
 * network with a masquerade interface when no network is given, pull policies of container disks, the
 * eviction strategy None, features.acpi enabled, and a firmware UUID derived from the name (KubeVirt's
 * VirtualMachine controller derives it so; Nubis does the same for a VMI of its own).
 *
 * Every step looks at what it changes before stepping in: defaults run before validation, on bodies of
 * any shape.
 */
import { nameUuid } from '../../../lib/name-uuid.js';
import { Quantity } from '../../quantity.js';
import { canonicalizeQuantities } from '../../core/v1/resource-names.js';
import { record, records, type Cpu, type Disk, type DomainSpec, type VmiSpec, type VmiStatus, type Volume } from './vmi-types.js';

/** The namespace of the UUIDs KubeVirt derives from VM names, so a VM keeps the UUID it would get there. */
const FIRMWARE_UUID_NAMESPACE = '6a1a24a1-4061-4607-8bf4-a3963d0c5895';
const MAX_UINT32 = 2 ** 32 - 1;

export const ARCHITECTURES = ['amd64', 'arm64', 's390x'] as const;

const MACHINE_TYPES: Record<string, string> = { amd64: 'q35', arm64: 'virt', s390x: 's390-ccw-virtio' };

/** The architecture of the machine the server runs on, as Go names it (KubeVirt's default architecture). */
export function defaultArchitecture(arch: string = process.arch): string {
  if (arch === 'x64') return 'amd64';
  return (ARCHITECTURES as readonly string[]).includes(arch) ? arch : 'amd64';
}

/** The default machine type of an architecture. */
const machineTypeFor = (arch: string): string => MACHINE_TYPES[arch] ?? 'q35';

/** A name-derived SMBIOS UUID, as KubeVirt's VM controller derives it. */
export const firmwareUuidFor = (name: string): string => nameUuid(FIRMWARE_UUID_NAMESPACE, name);

const nonZero = (v: unknown): Quantity | undefined => {
  const q = Quantity.parse(v);
  return q && !q.isZero() ? q : undefined;
};

/** The domain of a spec, with its devices and resources (KubeVirt always writes them); undefined when it has none. */
function domainOf(spec: Record<string, unknown>): DomainSpec | undefined {
  const domain = record(spec['domain']) as DomainSpec | undefined;
  if (!domain) return undefined;
  domain.devices ??= {};
  domain.resources ??= {};
  return domain;
}

function setMachineType(spec: VmiSpec, domain: DomainSpec): void {
  domain.machine ??= {};
  const machine = record(domain.machine);
  if (machine && !machine['type']) machine['type'] = machineTypeFor(String(spec.architecture));
}

/** A CPU request from the CPU limit, when only the limit is given. */
function setCpuRequest(domain: DomainSpec): void {
  const resources = record(domain.resources);
  const limits = record(resources?.['limits']);
  if (!resources || !limits || !nonZero(limits['cpu'])) return;
  resources['requests'] ??= {};
  const requests = record(resources['requests']);
  if (requests && !nonZero(requests['cpu'])) requests['cpu'] = limits['cpu'];
}

/** memory.guest from the memory request, else the limit, else the hugepage size. */
function setGuestMemory(domain: DomainSpec): void {
  domain.memory ??= {};
  const memory = record(domain.memory);
  if (!memory || memory['guest'] !== undefined) return;
  const resources = record(domain.resources);
  const from = nonZero(record(resources?.['requests'])?.['memory']) ?? nonZero(record(resources?.['limits'])?.['memory']) ?? nonZero(record(memory['hugepages'])?.['pageSize']);
  if (from) memory['guest'] = from.toString();
}

function socketsFrom(domain: DomainSpec): number {
  const resources = record(domain.resources);
  const q = Quantity.parse(record(resources?.['limits'])?.['cpu']) ?? Quantity.parse(record(resources?.['requests'])?.['cpu']);
  const n = q ? Number(q.value()) : 1;
  return n >= 1 && n <= MAX_UINT32 ? n : 1;
}

/** One core and thread per socket, sockets from the CPU limit or request, when no topology is given. */
function setCpuTopology(domain: DomainSpec): void {
  domain.cpu ??= {};
  const cpu = record(domain.cpu) as Cpu | undefined;
  if (!cpu || cpu.cores || cpu.sockets || cpu.threads) return;
  cpu.sockets = socketsFrom(domain);
  cpu.cores = 1;
  cpu.threads = 1;
}

/** KubeVirt's pull policy of a container disk: Always for `:latest` or an image without a tag or digest. */
export function containerDiskPullPolicy(image: string): 'Always' | 'IfNotPresent' {
  return image.endsWith(':latest') || !/[:@]/.test(image) ? 'Always' : 'IfNotPresent';
}

function setPullPolicies(volumes: Volume[]): void {
  for (const v of volumes) {
    const cd = record(v.containerDisk);
    if (cd && !cd['imagePullPolicy'] && typeof cd['image'] === 'string') cd['imagePullPolicy'] = containerDiskPullPolicy(cd['image']);
  }
}

/** The pod network and a masquerade interface named `default`, when the VMI names no network and no interface. */
function setDefaultNetwork(spec: VmiSpec, domain: DomainSpec): void {
  const devices = record(domain.devices);
  if (!devices || devices['autoattachPodInterface'] === false) return;
  const given = (v: unknown) => v !== undefined && (!Array.isArray(v) || v.length > 0);
  if (given(spec.networks) || given(devices['interfaces'])) return;
  devices['interfaces'] = [{ name: 'default', masquerade: {} }];
  spec.networks = [{ name: 'default', pod: {} }];
}

/** A disk for every volume no disk or filesystem shows. */
function setVolumeDisks(spec: VmiSpec, domain: DomainSpec): void {
  const devices = record(domain.devices);
  if (!devices || !Array.isArray(spec.volumes)) return;
  devices['disks'] ??= [];
  const disks = devices['disks'];
  if (!Array.isArray(disks)) return;
  const shown = new Set([...records<Disk>(disks), ...records<{ name?: string }>(devices['filesystems'])].map((d) => d.name));
  for (const v of records<Volume>(spec.volumes)) {
    if (shown.has(v.name)) continue;
    disks.push({ name: v.name });
    shown.add(v.name);
  }
}

/** Rewrites one quantity field in canonical form, as KubeVirt's webhook writes quantities back. */
function canonical(o: Record<string, unknown> | undefined, key: string): void {
  const q = o && Quantity.parse(o[key]);
  if (q) o[key] = q.toString();
}

function canonicalize(domain: DomainSpec, volumes: Volume[]): void {
  const resources = record(domain.resources);
  canonicalizeQuantities(record(resources?.['requests']));
  canonicalizeQuantities(record(resources?.['limits']));
  canonical(record(domain.memory), 'guest');
  canonical(record(domain.memory), 'maxGuest');
  for (const v of volumes) {
    canonical(record(v.emptyDisk), 'capacity');
    canonical(record(v.hostDisk), 'capacity');
  }
}

/**
 * The defaults a VirtualMachine's template gets when the VM is written (KubeVirt's VM mutator): the
 * architecture, its machine type and a firmware UUID derived from the VM's name.
 */
export function defaultTemplateSpec(spec: unknown, vmName: string): void {
  const s = record(spec);
  const domain = s && domainOf(s);
  if (!s || !domain) return;
  s['architecture'] ||= defaultArchitecture();
  setMachineType(s as unknown as VmiSpec, domain);
  setFirmwareUuid(domain, vmName);
}

function setFirmwareUuid(domain: DomainSpec, name: string): void {
  domain.firmware ??= {};
  const firmware = record(domain.firmware);
  if (firmware && !firmware['uuid'] && name) firmware['uuid'] = firmwareUuidFor(name);
}

/**
 * The spec defaults of KubeVirt's SetDefaultVirtualMachineInstanceSpec: what a VMI gets, and what a VM's
 * template is checked with (without being changed by them).
 */
export function defaultVmiSpecBasics(spec: Record<string, unknown>): void {
  const domain = domainOf(spec);
  if (!domain) return;
  const s = spec as unknown as VmiSpec;
  s.architecture ||= defaultArchitecture();
  setMachineType(s, domain);
  setCpuRequest(domain);
  setGuestMemory(domain);
  setCpuTopology(domain);
  const volumes = records<Volume>(s.volumes);
  setPullPolicies(volumes);
  s.evictionStrategy ??= 'None';
  setDefaultNetwork(s, domain);
  setVolumeDisks(s, domain);
  canonicalize(domain, volumes);
}

/** A disk with no target is a `disk`; a CD-ROM is read-only with its tray closed. */
function setDiskTargets(domain: DomainSpec): void {
  for (const d of records<Disk>(record(domain.devices)?.['disks'])) {
    if (d.disk === undefined && d.cdrom === undefined && d.lun === undefined) d.disk = {};
    const cdrom = record(d.cdrom);
    if (cdrom) {
      cdrom['readonly'] ??= true;
      cdrom['tray'] ||= 'closed';
    }
  }
}

/** The bus of disks that name none: sata on amd64 (what guests support out of the box), virtio elsewhere (scsi for CD-ROMs). */
function setDiskBuses(domain: DomainSpec, arch: string): void {
  for (const d of records<Disk>(record(domain.devices)?.['disks'])) {
    for (const target of ['disk', 'lun', 'cdrom'] as const) {
      const t = record(d[target]);
      if (!t || t['bus']) continue;
      t['bus'] = arch === 'amd64' ? 'sata' : target === 'cdrom' ? 'scsi' : 'virtio';
    }
  }
}

/** Present features are enabled unless they say otherwise; ACPI is always present. */
function setFeatures(domain: DomainSpec): void {
  domain.features ??= {};
  const features = record(domain.features);
  if (!features) return;
  features['acpi'] ??= {};
  for (const name of ['acpi', 'apic', 'smm', 'pvspinlock'] as const) {
    const f = record(features[name]);
    if (f) f['enabled'] ??= true;
  }
}

function setArchitectureDefaults(domain: DomainSpec, arch: string): void {
  setDiskBuses(domain, arch);
  const cpu = record(domain.cpu);
  if (cpu && !cpu['model']) cpu['model'] = arch === 'arm64' ? 'host-passthrough' : 'host-model';
  if (arch !== 'arm64') return;
  domain.firmware ??= {};
  const firmware = record(domain.firmware);
  if (!firmware) return;
  firmware['bootloader'] ??= { efi: {} };
  const efi = record(record(firmware['bootloader'])?.['efi']);
  if (efi) efi['secureBoot'] ??= false;
}

/** All of a VMI's spec defaults (KubeVirt's SetDefaultVirtualMachineInstance), `name` its own. */
export function defaultVmiSpec(spec: unknown, name: string): void {
  const s = record(spec);
  if (!s) return;
  defaultVmiSpecBasics(s);
  const domain = record(s['domain']) as DomainSpec | undefined;
  if (!domain) return;
  setFirmwareUuid(domain, name);
  setFeatures(domain);
  setDiskTargets(domain);
  setArchitectureDefaults(domain, String(s['architecture']));
}

/** The status a VMI starts with: Pending, its CPU topology and its guest memory (KubeVirt's webhook sets them). */
export function defaultVmiStatus(status: VmiStatus, spec: unknown): void {
  status.phase ??= 'Pending';
  const domain = record(record(spec)?.['domain']);
  const cpu = record(domain?.['cpu']);
  if (cpu && status.currentCPUTopology === undefined) {
    status.currentCPUTopology = { cores: cpu['cores'] as number, sockets: cpu['sockets'] as number, threads: cpu['threads'] as number };
  }
  const guest = record(domain?.['memory'])?.['guest'];
  if (typeof guest === 'string' && status.memory === undefined) status.memory = { guestAtBoot: guest, guestCurrent: guest, guestRequested: guest };
}
