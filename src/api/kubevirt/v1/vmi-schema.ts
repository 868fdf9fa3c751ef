/**
 * The schema of KubeVirt's VirtualMachineInstance spec and status, field names as in KubeVirt's API
 * (kubevirt.io/api/core/v1), so kubectl's strict field validation accepts KubeVirt manifests. Parts Nubis
 * neither reads nor checks (Hyper-V enlightenments, clocks, GPUs, launch security…) are accepted as
 * free-form values; the lists are atomic, as in KubeVirt's CRDs.
 */
import { conditionsList, objectMetaSchema, resourceListSchema } from '../../meta-schema.js';
import { anything, bool, bytes, int, int32, list, obj, quantity, str, stringList, stringMap, time, type ObjectSchema, type Schema } from '../../schema.js';
import { containerSchema, podSpecSchema } from '../../core/v1/pod-schema.js';
import { DISK_BUSES, EVICTION_STRATEGIES, HOST_DISK_TYPES, VMI_PHASES } from './vmi-types.js';

const atomic = (items: Schema, description?: string) => list(items, { listType: 'atomic', description });
const empty = (description?: string) => obj({}, { description });
const enabled = () => obj({ enabled: bool() });
const localRef = obj({ name: str('Name of the referent.') });

const diskTarget = (description: string, extra: Record<string, Schema> = {}) =>
  obj({ bus: str('The bus the device is attached through.', [...DISK_BUSES]), readonly: bool('Read-only to the guest.'), ...extra }, { description });

const diskSchema = obj(
  {
    name: str('The name of the volume this disk shows to the guest.'),
    disk: diskTarget('Attach the volume as a disk.', { pciAddress: str() }),
    lun: diskTarget('Attach the volume as a LUN.', { reservation: bool() }),
    cdrom: diskTarget('Attach the volume as a CD-ROM.', { tray: str(undefined, ['open', 'closed']) }),
    bootOrder: int('Boot order of the device (1 first); devices without one do not boot.'),
    serial: str('The serial number the guest sees.'),
    dedicatedIOThread: bool(),
    cache: str(undefined, ['none', 'writethrough', 'writeback']),
    io: str(undefined, ['native', 'threads']),
    tag: str(),
    blockSize: obj({ custom: obj({ logical: int(), physical: int(), discardGranularity: int() }), matchVolume: enabled() }),
    shareable: bool(),
    errorPolicy: str(undefined, ['stop', 'ignore', 'report', 'enospace']),
    changedBlockTracking: bool(),
  },
  { required: ['name'] },
);

const portSchema = obj({ name: str(), protocol: str('TCP or UDP.'), port: int32('The port to forward to the guest.') }, { required: ['port'] });

const interfaceSchema = obj(
  {
    name: str('The name of the network this interface connects to.'),
    model: str('The emulated NIC (virtio, e1000, e1000e, igb, ne2k_pci, pcnet, rtl8139).'),
    masquerade: empty('NAT the guest behind the pod network address.'),
    bridge: empty('Bridge the guest to the network.'),
    sriov: empty(),
    passtBinding: empty(),
    slirp: empty('Discontinued binding.'),
    macvtap: empty('Discontinued binding.'),
    passt: empty('Discontinued binding.'),
    binding: obj({ name: str() }, { required: ['name'] }),
    ports: atomic(portSchema, 'Ports forwarded to the guest (masquerade); all when empty.'),
    portRanges: atomic(obj({ protocol: str(), start: int32(), end: int32() })),
    macAddress: str('The MAC address of the guest NIC.'),
    bootOrder: int(),
    pciAddress: str(),
    dhcpOptions: obj({ bootFileName: str(), tftpServerName: str(), ntpServers: stringList(), privateOptions: atomic(obj({ option: int32(), value: str() })) }),
    tag: str(),
    acpiIndex: int32(),
    state: str(undefined, ['absent', 'up', 'down']),
  },
  { required: ['name'] },
);

const devicesSchema = obj({
  useVirtioTransitional: bool(),
  disableHotplug: bool(),
  disks: atomic(diskSchema, 'The disks the guest sees, each backed by the volume of the same name.'),
  watchdog: obj({ name: str(), i6300esb: obj({ action: str() }), diag288: obj({ action: str() }) }),
  interfaces: atomic(interfaceSchema, 'The NICs of the guest, each on the network of the same name.'),
  inputs: atomic(obj({ bus: str(), type: str(), name: str() })),
  autoattachPodInterface: bool('Whether a pod network interface is added when none is given (default true).'),
  autoattachGraphicsDevice: bool('Whether a VGA device is attached (default true).'),
  autoattachSerialConsole: bool('Whether a serial console is attached (default true).'),
  logSerialConsole: bool(),
  autoattachMemBalloon: bool(),
  autoattachInputDevice: bool(),
  autoattachVSOCK: bool(),
  rng: empty('Give the guest a virtio random number generator.'),
  blockMultiQueue: bool(),
  networkInterfaceMultiqueue: bool(),
  gpus: atomic(anything()),
  hostDevices: atomic(anything()),
  downwardMetrics: empty(),
  panicDevices: atomic(obj({ model: str() })),
  filesystems: atomic(obj({ name: str(), virtiofs: empty() }, { required: ['name'] })),
  clientPassthrough: empty(),
  sound: obj({ name: str(), model: str() }),
  tpm: obj({ enabled: bool(), persistent: bool() }),
  video: obj({ type: str() }),
});

const cpuSchema = obj({
  cores: int('Cores per socket.'),
  sockets: int('Sockets.'),
  maxSockets: int(),
  threads: int('Threads per core.'),
  model: str('The CPU model (host-model, host-passthrough or a named model).'),
  features: atomic(obj({ name: str(), policy: str() }, { required: ['name'] })),
  dedicatedCpuPlacement: bool(),
  numa: obj({ guestMappingPassthrough: empty() }),
  isolateEmulatorThread: bool(),
  realtime: obj({ mask: str() }),
});

const memorySchema = obj({
  guest: quantity('The memory the guest sees.'),
  maxGuest: quantity(),
  hugepages: obj({ pageSize: str() }),
  reservedOverhead: obj({ addedOverhead: quantity(), memLock: str(undefined, ['Required', 'NotRequired']) }),
});

const firmwareSchema = obj({
  uuid: str('The SMBIOS UUID of the guest; derived from the name when not given.'),
  serial: str('The SMBIOS serial number.'),
  bootloader: obj({ bios: obj({ useSerial: bool() }), efi: obj({ secureBoot: bool(), persistent: bool() }) }),
  kernelBoot: anything(),
  acpi: obj({ slicNameRef: str(), msdmNameRef: str() }),
});

const featuresSchema = obj({
  acpi: enabled(),
  apic: obj({ enabled: bool(), endOfInterrupt: bool() }),
  hypervPassthrough: enabled(),
  hyperv: anything(),
  smm: enabled(),
  kvm: obj({ hidden: bool() }),
  pvspinlock: enabled(),
});

const domainSchema = obj(
  {
    resources: obj({ requests: resourceListSchema, limits: resourceListSchema, overcommitGuestOverhead: bool() }),
    cpu: cpuSchema,
    memory: memorySchema,
    machine: obj({ type: str('The emulated machine (q35 on amd64).') }, { required: ['type'] }),
    firmware: firmwareSchema,
    clock: anything(),
    features: featuresSchema,
    devices: devicesSchema,
    ioThreadsPolicy: str(undefined, ['shared', 'auto', 'supplementalPool']),
    ioThreads: obj({ supplementalPoolThreadCount: int() }),
    chassis: obj({ manufacturer: str(), version: str(), serial: str(), asset: str(), sku: str() }),
    launchSecurity: anything(),
    rebootPolicy: str(undefined, ['Reboot', 'Terminate']),
  },
  { required: ['devices'], description: 'The virtual hardware of the guest.' },
);

const cloudInitSchema = (description: string) =>
  obj(
    {
      userData: str('Cloud-init user data, inline (2048 bytes at most).'),
      userDataBase64: bytes('Cloud-init user data, base64-encoded.'),
      secretRef: localRef,
      networkData: str('Cloud-init network data, inline (2048 bytes at most).'),
      networkDataBase64: bytes('Cloud-init network data, base64-encoded.'),
      networkDataSecretRef: localRef,
    },
    { description },
  );

const claimSource = { claimName: str('The PersistentVolumeClaim in the VM\'s namespace.'), readOnly: bool() };

/** A volume: its name and exactly one source. */
export const volumeSources: Record<string, Schema> = {
  containerDisk: obj(
    { image: str('The image holding the disk.'), imagePullPolicy: str(undefined, ['Always', 'IfNotPresent', 'Never']), imagePullSecret: str(), path: str('Where the disk lies in the image.') },
    { required: ['image'], description: 'An ephemeral disk from a container image.' },
  ),
  emptyDisk: obj({ capacity: quantity('The size of the disk.') }, { required: ['capacity'], description: 'A blank ephemeral disk.' }),
  cloudInitNoCloud: cloudInitSchema('Cloud-init data on a NoCloud disk.'),
  cloudInitConfigDrive: cloudInitSchema('Cloud-init data on a config drive.'),
  hostDisk: obj(
    { path: str('The disk image file on the node.'), type: str('Disk (must exist) or DiskOrCreate.', [...HOST_DISK_TYPES]), capacity: quantity(), shared: bool() },
    { required: ['path', 'type'], description: 'A disk image file on the node.' },
  ),
  persistentVolumeClaim: obj({ ...claimSource, hotpluggable: bool() }, { required: ['claimName'], description: 'A PersistentVolumeClaim as a disk.' }),
  dataVolume: obj({ name: str(), hotpluggable: bool() }, { required: ['name'] }),
  ephemeral: obj({ persistentVolumeClaim: obj(claimSource, { required: ['claimName'] }) }),
  sysprep: obj({ secret: localRef, configMap: localRef }),
  configMap: obj({ name: str(), optional: bool(), volumeLabel: str() }),
  secret: obj({ secretName: str(), optional: bool(), volumeLabel: str() }),
  downwardAPI: obj({ fields: atomic(anything()), volumeLabel: str() }),
  serviceAccount: obj({ serviceAccountName: str() }),
  downwardMetrics: empty(),
  memoryDump: obj({ ...claimSource, hotpluggable: bool() }),
  containerPath: obj({ path: str(), readOnly: bool() }, { required: ['path'] }),
};

const volumeSchema = obj({ name: str('A DNS label, unique among the volumes.'), ...volumeSources }, { required: ['name'] });

const networkSchema = obj(
  {
    name: str('The name interfaces refer to.'),
    pod: obj({ vmNetworkCIDR: str(), vmIPv6NetworkCIDR: str() }, { description: 'The pod network.' }),
    multus: obj({ networkName: str(), default: bool() }, { required: ['networkName'] }),
    resourceClaim: obj({ claimName: str(), requestName: str() }),
  },
  { required: ['name'] },
);

const probeSchema: ObjectSchema = obj({ ...(containerSchema.fields['livenessProbe'] as ObjectSchema).fields, guestAgentPing: empty() });

/** VirtualMachineInstanceSpec. */
export const vmiSpecSchema: ObjectSchema = obj(
  {
    priorityClassName: str(),
    domain: domainSchema,
    nodeSelector: stringMap('Labels a node must have to run the VMI.'),
    affinity: podSpecSchema.fields['affinity']!,
    schedulerName: str(),
    serviceAccountName: str(),
    tolerations: podSpecSchema.fields['tolerations']!,
    topologySpreadConstraints: podSpecSchema.fields['topologySpreadConstraints']!,
    evictionStrategy: str('What happens to the VMI when its node is drained.', [...EVICTION_STRATEGIES]),
    startStrategy: str(undefined, ['Paused']),
    terminationGracePeriodSeconds: int('Seconds the guest gets to shut down.'),
    volumes: atomic(volumeSchema, 'The storage the disks are backed by.'),
    livenessProbe: probeSchema,
    readinessProbe: probeSchema,
    hostname: str(),
    subdomain: str(),
    networks: atomic(networkSchema, 'The networks interfaces connect to.'),
    dnsPolicy: podSpecSchema.fields['dnsPolicy']!,
    dnsConfig: podSpecSchema.fields['dnsConfig']!,
    accessCredentials: atomic(anything()),
    architecture: str('The CPU architecture of the guest (amd64, arm64, s390x).'),
    resourceClaims: atomic(anything()),
    utilityVolumes: atomic(anything()),
  },
  { required: ['domain'], description: 'The guest: its hardware, storage and networks.' },
);

const migrationNodeState = anything();

/** VirtualMachineInstanceMigrationState: where a live migration stands (in a VMI's and a migration's status). */
export const migrationStateSchema = obj({
  startTimestamp: time(),
  endTimestamp: time(),
  targetNodeDomainReadyTimestamp: time(),
  targetNodeDomainDetected: bool(),
  targetNodeAddress: str(),
  targetDirectMigrationNodePorts: anything(),
  targetNode: str(),
  targetPod: str(),
  targetAttachmentPodUID: str(),
  sourceNode: str(),
  sourcePod: str(),
  completed: bool(),
  failed: bool(),
  abortRequested: bool(),
  abortStatus: str(undefined, ['Succeeded', 'Failed', 'Aborting']),
  failureReason: str(),
  migrationUid: str(),
  mode: str(undefined, ['PreCopy', 'PostCopy', 'Paused']),
  migrationPolicyName: str(),
  migrationConfiguration: anything(),
  sourceState: migrationNodeState,
  targetState: migrationNodeState,
  migrationNetworkType: str(),
});

/** A phase and when it was entered. */
export const phaseTransitionsSchema = atomic(obj({ phase: str(), phaseTransitionTimestamp: time() }));

/** VirtualMachineInstanceStatus. */
export const vmiStatusSchema = obj({
  nodeName: str('The node the VMI runs on.'),
  reason: str(),
  conditions: conditionsList(),
  phase: str('Where the VMI is in its life.', [...VMI_PHASES]),
  phaseTransitionTimestamps: phaseTransitionsSchema,
  interfaces: atomic(
    obj({
      name: str(), ipAddress: str(), ipAddresses: stringList(), mac: str(), podInterfaceName: str(), interfaceName: str(), infoSource: str(),
      queueCount: int32(), linkState: str(),
    }),
    'The guest\'s NICs and their addresses.',
  ),
  guestOSInfo: obj({ name: str(), kernelRelease: str(), version: str(), prettyName: str(), versionId: str(), kernelVersion: str(), machine: str(), id: str() }),
  migrationState: migrationStateSchema,
  migrationMethod: str(),
  migrationTransport: str(),
  qosClass: str(),
  evacuationNodeName: str(),
  activePods: stringMap(),
  volumeStatus: atomic(anything()),
  fsFreezeStatus: str(),
  machine: obj({ type: str() }),
  currentCPUTopology: obj({ cores: int(), sockets: int(), threads: int() }),
  memory: obj({ guestAtBoot: quantity(), guestCurrent: quantity(), guestRequested: quantity(), memoryOverhead: quantity() }),
  runtimeUser: int(),
  selinuxContext: str(),
});

/** A VMI template inside a VirtualMachine. */
export const vmiTemplateSchema = obj({ metadata: objectMetaSchema, spec: vmiSpecSchema }, { required: ['spec'], description: 'The VMI the VirtualMachine runs.' });
