/**
 * The QEMU command line of a micro-VM: the `microvm` machine (virtio-mmio devices described by ACPI, no
 * PCI, no firmware beyond qboot), the kernel booted directly, a virtio-serial port for the guest agent on
 * a unix socket, the serial console to a file, QMP on a unix socket, and optionally a tap NIC and a shared
 * directory (9p or virtiofs). Pure: it only turns a spec into argv. README.md beside it has the figures
 * behind the defaults.
 */
import { invalid } from '../../lib/errors.js';

export type Accel = 'kvm' | 'tcg';

/** The binary and the Debian package that ships it. */
export const QEMU_BINARY = 'qemu-system-x86_64';
export const QEMU_PACKAGE = 'qemu-system-x86';
/**
 * TCG's translation cache cap in MiB. QEMU's default (1 GiB, touched as it fills) used 40 MiB after a
 * boot here; 64 bounds its growth at no measured cost in speed (README.md).
 */
export const DEFAULT_TCG_TB_MIB = 64;

/** The virtio-serial port name of the guest agent's channel (the guest finds it under /sys/class/virtio-ports). */
export const AGENT_PORT = 'nubis.agent';

/** Options of the microvm machine type; the defaults are the fastest measured configuration that works. */
export interface MachineOptions {
  /** Skip loading option ROMs (the linuxboot ROM is not needed: qboot loads the kernel). Default false. */
  optionRoms: boolean;
  /** The i8254 timer. Default off (the kernel uses the TSC and the LAPIC timer). */
  pit: boolean;
  /** The i8259 interrupt controller. Default off (IOAPIC only). */
  pic: boolean;
  /** The CMOS RTC. Default on: without it the kernel spends ~1 s twice waiting on a missing clock. */
  rtc: boolean;
  /** The ISA 16550 serial port (ttyS0): the only console before virtio_console is loaded. Default on. */
  isaSerial: boolean;
  /** Modern (virtio 1.0) virtio-mmio instead of legacy. Default true. */
  modernMmio: boolean;
}

export const DEFAULT_MACHINE: Readonly<MachineOptions> = {
  optionRoms: false,
  pit: false,
  pic: false,
  rtc: true,
  isaSerial: true,
  modernMmio: true,
};

/** A host directory shared into the guest. */
export type ShareSpec =
  | { kind: '9p'; tag: string; path: string; readOnly?: boolean }
  /** virtiofs: the vhost-user socket of a virtiofsd serving the directory (see virtiofsd.ts). */
  | { kind: 'virtiofs'; tag: string; socket: string };

export interface MicrovmSpec {
  accel: Accel;
  /** TCG's translation cache in MiB (TCG only): default DEFAULT_TCG_TB_MIB; 0 leaves QEMU's own (1 GiB). */
  tbSizeMiB?: number;
  memoryMiB: number;
  cpus: number;
  /** The vmlinux (or bzImage) to boot. */
  kernel: string;
  initrd: string;
  /** The kernel command line (see kernel-cmdline.ts). */
  cmdline: string;
  /** The unix socket QEMU listens on for the guest agent's port (no port without it). */
  agentSocket?: string;
  /** Where the serial console goes: a file, QEMU's stdout (not with daemonize), or nowhere. */
  console: { file: string } | 'stdio' | 'none';
  /** The QMP unix socket QEMU listens on. */
  qmpSocket?: string;
  /** Run in the background (QEMU forks once it is set up) and write the pid here. */
  pidFile?: string;
  /** A tap device (already made, e.g. in the pod's network namespace) for a virtio-net NIC. */
  net?: { tap: string; mac: string };
  share?: ShareSpec;
  /**
   * A virtio-balloon with free page reporting: the guest hands back pages it has freed (in 2 MiB blocks,
   * needs the virtio_balloon module) and QEMU releases them, so host memory follows what the guest uses.
   */
  freePageReporting?: boolean;
  machine?: Partial<MachineOptions>;
  /**
   * Guest RAM backed by a file instead of anonymous memory: `shared` writes go to the file (a template
   * being made), otherwise the file is mapped copy-on-write (a clone of that template: unwritten pages
   * stay shared in the host's page cache between every clone).
   */
  memoryFile?: { path: string; shared: boolean };
  /** Wait for an incoming migration (QMP migrate-incoming) instead of booting: a clone resumes from a template. */
  incoming?: boolean;
}

const onOff = (b: boolean) => (b ? 'on' : 'off');
const NAME = /^[A-Za-z0-9_.-]+$/;
const MAC = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/;

/** QEMU's option syntax doubles a comma inside a value. */
function path(p: string): string {
  if (!p.startsWith('/')) throw invalid(`QEMU paths must be absolute: "${p}"`);
  return p.replace(/,/g, ',,');
}

function checkSpec(spec: MicrovmSpec): void {
  if (!Number.isInteger(spec.memoryMiB) || spec.memoryMiB < 32) throw invalid(`micro-VM memory must be at least 32 MiB, not ${spec.memoryMiB}`);
  if (!Number.isInteger(spec.cpus) || spec.cpus < 1 || spec.cpus > 255) throw invalid(`micro-VM vCPUs must be 1..255, not ${spec.cpus}`);
  if (spec.share && !NAME.test(spec.share.tag)) throw invalid(`share tag "${spec.share.tag}" must be letters, digits, ".", "_" or "-"`);
  if (spec.net && (!NAME.test(spec.net.tap) || !MAC.test(spec.net.mac))) throw invalid(`bad tap "${spec.net.tap}" or MAC "${spec.net.mac}"`);
  if (spec.console === 'stdio' && spec.pidFile) throw invalid('a daemonized micro-VM cannot write its console to stdio');
  if (spec.memoryFile && spec.share?.kind === 'virtiofs') throw invalid('a virtiofs share needs shared anonymous memory, not a memory file');
}

function machineArgs(spec: MicrovmSpec): string[] {
  const m = { ...DEFAULT_MACHINE, ...spec.machine };
  const opts = [
    'microvm',
    `x-option-roms=${onOff(m.optionRoms)}`,
    `pit=${onOff(m.pit)}`,
    `pic=${onOff(m.pic)}`,
    `rtc=${onOff(m.rtc)}`,
    `isa-serial=${onOff(m.isaSerial)}`,
    // ACPI describes the virtio-mmio devices to the kernel (Debian's lacks VIRTIO_MMIO_CMDLINE_DEVICES) and powers off.
    'acpi=on',
  ];
  // virtiofs shares guest memory with virtiofsd: the RAM must be a shared memfd.
  if (spec.share?.kind === 'virtiofs' || spec.memoryFile) opts.push('memory-backend=mem');
  const tb = spec.tbSizeMiB ?? DEFAULT_TCG_TB_MIB;
  const accel = spec.accel === 'tcg' && tb > 0 ? `tcg,tb-size=${tb}` : spec.accel;
  const args = ['-M', opts.join(','), '-accel', accel, '-cpu', spec.accel === 'kvm' ? 'host' : 'max'];
  args.push('-m', `${spec.memoryMiB}M`, '-smp', String(spec.cpus));
  if (spec.share?.kind === 'virtiofs') args.push('-object', `memory-backend-memfd,id=mem,size=${spec.memoryMiB}M,share=on`);
  if (spec.memoryFile) {
    args.push('-object', `memory-backend-file,id=mem,size=${spec.memoryMiB}M,mem-path=${path(spec.memoryFile.path)},share=${onOff(spec.memoryFile.shared)}`);
  }
  if (m.modernMmio) args.push('-global', 'virtio-mmio.force-legacy=false');
  return args;
}

function consoleArgs(spec: MicrovmSpec, isaSerial: boolean): string[] {
  if (spec.console === 'none') return [];
  const backend = spec.console === 'stdio' ? 'stdio,id=console,signal=off' : `file,id=console,path=${path(spec.console.file)}`;
  // Without the ISA port, the console is hvc0 on the virtio-serial device (from when virtio_console loads).
  return ['-chardev', backend, ...(isaSerial ? ['-serial', 'chardev:console'] : ['-device', 'virtconsole,chardev=console'])];
}

function shareArgs(share: ShareSpec): string[] {
  if (share.kind === '9p') {
    // passthrough keeps owners and modes as they are on the host (QEMU runs as root); remap keeps inode
    // numbers unique across the mounts under the shared directory (a container's overlay).
    const ro = share.readOnly ? ',readonly=on' : '';
    return [
      '-fsdev', `local,id=share,path=${path(share.path)},security_model=passthrough,multidevs=remap${ro}`,
      '-device', `virtio-9p-device,fsdev=share,mount_tag=${share.tag}`,
    ];
  }
  return ['-chardev', `socket,id=share,path=${path(share.socket)}`, '-device', `vhost-user-fs-device,chardev=share,tag=${share.tag}`];
}

/** The argv (without the binary) that starts the micro-VM `spec` describes. */
export function microvmArgv(spec: MicrovmSpec): string[] {
  checkSpec(spec);
  const isaSerial = spec.machine?.isaSerial ?? DEFAULT_MACHINE.isaSerial;
  // QEMU's seccomp filter: no obsolete system calls, no scheduler or CPU affinity changes. Denying
  // privilege changes or new processes (elevateprivileges, spawn) kills QEMU 7.2 as it daemonizes.
  const sandbox = ['-sandbox', 'on,obsolete=deny,resourcecontrol=deny'];
  const args = ['-nodefaults', '-no-user-config', '-nographic', '-no-reboot', ...sandbox, ...machineArgs(spec)];
  args.push('-kernel', path(spec.kernel), '-initrd', path(spec.initrd), '-append', spec.cmdline);
  if (spec.agentSocket || !isaSerial) args.push('-device', 'virtio-serial-device,max_ports=4');
  if (spec.agentSocket) {
    args.push('-chardev', `socket,id=agent,path=${path(spec.agentSocket)},server=on,wait=off`);
    args.push('-device', `virtserialport,chardev=agent,name=${AGENT_PORT}`);
  }
  args.push(...consoleArgs(spec, isaSerial));
  if (spec.net) {
    args.push('-netdev', `tap,id=net,ifname=${spec.net.tap},script=no,downscript=no`);
    args.push('-device', `virtio-net-device,netdev=net,mac=${spec.net.mac}`);
  }
  if (spec.share) args.push(...shareArgs(spec.share));
  if (spec.freePageReporting) args.push('-device', 'virtio-balloon-device,free-page-reporting=on');
  if (spec.qmpSocket) args.push('-qmp', `unix:${path(spec.qmpSocket)},server=on,wait=off`);
  if (spec.incoming) args.push('-incoming', 'defer');
  if (spec.pidFile) args.push('-daemonize', '-pidfile', path(spec.pidFile));
  return args;
}
