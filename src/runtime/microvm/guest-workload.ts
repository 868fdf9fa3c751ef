/**
 * A workload of a micro-VM sandbox as the host prepares it and the guest agent receives it. The host does
 * what needs the image store and the host's files: it mounts the container's root (an overlay of the
 * image's layers, writable layer on the host) and bind-mounts its volumes into the sandbox's shared
 * directory, resolves the user in the image, and turns the WorkloadSpec into the guest's create request
 * (guest-protocol.ts) with paths as the guest sees them (/run/nubis/<id>/…). The log and the exit file
 * are written by the guest into the same directory, where the host reads them.
 *
 * What the guest cannot honour is refused, not ignored: a custom seccomp profile (the guest applies no
 * syscall filter — the VM's own kernel is the boundary, as Kata Containers' default), sysctls, and a user
 * namespace of the pod's own.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Host } from '../../host/host.js';
import type { ImageRecord } from '../../image/types.js';
import { invalid } from '../../lib/errors.js';
import type { WorkloadSpec } from '../driver.js';
import { resolveCapabilities, type ContainerOptions } from '../oci/options.js';
import { processUser } from '../oci/security.js';
import { etcHostnameContent, etcHostsContent, mergeEnv, resolveArgs } from '../oci/spec.js';
import { toContainerOptions } from '../oci/workload-options.js';
import { GUEST_SHARE } from './guest-assets.js';
import type { CreateRequest, GuestMount } from './guest-protocol.js';
import { INERT } from './vm-sandboxes.js';

/** Where one workload's files are, on the host and in the guest. */
export interface GuestWorkloadPaths {
  /** <shared>/<id> on the host; /run/nubis/<id> in the guest. */
  host: string;
  guest: string;
  rootfs: string;
  log: string;
  exitDir: string;
  exitFile: string;
  oomFile: string;
}

export function guestWorkloadPaths(shared: string, id: string): GuestWorkloadPaths {
  const host = path.join(shared, id);
  return {
    host,
    guest: path.posix.join(GUEST_SHARE.mountPoint, id),
    rootfs: path.join(host, 'rootfs'),
    log: path.join(host, 'log'),
    exitDir: path.join(host, 'exits'),
    exitFile: path.join(host, 'exits', id),
    oomFile: path.join(host, 'oom'),
  };
}

/** The guest path of a host path inside the workload's directory. */
function inGuest(p: GuestWorkloadPaths, hostPath: string): string {
  return path.posix.join(p.guest, path.relative(p.host, hostPath));
}

/** Refuses what the guest cannot honour; the options otherwise. */
export function guestOptions(spec: WorkloadSpec): ContainerOptions {
  const sec = spec.security ?? {};
  if (!spec.sandbox) throw invalid('a micro-VM workload runs in a sandbox: give its id');
  if (spec.namespaces) throw invalid('a micro-VM workload cannot join host namespaces');
  if (sec.userNamespace) throw invalid('the micro-VM runtime gives no user namespace of its own (the pod has its own kernel instead)');
  if (sec.syscallFilter?.type === 'custom') throw invalid('the micro-VM runtime applies no seccomp profile: its guest kernel is the boundary (use RuntimeDefault or Unconfined)');
  if (spec.sysctls && Object.keys(spec.sysctls).length > 0) throw invalid('the micro-VM runtime cannot set sysctls yet');
  return toContainerOptions(spec);
}

/** What the host made for a workload and the guest's create request. */
export interface PreparedWorkload {
  request: CreateRequest;
  argv: string[];
  env: string[];
  workdir: string;
  uid: number;
  gid: number;
  groups: number[];
}

/**
 * Makes the workload's directory (the root is already mounted at `p.rootfs` by the caller), its /etc
 * files and volume bind mounts, and the guest's create request.
 */
export async function prepareGuestWorkload(host: Host, id: string, spec: WorkloadSpec, opts: ContainerOptions, image: ImageRecord, p: GuestWorkloadPaths): Promise<PreparedWorkload> {
  const hostname = spec.hostname ?? id.slice(0, 12);
  const user = await processUser(p.rootfs, image.config, opts);
  const argv = resolveArgs(image.config, opts);
  const env = mergeEnv(image.config.config?.Env ?? [], opts.env ?? [], { hostname, home: user.home ?? '/', tty: Boolean(opts.tty) });
  const workdir = opts.workingDir ?? (image.config.config?.WorkingDir || '/');
  const etc = path.join(p.host, 'etc');
  await fs.mkdir(etc, { recursive: true });
  await fs.mkdir(p.exitDir, { recursive: true });
  await fs.writeFile(path.join(etc, 'hosts'), etcHostsContent(hostname));
  await fs.writeFile(path.join(etc, 'hostname'), etcHostnameContent(hostname));
  await fs.copyFile('/etc/resolv.conf', path.join(etc, 'resolv.conf')).catch(() => fs.writeFile(path.join(etc, 'resolv.conf'), ''));
  const given = new Set((spec.mounts ?? []).map((m) => m.destination));
  const mounts: GuestMount[] = ['hosts', 'hostname', 'resolv.conf']
    .filter((f) => !given.has(`/etc/${f}`))
    .map((f) => ({ type: 'bind', source: inGuest(p, path.join(etc, f)), destination: `/etc/${f}` }));
  let n = 0;
  for (const m of spec.mounts ?? []) {
    if (m.type === 'tmpfs') {
      mounts.push({ type: 'tmpfs', destination: m.destination, readOnly: m.readOnly });
      continue;
    }
    const target = path.join(p.host, 'm', String(n++));
    const isDir = (await fs.stat(m.source)).isDirectory();
    await fs.mkdir(isDir ? target : path.dirname(target), { recursive: true });
    if (!isDir) await fs.writeFile(target, '');
    await host.run('mount', ['--rbind', m.source, target]);
    // The guest writes through QEMU (root on the host): no device files, setuid bits or symlinks take
    // effect on the host, and a read-only volume is read-only on the host too, not only in the guest.
    await host.run('mount', ['-o', `remount,bind,${INERT}${m.readOnly ? ',ro' : ''}`, target]);
    mounts.push({ type: 'bind', source: inGuest(p, target), destination: m.destination, readOnly: m.readOnly });
  }
  const caps = resolveCapabilities(opts);
  const r = opts.resources ?? {};
  const request: CreateRequest = {
    id,
    rootfs: inGuest(p, p.rootfs),
    argv,
    env,
    cwd: workdir,
    uid: user.uid,
    gid: user.gid,
    groups: user.additionalGids,
    capabilities: { bounding: caps, effective: caps, permitted: caps, inheritable: [], ambient: [] },
    noNewPrivs: opts.noNewPrivileges ?? !opts.privileged,
    tty: Boolean(opts.tty),
    stdin: Boolean(spec.stdin),
    readOnly: Boolean(opts.readOnlyRootfs),
    maskKernelPaths: !opts.privileged && !opts.unmaskedProc,
    mounts,
    limits: {
      ...(r.memoryBytes ? { memoryBytes: r.memoryBytes } : {}),
      ...(r.cpus ? { cpuMillis: Math.round(r.cpus * 1000) } : {}),
      ...(r.pidsLimit ? { pids: r.pidsLimit } : {}),
    },
    logPath: inGuest(p, p.log),
    exitPath: inGuest(p, p.exitFile),
    oomPath: inGuest(p, p.oomFile),
  };
  return { request, argv, env, workdir, uid: user.uid, gid: user.gid, groups: user.additionalGids };
}
