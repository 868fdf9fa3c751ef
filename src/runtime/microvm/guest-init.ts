/**
 * The /init of a micro-VM's initramfs, as a busybox shell script: mount the kernel's file systems, load
 * the modules the initramfs carries (in the order of MODULE_ORDER_FILE, which initramfs.ts writes),
 * optionally mount the directory the host shares, then run the caller's body (which may exec the guest
 * agent). Without a body it powers off at once.
 */
import { invalid } from '../../lib/errors.js';

/** A host directory shared into the guest, as the guest mounts it. */
export interface GuestShare {
  fs: '9p' | 'virtiofs';
  /** The mount tag QEMU gives the device. */
  tag: string;
  /** Where the guest mounts it, e.g. /shared. */
  mountPoint: string;
  /** Extra mount options (9p: e.g. "cache=loose"). */
  options?: string;
}

/** The initramfs file that lists the module names in load order; each is /lib/modules/<name>.ko. */
export const MODULE_ORDER_FILE = 'lib/modules/order';

export interface GuestInitOptions {
  share?: GuestShare;
  /** Shell text run after the prelude (with `port_dev NAME` defined: the device of a named virtio-serial port). */
  body?: string;
}

/** 9p's largest useful message size on virtio (the transport caps it near 512 KiB). */
const NINEP_MSIZE = 512 * 1024;

const SAFE = /^[A-Za-z0-9_.,=/:+-]+$/;

function safe(what: string, value: string): string {
  if (!SAFE.test(value)) throw invalid(`${what} "${value}" has characters the guest init cannot take`);
  return value;
}

/** The mount command for a share. */
export function shareMountCommand(share: GuestShare): string {
  const dir = safe('mount point', share.mountPoint);
  const tag = safe('share tag', share.tag);
  const extra = share.options ? `,${safe('mount options', share.options)}` : '';
  if (share.fs === '9p') return `mount -t 9p -o trans=virtio,version=9p2000.L,msize=${NINEP_MSIZE}${extra} ${tag} ${dir}`;
  return `mount -t virtiofs${extra ? ` -o ${extra.slice(1)}` : ''} ${tag} ${dir}`;
}

/**
 * Prints the device of the virtio-serial port named $1 (the name appears a moment after the module loads:
 * the host announces ports asynchronously), waiting up to 5 s.
 */
const PORT_DEV = `port_dev() {
  i=0
  while [ $i -lt 500 ]; do
    for p in /sys/class/virtio-ports/*; do
      [ "$(cat "$p/name" 2>/dev/null)" = "$1" ] && echo "/dev/\${p##*/}" && return 0
    done
    usleep 10000
    i=$((i+1))
  done
  echo "nubis-init: no virtio-serial port named $1" >&2
  return 1
}`;

/** The whole /init script. */
export function guestInitScript(opts: GuestInitOptions): string {
  const lines = [
    '#!/bin/sh',
    'export PATH=/usr/sbin:/usr/bin:/sbin:/bin',
    'mount -t devtmpfs devtmpfs /dev',
    'mount -t proc proc /proc',
    'mount -t sysfs sysfs /sys',
    `for m in $(cat /${MODULE_ORDER_FILE}); do insmod /lib/modules/$m.ko || echo "nubis-init: insmod $m failed" >&2; done`,
  ];
  if (opts.share) {
    lines.push(`mkdir -p ${safe('mount point', opts.share.mountPoint)}`);
    lines.push(`${shareMountCommand(opts.share)} || echo "nubis-init: cannot mount the ${opts.share.fs} share" >&2`);
  }
  lines.push(PORT_DEV);
  lines.push(opts.body ?? 'poweroff -f');
  return lines.join('\n') + '\n';
}

/** The smallest init: power off at once (the boot floor; the accelerator probe adds a marker). */
export function powerOffInit(marker?: string): string {
  return ['#!/bin/sh', ...(marker ? [`echo ${safe('marker', marker)} > /dev/console`] : []), '/bin/poweroff -f', ''].join('\n');
}

/**
 * A busybox shell loop on the agent's virtio-serial port, for tests and benchmarks until the guest agent
 * takes its place: it writes `marker` once a host is connected, then runs each line it reads with sh -c,
 * sends the output and "DONE <exit code>"; the line "poweroff" powers the guest off. A port reads EOF
 * while no host is connected, so it waits and reads again.
 */
export function shellLoopBody(port: string, marker: string): string {
  return `d=$(port_dev ${safe('port name', port)}) || poweroff -f
exec 3<>"$d"
echo ${safe('marker', marker)} >&3
while true; do
  if read -r line <&3; then
    [ "$line" = poweroff ] && poweroff -f
    sh -c "$line" >&3 2>&3 </dev/null
    echo "DONE $?" >&3
  else
    usleep 20000
  fi
done`;
}
