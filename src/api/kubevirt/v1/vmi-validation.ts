/**
 * The basics of KubeVirt's validating webhook for a VirtualMachineInstance spec, as field errors with
 * the field paths kubectl shows: names of the host and subdomain, the grace period, the architecture and
 * its machine types, memory (some must be asked for, at least 1M, within the limit) and CPU (requests
 * within limits, a topology that fits), the firmware, then disks, volumes, interfaces and networks
 * (vmi-disk-validation.ts, vmi-network-validation.ts). Runs after the schema check, so the modelled
 * fields have their types.
 */
import { Quantity } from '../../quantity.js';
import type { FieldError } from '../../resource-type.js';
import { check, dns1123Label, dns1123Subdomain, fieldErr, validateLabels } from '../../validation.js';
import { validateTolerations } from '../../core/v1/pod-validation.js';
import { validateContainerResourceName, validateResourceQuantity } from '../../core/v1/resource-names.js';
import { ARCHITECTURES } from './vmi-defaults.js';
import { validateDisks, validateVolumes } from './vmi-disk-validation.js';
import { validateNetworking } from './vmi-network-validation.js';
import { record, type DomainSpec, type ResourceList, type VmiSpec } from './vmi-types.js';

const MAX_UINT32 = 2 ** 32 - 1;
/** The least memory a guest may have (KubeVirt's 1M). */
const MIN_MEMORY = Quantity.parse('1M')!;

const EMULATED_MACHINES: Record<string, string[]> = { amd64: ['q35*', 'pc-q35*'], arm64: ['virt*'], s390x: ['s390-ccw-virtio*'] };

/** Whether a machine type matches one of the patterns of its architecture (`*` at the end: any suffix). */
function machineMatches(type: string, patterns: string[]): boolean {
  return patterns.some((p) => (p.endsWith('*') ? type.startsWith(p.slice(0, -1)) : type === p));
}

function validateHostNames(spec: VmiSpec, p: string, errors: FieldError[]): void {
  if (spec.hostname) check(errors, `${p}.hostname`, spec.hostname, dns1123Label(spec.hostname));
  if (spec.subdomain) check(errors, `${p}.subdomain`, spec.subdomain, dns1123Subdomain(spec.subdomain));
}

function validateScheduling(spec: VmiSpec, p: string, errors: FieldError[]): void {
  const grace = spec.terminationGracePeriodSeconds;
  if (grace !== undefined && grace < 0) errors.push(fieldErr.invalid(`${p}.terminationGracePeriodSeconds`, grace, 'must be greater than or equal to 0'));
  errors.push(...validateLabels(spec.nodeSelector, `${p}.nodeSelector`));
  errors.push(...validateTolerations(spec.tolerations, `${p}.tolerations`));
}

function validateMachine(spec: VmiSpec, p: string, errors: FieldError[]): void {
  const arch = spec.architecture ?? '';
  if (!(ARCHITECTURES as readonly string[]).includes(arch)) {
    errors.push(fieldErr.notSupported(`${p}.architecture`, arch, [...ARCHITECTURES]));
    return;
  }
  const type = spec.domain.machine?.type;
  const patterns = EMULATED_MACHINES[arch]!;
  if (type && !machineMatches(type, patterns)) errors.push(fieldErr.notSupported(`${p}.domain.machine.type`, type, patterns));
}

/** Resource names and quantities of requests and limits: what a pod's container may ask for, never negative. */
function validateResourceLists(domain: DomainSpec, p: string, errors: FieldError[]): void {
  for (const kind of ['requests', 'limits'] as const) {
    for (const [name, q] of Object.entries(domain.resources?.[kind] ?? {})) {
      const at = `${p}.domain.resources.${kind}.${name}`;
      validateContainerResourceName(name, at, errors);
      validateResourceQuantity(name, q, at, errors);
    }
  }
}

const quantityOf = (list: ResourceList | undefined, name: string): Quantity => Quantity.orZero(list?.[name]);

function validateMemory(domain: DomainSpec, p: string, errors: FieldError[]): void {
  const requests = quantityOf(domain.resources?.requests, 'memory');
  const limits = quantityOf(domain.resources?.limits, 'memory');
  const requestsAt = `${p}.domain.resources.requests.memory`;
  if (requests.sign() > 0 && requests.cmp(MIN_MEMORY) < 0) errors.push(fieldErr.invalid(requestsAt, requests.toString(), 'must be greater than or equal to 1M'));
  if (limits.sign() > 0 && requests.cmp(limits) > 0) errors.push(fieldErr.invalid(requestsAt, requests.toString(), `must be less than or equal to the memory limit (${limits.toString()})`));
  const guestValue = domain.memory?.guest;
  const guestAt = `${p}.domain.memory.guest`;
  if (guestValue !== undefined) {
    const guest = Quantity.parse(guestValue);
    if (guest && guest.cmp(MIN_MEMORY) < 0) errors.push(fieldErr.invalid(guestAt, guest.toString(), 'must be greater than or equal to 1M'));
    if (guest && limits.sign() > 0 && guest.cmp(limits) > 0) errors.push(fieldErr.invalid(guestAt, guest.toString(), `must be less than or equal to the memory limit (${limits.toString()})`));
  } else if (requests.isZero() && !domain.memory?.hugepages) {
    errors.push(fieldErr.required(guestAt, `no memory requested: set ${guestAt}, ${p}.domain.memory.hugepages.pageSize or ${requestsAt}`));
  }
}

function validateCpu(domain: DomainSpec, p: string, errors: FieldError[]): void {
  const requests = quantityOf(domain.resources?.requests, 'cpu');
  const limits = quantityOf(domain.resources?.limits, 'cpu');
  if (limits.sign() > 0 && requests.cmp(limits) > 0) {
    errors.push(fieldErr.invalid(`${p}.domain.resources.requests.cpu`, requests.toString(), `must be less than or equal to the CPU limit (${limits.toString()})`));
  }
  const cpu = domain.cpu ?? {};
  for (const f of ['cores', 'sockets', 'threads', 'maxSockets'] as const) {
    const v = cpu[f];
    if (v !== undefined && (v < 0 || v > MAX_UINT32)) errors.push(fieldErr.invalid(`${p}.domain.cpu.${f}`, v, `must be between 0 and ${MAX_UINT32}`));
  }
  if (cpu.maxSockets && cpu.sockets && cpu.sockets > cpu.maxSockets) {
    errors.push(fieldErr.invalid(`${p}.domain.cpu.sockets`, cpu.sockets, `must not be more than maxSockets (${cpu.maxSockets})`));
  }
}

function validateFirmware(domain: DomainSpec, p: string, errors: FieldError[]): void {
  const bootloader = domain.firmware?.bootloader;
  if (bootloader?.bios && bootloader.efi) errors.push(fieldErr.invalid(`${p}.domain.firmware.bootloader`, 'bios, efi', 'bios and efi are mutually exclusive'));
  const efi = bootloader?.efi;
  const smm = record(domain.features?.['smm']);
  if (efi && efi.secureBoot !== false && !(smm && smm['enabled'] !== false)) {
    errors.push(fieldErr.invalid(`${p}.domain.features.smm`, smm ? smm['enabled'] : null, 'EFI secure boot (efi.secureBoot, true unless set to false) needs SMM: set features.smm: {}'));
  }
}

/** Devices that KubeVirt keeps behind feature gates that are off by default, and Nubis does not pass through. */
function validatePassthrough(spec: VmiSpec, p: string, errors: FieldError[]): void {
  const devices = spec.domain.devices as Record<string, unknown>;
  for (const list of ['gpus', 'hostDevices'] as const) {
    const items = devices[list];
    if (Array.isArray(items) && items.length > 0) errors.push(fieldErr.forbidden(`${p}.domain.devices.${list}`, 'passing host devices through is not supported by Nubis'));
  }
  const claims = (spec as { resourceClaims?: unknown[] }).resourceClaims;
  if (claims?.length) errors.push(fieldErr.forbidden(`${p}.resourceClaims`, 'dynamic resource allocation is not supported by Nubis'));
}

/**
 * KubeVirt's checks of a VMI spec at `p` ('spec', or 'spec.template.spec' of a VirtualMachine). The spec
 * has its defaults already: a VirtualMachine's template is checked as the VMI it would make.
 */
export function validateVmiSpec(spec: VmiSpec, p: string): FieldError[] {
  const errors: FieldError[] = [];
  validateHostNames(spec, p, errors);
  validateScheduling(spec, p, errors);
  validateMachine(spec, p, errors);
  const domain = spec.domain;
  validateResourceLists(domain, p, errors);
  validateMemory(domain, p, errors);
  validateCpu(domain, p, errors);
  validateFirmware(domain, p, errors);
  validatePassthrough(spec, p, errors);
  errors.push(...validateVolumes(spec, p));
  errors.push(...validateDisks(spec, p));
  errors.push(...validateNetworking(spec, p));
  return errors;
}
