/**
 * The OCI driver's pod sandboxes: the network, IPC and UTS namespaces a pod's containers share, pinned by
 * bind mounts on files in the sandbox's directory (<data dir>/sandboxes/<pod uid>/{net,ipc,uts}) instead
 * of being held by an "infra" container (CRI-O does the same when it drops its infra container). Making
 * one is a single `unshare --net=FILE --ipc=FILE --uts=FILE -- ip link set lo up` (util-linux makes the
 * namespaces, bind mounts them onto the files, and runs `ip` inside them to bring loopback up); no
 * runtime, conmon or process stays behind. Every container of the pod joins them by path; runc sets the
 * pod's hostname in the shared UTS namespace as each container starts. The namespaces live until the
 * files are unmounted and the last container in them has exited; pinned files survive an agent restart
 * and are found again (a pinned file is on nsfs, the namespace filesystem).
 *
 * A sandbox with a user namespace of its own (pods with `hostUsers: false`) gets <dir>/user, with a host
 * id range only it holds (userns-ranges.ts; recorded in <dir>/ids), and its network, IPC and UTS
 * namespaces are made inside it, so they belong to it: its containers join the user namespace first, and
 * the pod's root can then set the hostname, mount mqueue and sysfs and set namespaced sysctls (runc fails
 * at all three when a container's own new user namespace joins namespaces the host's user namespace owns;
 * seen with runc 1.1.5). util-linux 2.38's unshare can map ids only through newuidmap, so the driver
 * writes the maps of a short-lived `unshare --user` process itself and pins its namespaces.
 *
 * Agents from before sandbox drivers pinned a pod's namespaces in <data dir>/agent/pods/<uid>/ns: such a
 * sandbox is moved here (pinned again, then unpinned there) the first time it is looked up.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Host } from '../../host/host.js';
import { internal } from '../../lib/errors.js';
import type { IdMapping, SharedNamespaces } from '../driver.js';
import type { UserNamespaceRanges } from './userns-ranges.js';

/** Where a pod's namespaces are pinned, as its containers join them (`user` only with its own user namespace). */
export type SandboxPaths = Required<Omit<SharedNamespaces, 'user'>> & Pick<SharedNamespaces, 'user'>;

/**
 * Makes a user namespace with the given map and network, IPC and UTS namespaces owned by it, pins all
 * four on <dir>/{user,net,ipc,uts} and brings loopback up inside. Arguments: dir, host id, size.
 */
const USERNS_SANDBOX_SCRIPT = `set -e
d=$1; map="0 $2 $3"
unshare --user --net --ipc --uts sleep 30 >/dev/null &
p=$!
trap 'kill $p 2>/dev/null || true' EXIT
self=$(readlink /proc/self/ns/user); i=0
while [ "$(readlink /proc/$p/ns/user || true)" = "$self" ]; do
  i=$((i+1)); [ $i -lt 5000 ] || { echo 'unshare made no user namespace' >&2; exit 1; }
done
echo "$map" > /proc/$p/uid_map
echo "$map" > /proc/$p/gid_map
for k in user net ipc uts; do mount --bind /proc/$p/ns/$k "$d/$k"; done
nsenter --user="$d/user" --net="$d/net" ip link set lo up`;

const KINDS = ['network', 'ipc', 'uts'] as const;
/** unshare's option and the file name of each kind. */
const FILES = { network: 'net', ipc: 'ipc', uts: 'uts' } as const;

export class PodSandboxes {
  constructor(
    private readonly host: Host,
    /** Where the sandboxes' directories are (<root>/<pod uid>). */
    private readonly root: string,
    /** Host id ranges for sandboxes with their own user namespace; without, such sandboxes cannot be made. */
    private readonly ranges?: UserNamespaceRanges,
    /** Where an agent from before sandbox drivers pinned a pod's namespaces. */
    private readonly legacyDir?: (uid: string) => string,
  ) {}

  /** Where a pod's namespaces are pinned. */
  paths(uid: string): SandboxPaths {
    const dir = this.dir(uid);
    return { network: path.join(dir, FILES.network), ipc: path.join(dir, FILES.ipc), uts: path.join(dir, FILES.uts) };
  }

  /** Whether all of a pod's namespaces are pinned (after an agent restart: the sandbox still exists). */
  async exists(uid: string): Promise<boolean> {
    const p = this.paths(uid);
    const pinned = await Promise.all(KINDS.map((k) => isNamespaceFile(p[k])));
    const user = (await this.#mapping(uid)) ? await isNamespaceFile(this.#userFile(uid)) : true;
    return pinned.every(Boolean) && user;
  }

  /** The directory of a sandbox's pinned files. */
  dir(uid: string): string {
    return path.join(this.root, uid);
  }

  /** The ids of the sandboxes that have a directory here (whole or not). */
  async ids(): Promise<string[]> {
    return (await fs.readdir(this.root).catch(() => [] as string[])).sort();
  }

  /** The sandbox's pinned namespaces when they all exist (one an older agent pinned is moved here first). */
  async find(uid: string): Promise<SandboxPaths | undefined> {
    if (!(await this.exists(uid)) && !(await this.#moveLegacy(uid))) return undefined;
    const userns = await this.userNamespace(uid);
    return { ...this.paths(uid), ...(userns ? { user: userns.path } : {}) };
  }

  /** Pins here what an agent from before sandbox drivers pinned in the pod's directory; false when nothing was. */
  async #moveLegacy(uid: string): Promise<boolean> {
    if (!this.legacyDir) return false;
    const old = this.legacyDir(uid);
    const names = [...KINDS.map((k) => FILES[k]), 'user'];
    const pinned: string[] = [];
    for (const name of names) if (await isNamespaceFile(path.join(old, name))) pinned.push(name);
    if (!KINDS.every((k) => pinned.includes(FILES[k]))) return false;
    const dir = this.dir(uid);
    await this.remove(uid);
    await fs.mkdir(dir, { recursive: true });
    await fs.copyFile(path.join(old, 'ids'), path.join(dir, 'ids')).catch(() => {});
    for (const name of pinned) {
      await fs.writeFile(path.join(dir, name), '');
      await this.host.run('mount', ['--bind', path.join(old, name), path.join(dir, name)]);
    }
    await this.host.run('umount', ['--lazy', ...pinned.map((n) => path.join(old, n))], { allowFailure: true });
    await fs.rm(old, { recursive: true, force: true });
    return this.exists(uid);
  }

  /** The pod's own user namespace, when it has one: where it is pinned and its id mapping. */
  async userNamespace(uid: string): Promise<{ path: string; mapping: IdMapping } | undefined> {
    const mapping = await this.#mapping(uid);
    return mapping ? { path: this.#userFile(uid), mapping } : undefined;
  }

  #userFile(uid: string): string {
    return path.join(this.dir(uid), 'user');
  }

  #idsFile(uid: string): string {
    return path.join(this.dir(uid), 'ids');
  }

  async #mapping(uid: string): Promise<IdMapping | undefined> {
    const text = await fs.readFile(this.#idsFile(uid), 'utf8').catch(() => undefined);
    if (text === undefined) return undefined;
    const m = JSON.parse(text) as IdMapping;
    return Number.isInteger(m.hostId) && Number.isInteger(m.size) ? m : undefined;
  }

  /**
   * Pins the namespaces a running process is in as the pod's sandbox: how the infra container of an
   * agent from before pinned namespaces hands its pod over, without stopping the pod's containers.
   */
  async adoptFrom(uid: string, pid: number): Promise<SandboxPaths> {
    const p = await this.#fresh(uid);
    try {
      for (const k of KINDS) await this.host.run('mount', ['--bind', `/proc/${pid}/ns/${FILES[k]}`, p[k]]);
    } catch (err) {
      await this.remove(uid).catch(() => {});
      throw internal(`cannot pin the namespaces of process ${pid}: ${(err as Error).message}`);
    }
    return p;
  }

  /**
   * Makes and pins fresh namespaces for a pod (whatever was pinned before goes); loopback is up. With
   * `userNamespace`, inside a user namespace of the pod's own (see userNamespace()).
   */
  async create(uid: string, opts: { userNamespace?: boolean } = {}): Promise<SandboxPaths> {
    const p = await this.#fresh(uid);
    const r = opts.userNamespace
      ? await this.#createInUserNamespace(uid)
      : await this.host.run('unshare', [...KINDS.map((k) => `--${FILES[k]}=${p[k]}`), '--', 'ip', 'link', 'set', 'lo', 'up'], { allowFailure: true });
    if (r.code !== 0) {
      await this.remove(uid).catch(() => {});
      throw internal(`cannot make the pod's namespaces: ${r.stderr.trim() || `unshare exited with ${r.code}`}`);
    }
    return opts.userNamespace ? { ...p, user: this.#userFile(uid) } : p;
  }

  async #createInUserNamespace(uid: string): Promise<{ code: number; stderr: string }> {
    if (!this.ranges) return { code: 1, stderr: 'this agent has no user namespace ranges to give pods' };
    const mapping = await this.ranges.allocate(uid);
    // Recorded before anything is pinned, so that remove() gives the range back whatever happens next.
    await fs.writeFile(this.#idsFile(uid), JSON.stringify(mapping));
    await fs.writeFile(this.#userFile(uid), '');
    const dir = path.dirname(this.#idsFile(uid));
    return this.host.run('sh', ['-c', USERNS_SANDBOX_SCRIPT, 'sh', dir, String(mapping.hostId), String(mapping.size)], { allowFailure: true, timeoutMs: 30_000 });
  }

  /** Empty files to pin on, after whatever was pinned before is gone. */
  async #fresh(uid: string): Promise<SandboxPaths> {
    await this.remove(uid);
    const p = this.paths(uid);
    await fs.mkdir(path.dirname(p.network), { recursive: true });
    await Promise.all(KINDS.map((k) => fs.writeFile(p[k], '')));
    return p;
  }

  /** Unpins a pod's namespaces (they end once no container is left in them); safe to repeat. */
  async remove(uid: string): Promise<void> {
    const p = this.paths(uid);
    const pinned: string[] = [];
    for (const file of [...KINDS.map((k) => p[k]), this.#userFile(uid)]) if (await isNamespaceFile(file)) pinned.push(file);
    if (pinned.length > 0) {
      // MNT_DETACH: an nsfs bind mount has nothing to flush, and a busy one must not stop the clean-up.
      const r = await this.host.run('umount', ['--lazy', ...pinned], { allowFailure: true });
      if (r.code !== 0) throw internal(`cannot unpin the pod's namespaces: ${r.stderr.trim()}`);
    }
    const mapping = await this.#mapping(uid).catch(() => undefined);
    if (mapping) await this.ranges?.release(uid, mapping);
    await fs.rm(path.dirname(p.network), { recursive: true, force: true });
  }
}

let nsfsDev: number | undefined;

/** Whether `file` is a namespace (a bind mount from nsfs), not a plain file or nothing. */
async function isNamespaceFile(file: string): Promise<boolean> {
  nsfsDev ??= (await fs.stat('/proc/self/ns/net')).dev;
  try {
    return (await fs.stat(file)).dev === nsfsDev;
  } catch {
    return false;
  }
}
