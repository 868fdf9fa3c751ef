/**
 * What every secure pod's VM boots, made once per host and kept in <data>/microvm/cache: the
 * distribution's kernel as an uncompressed vmlinux, an initramfs with busybox, the modules the guest needs
 * (virtio-mmio, virtio-serial for the agent's channel, virtio-net, 9p for the shared directory) and the
 * guest agent as its init's last step, and the accelerator (KVM where it boots the kernel, else TCG).
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Host } from '../../host/host.js';
import { unavailable } from '../../lib/errors.js';
import { decideAccel, qemuIdentity, type AccelDecision } from './accel-probe.js';
import { guestInitScript } from './guest-init.js';
import { findGuestKernel, type GuestKernel } from './guest-kernel.js';
import { buildInitramfs } from './initramfs.js';
import { hostTscKhz, kernelCmdline } from './kernel-cmdline.js';
import { GUEST_MODULES } from './kernel-modules.js';
import { AGENT_PORT, QEMU_BINARY, QEMU_PACKAGE } from './qemu-command.js';

/** Where the guest mounts the sandbox's shared directory (and the 9p tag the host gives it). */
const GUEST_SHARE_MOUNT = '/run/nubis';
export const GUEST_SHARE = { tag: 'nubis', mountPoint: GUEST_SHARE_MOUNT } as const;

/** The guest agent binary's name, built by scripts/build.mjs into dist/. */
const AGENT_BINARY = 'nubis-guest-agent';

/**
 * The end of the guest's init: the agent moves to a root of its own (a tmpfs holding only itself, with the
 * kernel's file systems moved over) and the initramfs is freed (switch_root), so that containers can
 * pivot_root away from the guest's root: from the initramfs they could only chroot, which a container
 * root with CAP_SYS_CHROOT can leave. The share is mounted later, by the agent when the host asks: a VM
 * with 9p mounted cannot be snapshotted as a template (vm-templates.ts).
 */
const SWITCH_ROOT_BODY = [
  `d=$(port_dev ${AGENT_PORT}) || poweroff -f`,
  'mkdir -p /newroot && mount -t tmpfs -o mode=0755 root /newroot',
  `mkdir -p /newroot/sbin /newroot/dev /newroot/proc /newroot/sys /newroot/tmp /newroot${GUEST_SHARE_MOUNT}`,
  `cp /sbin/${AGENT_BINARY} /newroot/sbin/`,
  'for m in /dev /proc /sys; do mount -o move $m /newroot$m; done',
  `exec switch_root /newroot /sbin/${AGENT_BINARY} --channel "$d"`,
].join('\n');

export interface GuestAssets {
  /** Where they are kept (and the VM templates made from them, vm-templates.ts). */
  cacheDir: string;
  kernel: GuestKernel;
  /** The QEMU binary first on PATH, as path:size:mtime (accel-probe.ts): what VM templates were made with. */
  qemu: string;
  initrd: string;
  cmdline: string;
  accel: AccelDecision;
}

/** The guest agent built beside this program (dist/), or NUBIS_GUEST_AGENT; Unavailable when there is none. */
export function guestAgentBinary(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [process.env.NUBIS_GUEST_AGENT, path.join(here, AGENT_BINARY), path.resolve(here, '../../../dist', AGENT_BINARY)];
  const found = candidates.find((c): c is string => Boolean(c) && existsSync(c!));
  if (!found) throw unavailable(`the micro-VM guest agent (${AGENT_BINARY}) is not built: run npm run build`);
  return found;
}

/** What this machine lacks to run micro-VMs (QEMU, a guest kernel, the guest agent, /dev/net/tun); undefined when nothing. */
export function microvmHostProblem(): string | undefined {
  const onPath = (cmd: string) => (process.env.PATH ?? '/usr/bin:/bin').split(':').some((d) => d && existsSync(path.join(d, cmd)));
  if (!onPath(QEMU_BINARY)) return `${QEMU_BINARY} is not installed (Debian's ${QEMU_PACKAGE})`;
  if (!existsSync('/boot') || !readdirSync('/boot').some((f) => f.startsWith('vmlinuz-'))) return 'no kernel in /boot for guests (Debian\'s linux-image-amd64)';
  if (!existsSync('/dev/net/tun')) return 'no /dev/net/tun for the guests\' network';
  try {
    guestAgentBinary();
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
}

/** The kernel, initramfs, command line and accelerator of secure pods on this host (built once, cached). */
export async function guestAssets(host: Host, cacheDir: string, opts: { warn?: (m: string) => void; signal?: AbortSignal } = {}): Promise<GuestAssets> {
  const kernel = await findGuestKernel({ cacheDir, host, signal: opts.signal });
  const init = guestInitScript({ body: SWITCH_ROOT_BODY });
  const [initrd, accel, tscKhz, qemu] = await Promise.all([
    buildInitramfs(
      {
        modulesDir: kernel.modulesDir,
        modules: [...GUEST_MODULES.transport, ...GUEST_MODULES.channel, ...GUEST_MODULES.network, ...GUEST_MODULES['9p']],
        init,
        files: [{ path: `/sbin/${AGENT_BINARY}`, source: guestAgentBinary(), mode: 0o755 }],
      },
      { cacheDir, host, signal: opts.signal },
    ),
    decideAccel({ host, kernel, cacheDir, warn: opts.warn, signal: opts.signal }),
    hostTscKhz(),
    qemuIdentity(),
  ]);
  return { cacheDir, kernel, qemu, initrd: initrd.path, cmdline: kernelCmdline({ console: 'ttyS0', tscKhz }), accel };
}
