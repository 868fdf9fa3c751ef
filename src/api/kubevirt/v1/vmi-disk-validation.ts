/**
 * KubeVirt's checks of a VMI's disks and volumes: every disk names a volume and shows it alone, volume
 * names are unique, each volume has exactly one source (Nubis runs containerDisk, emptyDisk,
 * cloudInitNoCloud, cloudInitConfigDrive, hostDisk and persistentVolumeClaim; the other KubeVirt
 * sources are refused as not supported), cloud-init data fits KubeVirt's 2048-byte inline limit, host
 * disks are Disk or DiskOrCreate (the latter with a capacity).
 */
import { Quantity } from '../../quantity.js';
import type { FieldError } from '../../resource-type.js';
import { check, dns1123Label, fieldErr } from '../../validation.js';
import { volumeSources } from './vmi-schema.js';
import type { CloudInitSource, Disk, Volume, VmiSpec } from './vmi-types.js';

/** The volume sources Nubis can run. */
export const SUPPORTED_VOLUME_SOURCES = ['containerDisk', 'emptyDisk', 'cloudInitNoCloud', 'cloudInitConfigDrive', 'hostDisk', 'persistentVolumeClaim'];
/** KubeVirt's limit of inline cloud-init user data and network data; more belongs in a Secret. */
export const CLOUD_INIT_MAX_BYTES = 2048;
const MAX_SERIAL = 256;
const SERIAL = /^[A-Za-z0-9_.+-]+$/;

const short = (s: string): string => (s.length > 64 ? `${s.slice(0, 61)}...` : s);

function targetsOf(d: Disk): Array<'disk' | 'lun' | 'cdrom'> {
  return (['disk', 'lun', 'cdrom'] as const).filter((t) => d[t] !== undefined);
}

function validateDiskTarget(d: Disk, at: string, errors: FieldError[]): void {
  const targets = targetsOf(d);
  if (targets.length > 1) errors.push(fieldErr.invalid(at, targets.join(', '), 'only one of disk, lun and cdrom may be set'));
  if (d.cdrom?.bus === 'virtio') errors.push(fieldErr.invalid(`${at}.cdrom.bus`, 'virtio', 'a CD-ROM cannot be on the virtio bus'));
  if (d.disk?.bus === 'sata' && d.disk.readonly) errors.push(fieldErr.invalid(`${at}.disk.readonly`, true, 'sata disks cannot be read-only'));
}

function validateDiskFields(d: Disk, at: string, errors: FieldError[]): void {
  check(errors, `${at}.name`, d.name, dns1123Label(d.name));
  if (d.bootOrder !== undefined && d.bootOrder < 1) errors.push(fieldErr.invalid(`${at}.bootOrder`, d.bootOrder, 'must be greater than 0'));
  if (d.serial !== undefined && d.serial !== '') {
    if (!SERIAL.test(d.serial)) errors.push(fieldErr.invalid(`${at}.serial`, short(d.serial), 'may contain only A-Z, a-z, 0-9 and _.+-'));
    if ([...d.serial].length > MAX_SERIAL) errors.push(fieldErr.tooLong(`${at}.serial`, '', MAX_SERIAL));
  }
}

/** Disks: valid names, each shown once, each backed by a volume (a LUN by a claim), one target each. */
export function validateDisks(spec: VmiSpec, p: string): FieldError[] {
  const errors: FieldError[] = [];
  const volumes = new Map((spec.volumes ?? []).map((v) => [v.name, v]));
  const seen = new Set<string>();
  for (const [i, d] of (spec.domain.devices.disks ?? []).entries()) {
    const at = `${p}.domain.devices.disks[${i}]`;
    validateDiskFields(d, at, errors);
    validateDiskTarget(d, at, errors);
    if (seen.has(d.name)) errors.push(fieldErr.duplicate(`${at}.name`, d.name));
    seen.add(d.name);
    const volume = volumes.get(d.name);
    if (!volume) errors.push(fieldErr.invalid(`${at}.name`, d.name, `no volume of this name in ${p}.volumes`));
    else if (d.lun && !volume.persistentVolumeClaim) errors.push(fieldErr.invalid(`${at}.lun`, d.name, 'a LUN must be backed by a persistentVolumeClaim volume'));
  }
  return errors;
}

function validateVolumeSource(v: Volume, at: string, errors: FieldError[]): void {
  const sources = Object.keys(volumeSources).filter((s) => v[s] !== undefined && v[s] !== null);
  if (sources.length !== 1) {
    errors.push(fieldErr.invalid(at, sources.join(', '), `must have exactly one source type set (${SUPPORTED_VOLUME_SOURCES.join(', ')})`));
    return;
  }
  const source = sources[0]!;
  if (!SUPPORTED_VOLUME_SOURCES.includes(source)) errors.push(fieldErr.notSupported(`${at}.${source}`, source, SUPPORTED_VOLUME_SOURCES));
}

/** One of inline data, base64 data (the schema checks it decodes) and a Secret; the data within the limit. */
function validateCloudInitPart(src: CloudInitSource, at: string, part: 'user' | 'network', errors: FieldError[]): number {
  const [inline, b64, ref] = part === 'user' ? [src.userData, src.userDataBase64, src.secretRef] : [src.networkData, src.networkDataBase64, src.networkDataSecretRef];
  const field = part === 'user' ? 'userData' : 'networkData';
  const given = [inline, b64, ref?.name].filter((x) => x !== undefined && x !== '');
  if (given.length > 1) errors.push(fieldErr.invalid(at, field, `only one of ${field}, ${field}Base64 and ${part === 'user' ? 'secretRef' : 'networkDataSecretRef'} may be set`));
  const bytes = b64 ? Buffer.from(b64, 'base64').length : inline ? Buffer.byteLength(inline) : 0;
  const tooLongAt = b64 ? `${at}.${field}Base64` : `${at}.${field}`;
  if (bytes > CLOUD_INIT_MAX_BYTES) errors.push({ ...fieldErr.tooLong(tooLongAt, '', CLOUD_INIT_MAX_BYTES), message: `Too long: may not be more than ${CLOUD_INIT_MAX_BYTES} bytes (put larger data in a Secret)` });
  return given.length;
}

function validateCloudInit(src: CloudInitSource, at: string, errors: FieldError[]): void {
  const user = validateCloudInitPart(src, at, 'user', errors);
  const network = validateCloudInitPart(src, at, 'network', errors);
  if (user === 0 && network === 0) errors.push(fieldErr.required(at, 'user data or network data must be given'));
}

function validateHostDisk(hd: NonNullable<Volume['hostDisk']>, at: string, errors: FieldError[]): void {
  if (!hd.path) errors.push(fieldErr.required(`${at}.path`));
  else if (!hd.path.startsWith('/')) errors.push(fieldErr.invalid(`${at}.path`, short(hd.path), 'must be an absolute path'));
  const capacity = Quantity.parse(hd.capacity);
  if (hd.type === 'Disk' && capacity && !capacity.isZero()) errors.push(fieldErr.invalid(`${at}.capacity`, capacity.toString(), 'may be set only with type DiskOrCreate'));
  if (hd.type === 'DiskOrCreate' && !(capacity && capacity.sign() > 0)) errors.push(fieldErr.required(`${at}.capacity`, 'a hostDisk of type DiskOrCreate needs a capacity greater than 0'));
}

/** A container disk's path: absolute, not the root, without `.`/`..` or doubled slashes. */
function validateContainerDisk(cd: NonNullable<Volume['containerDisk']>, at: string, errors: FieldError[]): void {
  if (!cd.image) errors.push(fieldErr.required(`${at}.image`));
  if (cd.path === undefined || cd.path === '') return;
  const trimmed = cd.path.replace(/\/+$/, '');
  if (cd.path === '/' || trimmed === '') errors.push(fieldErr.invalid(`${at}.path`, cd.path, 'must not point to root'));
  else if (!trimmed.startsWith('/') || trimmed.split('/').slice(1).some((s) => s === '' || s === '.' || s === '..')) {
    errors.push(fieldErr.invalid(`${at}.path`, short(cd.path), 'must be an absolute path to a file without relative components'));
  }
}

function validateSourceFields(v: Volume, at: string, errors: FieldError[]): void {
  if (v.containerDisk) validateContainerDisk(v.containerDisk, `${at}.containerDisk`, errors);
  if (v.cloudInitNoCloud) validateCloudInit(v.cloudInitNoCloud, `${at}.cloudInitNoCloud`, errors);
  if (v.cloudInitConfigDrive) validateCloudInit(v.cloudInitConfigDrive, `${at}.cloudInitConfigDrive`, errors);
  if (v.hostDisk) validateHostDisk(v.hostDisk, `${at}.hostDisk`, errors);
  if (v.persistentVolumeClaim && !v.persistentVolumeClaim.claimName) errors.push(fieldErr.required(`${at}.persistentVolumeClaim.claimName`));
  const capacity = v.emptyDisk ? Quantity.parse(v.emptyDisk.capacity) : undefined;
  if (v.emptyDisk && !(capacity && capacity.sign() > 0)) errors.push(fieldErr.invalid(`${at}.emptyDisk.capacity`, String(v.emptyDisk.capacity), 'must be greater than 0'));
}

/** Volumes: unique names, exactly one supported source each, each shown by a disk (or a filesystem). */
export function validateVolumes(spec: VmiSpec, p: string): FieldError[] {
  const errors: FieldError[] = [];
  const devices = spec.domain.devices;
  const shown = new Set([...(devices.disks ?? []), ...((devices as { filesystems?: Array<{ name: string }> }).filesystems ?? [])].map((d) => d.name));
  const seen = new Set<string>();
  for (const [i, v] of (spec.volumes ?? []).entries()) {
    const at = `${p}.volumes[${i}]`;
    if (seen.has(v.name)) errors.push(fieldErr.duplicate(`${at}.name`, v.name));
    seen.add(v.name);
    validateVolumeSource(v, at, errors);
    validateSourceFields(v, at, errors);
    if (!shown.has(v.name)) errors.push(fieldErr.invalid(`${at}.name`, v.name, `no disk of this name in ${p}.domain.devices.disks`));
  }
  return errors;
}
