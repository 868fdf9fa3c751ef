/**
 * A pod's sandbox: the network, IPC and UTS namespaces its containers share (and the pod network in
 * them), pinned by bind mounts on
 * files in the pod's directory (<pod dir>/ns/{net,ipc,uts}) instead of being held by an "infra"
 * container (CRI-O does the same when it drops its infra container). Making one is a single
 * `unshare --net=FILE --ipc=FILE --uts=FILE -- ip link set lo up` (util-linux makes the namespaces, bind
 * mounts them onto the files, and runs `ip` inside them to bring loopback up); no runtime, conmon or
 * process stays behind. Every container of the pod joins them by path; runc sets the pod's hostname in
 * the shared UTS namespace as each container starts. The namespaces live until the files are unmounted
 * and the last container in them has exited; pinned files survive an agent restart and are found again
 * (a pinned file is on nsfs, the namespace filesystem).
 *
 * A pod with `hostUsers: false` also gets a user namespace of its own (<pod dir>/ns/user), with a host id
 * range only it holds (userns-ranges.ts; recorded in <pod dir>/ns/ids), and its network, IPC and UTS
 * namespaces are made inside it, so they belong to it: its containers join the user namespace first, and
 * the pod's root can then set the hostname, mount mqueue and sysfs and set namespaced sysctls (runc fails
 * at all three when a container's own new user namespace joins namespaces the host's user namespace owns;
 * seen with runc 1.1.5). util-linux 2.38's unshare can map ids only through newuidmap, so the agent writes
 * the maps of a short-lived `unshare --user` process itself and pins its namespaces.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Host } from '../host/host.js';
import { internal, messageOf } from '../lib/errors.js';
import { logger } from '../lib/log.js';
import type { IdMapping, RuntimeDriver, SharedNamespaces } from '../runtime/driver.js';
import { live } from './container-runs.js';
import type { ExitNotifier } from './exit-watcher.js';
import type { NetworkPlugin, PodRef } from './network-plugin.js';
import type { ContainerRun } from './pod-status.js';
import type { UserNamespaceRanges } from './userns-ranges.js';

const log = logger('agent');

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
    /** The pod's own directory (its volumes live there too). */
    private readonly podDir: (uid: string) => string,
    /** Host id ranges for pods with their own user namespace; without, such pods fail to start. */
    private readonly ranges?: UserNamespaceRanges,
  ) {}

  /** Where a pod's namespaces are pinned. */
  paths(uid: string): SandboxPaths {
    const dir = path.join(this.podDir(uid), 'ns');
    return { network: path.join(dir, FILES.network), ipc: path.join(dir, FILES.ipc), uts: path.join(dir, FILES.uts) };
  }

  /** Whether all of a pod's namespaces are pinned (after an agent restart: the sandbox still exists). */
  async exists(uid: string): Promise<boolean> {
    const p = this.paths(uid);
    const pinned = await Promise.all(KINDS.map((k) => isNamespaceFile(p[k])));
    const user = (await this.#mapping(uid)) ? await isNamespaceFile(this.#userFile(uid)) : true;
    return pinned.every(Boolean) && user;
  }

  /** The pod's own user namespace, when it has one: where it is pinned and its id mapping. */
  async userNamespace(uid: string): Promise<{ path: string; mapping: IdMapping } | undefined> {
    const mapping = await this.#mapping(uid);
    return mapping ? { path: this.#userFile(uid), mapping } : undefined;
  }

  #userFile(uid: string): string {
    return path.join(this.podDir(uid), 'ns', 'user');
  }

  #idsFile(uid: string): string {
    return path.join(this.podDir(uid), 'ns', 'ids');
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

/**
 * One pod's sandbox as its worker keeps it: the pinned namespaces and the pod network, made, found again
 * after an agent restart, or taken over from an infra container of an agent from before pinned
 * namespaces (a running one hands its namespaces over, so the pod's containers go on).
 */
export class PodSandbox {
  #paths: SandboxPaths | undefined;
  #idMapping: IdMapping | undefined;
  /** Whether a sandbox pinned by an earlier agent was looked for. */
  #looked = false;
  #podIP: string | undefined;
  readonly #infra: ContainerRun[] = [];

  constructor(
    private readonly pod: PodRef,
    private readonly deps: { sandboxes: PodSandboxes; network: NetworkPlugin; driver: RuntimeDriver; exits?: ExitNotifier },
  ) {}

  /** The pinned namespaces, while the sandbox exists. */
  get paths(): SandboxPaths | undefined {
    return this.#paths;
  }

  /** The id mapping of the pod's own user namespace, while the sandbox exists and has one. */
  get idMapping(): IdMapping | undefined {
    return this.#idMapping;
  }

  /** The pod's first address once its network is up ('' without a pod network). */
  get podIP(): string | undefined {
    return this.#podIP;
  }

  /** An infra container an older agent made for this pod (recovery). */
  adoptInfra(run: ContainerRun): void {
    this.#infra.push(run);
  }

  /**
   * Makes sure the sandbox and its network exist. When it has to be made while containers of the pod
   * still run (their namespaces are gone), `stopOrphans` stops them first and says how many it stopped:
   * they start over in the new sandbox as their restart policy says. With `userNamespace` a new sandbox
   * gets a user namespace of its own. Fails with the kubelet's wording.
   */
  async ensure(stopOrphans: () => Promise<number>, opts: { userNamespace?: boolean } = {}): Promise<void> {
    const { sandboxes, network } = this.deps;
    const uid = this.pod.podUid;
    if (!this.#paths && !this.#looked) {
      this.#looked = true;
      if (await sandboxes.exists(uid)) await this.#found(uid);
      const infra = this.#infra.find((r) => live(r) && r.state.pid);
      if (!this.#paths && infra) {
        try {
          this.#paths = await sandboxes.adoptFrom(uid, infra.state.pid!);
          log.info(`pod ${this.pod.namespace}/${this.pod.name}: its infra container's namespaces are pinned; the container goes`);
        } catch (err) {
          log.warn(`pod ${this.pod.namespace}/${this.pod.name}: ${messageOf(err)}`);
        }
      }
      if (this.#paths) await this.#removeInfra();
    }
    if (!this.#paths) {
      if ((await stopOrphans()) > 0 || this.#infra.length > 0) {
        log.warn(`pod ${this.pod.namespace}/${this.pod.name}: its sandbox is gone, making a new one`);
        await network.tearDown(this.pod).catch(() => {});
        await this.#removeInfra();
      }
      this.#podIP = undefined;
      try {
        this.#paths = await sandboxes.create(uid, opts);
        this.#idMapping = (await sandboxes.userNamespace(uid))?.mapping;
      } catch (err) {
        throw internal(`failed to create pod sandbox: ${messageOf(err)}`, err);
      }
    }
    if (this.#podIP === undefined) {
      try {
        this.#podIP = (await network.setUp({ ...this.pod, netnsPath: this.#paths.network })).ips[0] ?? '';
      } catch (err) {
        throw internal(`failed to set up the pod network: ${messageOf(err)}`, err);
      }
    }
  }

  /** A sandbox pinned by an earlier agent: its namespaces, with the user namespace when it has one. */
  async #found(uid: string): Promise<void> {
    const userns = await this.deps.sandboxes.userNamespace(uid);
    this.#paths = { ...this.deps.sandboxes.paths(uid), ...(userns ? { user: userns.path } : {}) };
    this.#idMapping = userns?.mapping;
  }

  /** Whether the pinned namespaces vanished under a running pod (the next ensure() makes them again). */
  async lost(): Promise<boolean> {
    if (await this.deps.sandboxes.exists(this.pod.podUid)) return false;
    this.#paths = undefined;
    this.#idMapping = undefined;
    return true;
  }

  /** Removes the network, the pinned namespaces and any infra container; the sandbox is not made again. */
  async remove(): Promise<void> {
    await this.deps.network.tearDown(this.pod).catch((err: unknown) => log.warn(`network tear-down of ${this.pod.name}: ${messageOf(err)}`));
    await this.#removeInfra();
    await this.deps.sandboxes.remove(this.pod.podUid);
    this.#paths = undefined;
    this.#idMapping = undefined;
    this.#looked = true;
  }

  async #removeInfra(): Promise<void> {
    for (const run of this.#infra.splice(0)) {
      this.deps.exits?.unwatch(run.id);
      await this.deps.driver.remove(run.id, { force: true }).catch(() => {});
    }
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
