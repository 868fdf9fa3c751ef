/**
 * The driver-neutral WorkloadSpec as the OCI spec builder's ContainerOptions, and what a container in a
 * user namespace needs on the host before runc starts it.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { SyscallFilter, WorkloadSpec } from '../driver.js';
import type { ContainerOptions } from './options.js';
import { resolveInRoot } from './user.js';

function seccompOption(filter: SyscallFilter | undefined): ContainerOptions['seccomp'] {
  if (!filter || filter.type === 'default') return 'default';
  return filter.type === 'unconfined' ? 'unconfined' : { profile: filter.profile };
}

/** Maps the driver-neutral spec to the OCI spec builder's options. */
export function toContainerOptions(spec: WorkloadSpec): ContainerOptions {
  const sec = spec.security ?? {};
  return {
    command: spec.command,
    entrypoint: spec.entrypoint,
    env: spec.env,
    workingDir: spec.workdir,
    user: spec.user,
    group: spec.group,
    tty: spec.tty,
    readOnlyRootfs: spec.readOnlyRootfs,
    resources: {
      memoryBytes: spec.resources?.memoryBytes,
      cpus: spec.resources?.cpus,
      pidsLimit: spec.resources?.pidsLimit,
      cpuShares: spec.resources?.cpuShares,
    },
    hostname: spec.hostname,
    mounts: spec.mounts,
    networkNamespacePath: spec.namespaces?.network,
    ipcNamespacePath: spec.namespaces?.ipc,
    utsNamespacePath: spec.namespaces?.uts,
    userNamespacePath: spec.namespaces?.user,
    idMapping: sec.userNamespace,
    capAdd: sec.capabilities?.add,
    capDrop: sec.capabilities?.drop,
    privileged: sec.privileged,
    runAsNonRoot: sec.runAsNonRoot,
    noNewPrivileges: sec.noNewPrivileges,
    seccomp: seccompOption(sec.syscallFilter),
    supplementalGroups: sec.supplementalGroups,
    imageGroups: sec.imageGroups,
    unmaskedProc: sec.unmaskedProc,
    sysctls: spec.sysctls,
  };
}

/** Adds search permission for others (o+x) to `dir` when it lacks it; nothing else changes. */
async function makeSearchable(dir: string): Promise<void> {
  const mode = (await fs.stat(dir)).mode & 0o7777;
  if ((mode & 0o001) === 0) await fs.chmod(dir, mode | 0o001);
}

/** Where the container's mounts land: the caller's and the driver's /etc files, with whether each is a file. */
async function mountPoints(opts: ContainerOptions): Promise<{ destination: string; file: boolean }[]> {
  const etc = opts.etcFiles ?? {};
  const points = (opts.mounts ?? []).map(async (m) => ({
    destination: m.destination,
    file: m.type !== 'tmpfs' && (await fs.stat(m.source).then((st) => !st.isDirectory(), () => false)),
  }));
  const etcPoints = [etc.hosts && '/etc/hosts', etc.hostname && '/etc/hostname', etc.resolvConf && '/etc/resolv.conf'].filter((d): d is string => Boolean(d)).map((destination) => ({ destination, file: true }));
  return [...(await Promise.all(points)), ...etcPoints];
}

/** Makes a missing mount point inside the rootfs (as the host's root, symlinks kept inside the rootfs). */
async function makeMountPoint(rootfs: string, point: { destination: string; file: boolean }): Promise<void> {
  const target = await resolveInRoot(rootfs, point.destination);
  if (await fs.lstat(target).then(() => true, () => false)) return;
  await fs.mkdir(point.file ? path.dirname(target) : target, { recursive: true, mode: 0o755 });
  if (point.file) await fs.writeFile(target, '', { flag: 'a', mode: 0o644 });
}

/**
 * Readies a mounted rootfs for a container whose root is host id `hostId` (user namespace): the overlay's
 * root directory and the container's own /etc files become its own; the mount points of its mounts are
 * made now, as the host's root, since the container's root may not create them in directories of the
 * image's layers; and every directory from the data dir down to the rootfs gets search permission for
 * others (o+x, never read), since the runtime mounts the rootfs and bind sources as that unprivileged host
 * id. Files of the image's layers keep their owners, which the container sees as nobody:nogroup (usable
 * as their modes allow).
 */
export async function prepareUserNamespaceRootfs(dataDir: string, rootfs: string, opts: ContainerOptions, hostId: number): Promise<void> {
  const chain: string[] = [];
  for (let d = path.dirname(rootfs); d.length >= dataDir.length && d !== path.dirname(d); d = path.dirname(d)) chain.push(d);
  for (const d of chain) await makeSearchable(d);
  await fs.chown(rootfs, hostId, hostId);
  const etc = opts.etcFiles ?? {};
  await Promise.all([etc.hosts, etc.hostname, etc.resolvConf].filter((f): f is string => Boolean(f)).map((f) => fs.chown(f, hostId, hostId)));
  for (const point of await mountPoints(opts)) await makeMountPoint(rootfs, point);
}
