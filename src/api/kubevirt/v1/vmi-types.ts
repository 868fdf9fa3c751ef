/**
 * KubeVirt's VirtualMachineInstance (kubevirt.io/v1) as TypeScript types, with KubeVirt's field names so
 * KubeVirt manifests apply unmodified. Only what Nubis reads or defaults is typed in detail; the schema
 * (vmi-schema.ts) says which other fields are accepted.
 */
import type { KubeObject, ObjectMeta } from '../../meta.js';
import type { Toleration } from '../../core/v1/pod-types.js';

export const KUBEVIRT_GROUP = 'kubevirt.io';

export const VMI_PHASES = ['Pending', 'Scheduling', 'Scheduled', 'Running', 'Succeeded', 'Failed', 'Unknown'] as const;
export type VmiPhase = (typeof VMI_PHASES)[number];

export const DISK_BUSES = ['virtio', 'sata', 'scsi', 'usb'] as const;
export const EVICTION_STRATEGIES = ['None', 'LiveMigrate', 'LiveMigrateIfPossible', 'External'] as const;
export const HOST_DISK_TYPES = ['Disk', 'DiskOrCreate'] as const;

export interface ResourceList {
  [name: string]: string | number;
}

export interface Cpu {
  cores?: number;
  sockets?: number;
  threads?: number;
  maxSockets?: number;
  model?: string;
  dedicatedCpuPlacement?: boolean;
}

export interface Memory {
  guest?: string | number;
  maxGuest?: string | number;
  hugepages?: { pageSize?: string };
}

export interface Firmware {
  uuid?: string;
  serial?: string;
  bootloader?: { bios?: { useSerial?: boolean }; efi?: { secureBoot?: boolean; persistent?: boolean } };
}

export interface DiskTarget {
  bus?: string;
  readonly?: boolean;
}

export interface Disk {
  name: string;
  disk?: DiskTarget;
  lun?: DiskTarget;
  cdrom?: DiskTarget & { tray?: string };
  bootOrder?: number;
  serial?: string;
}

export interface Port {
  name?: string;
  protocol?: string;
  port: number;
}

export interface Interface {
  name: string;
  model?: string;
  masquerade?: Record<string, never>;
  bridge?: Record<string, never>;
  sriov?: Record<string, never>;
  passtBinding?: Record<string, never>;
  binding?: { name: string };
  slirp?: Record<string, never>;
  macvtap?: Record<string, never>;
  passt?: Record<string, never>;
  ports?: Port[];
  macAddress?: string;
  bootOrder?: number;
}

export interface Devices {
  disks?: Disk[];
  interfaces?: Interface[];
  autoattachPodInterface?: boolean;
  autoattachGraphicsDevice?: boolean;
  autoattachSerialConsole?: boolean;
  rng?: Record<string, never>;
}

export interface DomainSpec {
  resources?: { requests?: ResourceList; limits?: ResourceList; overcommitGuestOverhead?: boolean };
  cpu?: Cpu;
  memory?: Memory;
  machine?: { type?: string };
  firmware?: Firmware;
  features?: Record<string, unknown>;
  devices: Devices;
}

export interface CloudInitSource {
  userData?: string;
  userDataBase64?: string;
  secretRef?: { name?: string };
  networkData?: string;
  networkDataBase64?: string;
  networkDataSecretRef?: { name?: string };
}

export interface Volume {
  name: string;
  containerDisk?: { image: string; imagePullPolicy?: string; imagePullSecret?: string; path?: string };
  emptyDisk?: { capacity: string | number };
  cloudInitNoCloud?: CloudInitSource;
  cloudInitConfigDrive?: CloudInitSource;
  hostDisk?: { path: string; type: string; capacity?: string | number; shared?: boolean };
  persistentVolumeClaim?: { claimName: string; readOnly?: boolean; hotpluggable?: boolean };
  [source: string]: unknown;
}

export interface Network {
  name: string;
  pod?: { vmNetworkCIDR?: string; vmIPv6NetworkCIDR?: string };
  multus?: { networkName?: string; default?: boolean };
  resourceClaim?: { claimName?: string; requestName?: string };
}

export interface VmiSpec {
  domain: DomainSpec;
  architecture?: string;
  nodeSelector?: Record<string, string>;
  affinity?: Record<string, unknown>;
  tolerations?: Toleration[];
  terminationGracePeriodSeconds?: number;
  evictionStrategy?: string;
  hostname?: string;
  subdomain?: string;
  volumes?: Volume[];
  networks?: Network[];
}

export interface VmiCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastProbeTime?: string | null;
  lastTransitionTime?: string | null;
}

export interface VmiStatus {
  phase?: VmiPhase;
  phaseTransitionTimestamps?: Array<{ phase?: string; phaseTransitionTimestamp?: string }>;
  nodeName?: string;
  reason?: string;
  interfaces?: Array<{ name?: string; ipAddress?: string; ipAddresses?: string[]; mac?: string }>;
  conditions?: VmiCondition[];
  currentCPUTopology?: { cores?: number; sockets?: number; threads?: number };
  memory?: { guestAtBoot?: string; guestCurrent?: string; guestRequested?: string };
  migrationState?: Record<string, unknown>;
}

export interface VirtualMachineInstance extends KubeObject {
  spec: VmiSpec;
  status?: VmiStatus;
}

/** A VMI's template inside a VirtualMachine. */
export interface VmiTemplateSpec {
  metadata?: Partial<ObjectMeta>;
  spec: VmiSpec;
}

/** The status of the condition of `type` ('True', 'False', 'Unknown'), '' when there is none (kubectl's blank cell). */
export function conditionStatus(conditions: unknown, type: string): string {
  if (!Array.isArray(conditions)) return '';
  const found = conditions.find((c) => typeof c === 'object' && c !== null && (c as VmiCondition).type === type) as VmiCondition | undefined;
  return typeof found?.status === 'string' ? found.status : '';
}

/** `v` when it is a plain object (the shape a value should have before defaults or checks step into it). */
export function record(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** The plain objects of a list (anything else in it, or a list that is not one, is left to validation). */
export function records<T>(v: unknown): T[] {
  return Array.isArray(v) ? (v.filter((x) => record(x) !== undefined) as T[]) : [];
}

/** The fields where a VMI (`virtualmachineinstances`) or a VM's template (`virtualmachines`) uses a file of the node (hostDisk). */
export function hostDiskFields(resource: string, obj: KubeObject): string[] {
  const [spec, at] = resource === 'virtualmachines' ? [record(record(record(obj.spec)?.['template'])?.['spec']), 'spec.template.spec'] : resource === 'virtualmachineinstances' ? [record(obj.spec), 'spec'] : [undefined, ''];
  const volumes = Array.isArray(spec?.['volumes']) ? (spec['volumes'] as unknown[]) : [];
  return volumes.flatMap((v, i) => (record(v)?.['hostDisk'] !== undefined ? [`${at}.volumes[${i}].hostDisk`] : []));
}
