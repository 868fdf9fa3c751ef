/**
 * The parts of a container's OCI spec that confine it beyond namespaces: who the process runs as (user,
 * primary group, supplementary groups, the runAsNonRoot refusal), its syscall filter, and the host
 * devices a privileged container gets.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { ImageConfig } from '../../image/types.js';
import { invalid, isNubisError } from '../../lib/errors.js';
import { RUN_AS_NON_ROOT_REFUSAL } from '../driver.js';
import type { ContainerOptions } from './options.js';
import { customSeccompProfile, defaultSeccompProfile, type SeccompProfile } from './seccomp.js';
import { resolveUser, type ResolvedUser } from './user.js';

/** A device node the runtime creates (or binds) in the container's /dev (OCI linux.devices). */
export interface OciDevice {
  path: string;
  type: 'c' | 'b';
  major: number;
  minor: number;
  fileMode: number;
  uid: number;
  gid: number;
}

function nonRootRefusal(user: string): never {
  const numeric = /^\d*$/.test(user);
  throw invalid(numeric ? `${RUN_AS_NON_ROOT_REFUSAL} will run as root` : `${RUN_AS_NON_ROOT_REFUSAL} has non-numeric user (${user}), cannot verify user is non-root`);
}

async function resolveForNonRoot(rootfs: string, userPart: string, groupPart: string): Promise<ResolvedUser> {
  try {
    return await resolveUser(rootfs, groupPart ? `${userPart || '0'}:${groupPart}` : userPart);
  } catch (err) {
    if (isNubisError(err, 'Invalid') && !/^\d*$/.test(userPart)) nonRootRefusal(userPart);
    throw err;
  }
}

/**
 * Who the process runs as: `user` (else the image's User) resolved in the image, `group` replacing the
 * primary group (image group memberships are kept, as Kubernetes runtimes do), then the supplemental
 * groups. With runAsNonRoot, uid 0 or a name the image cannot resolve is refused in Kubernetes' words.
 */
export async function processUser(rootfs: string, image: ImageConfig, opts: ContainerOptions): Promise<ResolvedUser> {
  const spec = (opts.user ?? image.config?.User ?? '').trim();
  const colon = spec.indexOf(':');
  const userPart = colon < 0 ? spec : spec.slice(0, colon);
  const groupPart = opts.group !== undefined ? '' : colon < 0 ? '' : spec.slice(colon + 1);
  const user = opts.runAsNonRoot ? await resolveForNonRoot(rootfs, userPart, groupPart) : await resolveUser(rootfs, opts.group !== undefined ? userPart : spec);
  if (opts.runAsNonRoot && user.uid === 0) nonRootRefusal('0');
  const gid = opts.group ?? user.gid;
  const fromImage = opts.imageGroups === false ? [] : user.additionalGids.filter((g) => g !== user.gid || opts.group === undefined);
  const additionalGids = [...new Set([gid, ...fromImage, ...(opts.supplementalGroups ?? [])])];
  return { ...user, gid, additionalGids };
}

/** The container's syscall filter: none when privileged or unconfined, else the default or the user's profile. */
export function seccompFor(opts: ContainerOptions, capabilities: readonly string[]): SeccompProfile | undefined {
  if (opts.privileged || opts.seccomp === 'unconfined') return undefined;
  if (opts.seccomp === undefined || opts.seccomp === 'default') return defaultSeccompProfile(capabilities);
  return customSeccompProfile(opts.seccomp.profile, capabilities);
}

/** Directories of /dev that hold no device a privileged container should get (runc and containerd skip them). */
const SKIPPED_DEV_DIRS = new Set(['pts', 'shm', 'fd', 'mqueue', '.lxc', '.lxd-mounts', '.udev']);
/** Devices the runtime sets up itself. */
const SKIPPED_DEVICES = new Set(['/dev/console', '/dev/ptmx']);

/** Linux's encoding of a device number (dev_t) into major and minor. */
function majorMinor(rdev: number): { major: number; minor: number } {
  const high = Math.floor(rdev / 2 ** 32);
  const low = rdev % 2 ** 32;
  return { major: ((low >>> 8) & 0xfff) | ((high & 0xfffff000) >>> 0), minor: ((low & 0xff) | ((low >>> 12) & 0xfff00) | ((high & 0xfff) << 20)) >>> 0 };
}

/** Every character and block device under `dir` (the host's /dev), as a privileged container gets them. */
export async function hostDevices(dir = '/dev'): Promise<OciDevice[]> {
  const out: OciDevice[] = [];
  let entries;
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (!SKIPPED_DEV_DIRS.has(e.name)) out.push(...(await hostDevices(p)));
      continue;
    }
    if ((!e.isCharacterDevice() && !e.isBlockDevice()) || SKIPPED_DEVICES.has(p)) continue;
    const st = await fs.lstat(p).catch(() => undefined);
    if (!st) continue;
    out.push({ path: p, type: e.isBlockDevice() ? 'b' : 'c', ...majorMinor(st.rdev), fileMode: st.mode & 0o7777, uid: st.uid, gid: st.gid });
  }
  return out;
}
