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
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Host } from '../host/host.js';
import { internal, messageOf } from '../lib/errors.js';
import { logger } from '../lib/log.js';
import type { RuntimeDriver, SharedNamespaces } from '../runtime/driver.js';
import { live } from './container-runs.js';
import type { ExitNotifier } from './exit-watcher.js';
import type { NetworkPlugin, PodRef } from './network-plugin.js';
import type { ContainerRun } from './pod-status.js';

const log = logger('agent');

/** Where a pod's namespaces are pinned, as its containers join them. */
export type SandboxPaths = Required<SharedNamespaces>;

const KINDS = ['network', 'ipc', 'uts'] as const;
/** unshare's option and the file name of each kind. */
const FILES = { network: 'net', ipc: 'ipc', uts: 'uts' } as const;

export class PodSandboxes {
  constructor(
    private readonly host: Host,
    /** The pod's own directory (its volumes live there too). */
    private readonly podDir: (uid: string) => string,
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
    return pinned.every(Boolean);
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

  /** Makes and pins fresh namespaces for a pod (whatever was pinned before goes); loopback is up. */
  async create(uid: string): Promise<SandboxPaths> {
    const p = await this.#fresh(uid);
    const r = await this.host.run('unshare', [...KINDS.map((k) => `--${FILES[k]}=${p[k]}`), '--', 'ip', 'link', 'set', 'lo', 'up'], { allowFailure: true });
    if (r.code !== 0) {
      await this.remove(uid).catch(() => {});
      throw internal(`cannot make the pod's namespaces: ${r.stderr.trim() || `unshare exited with ${r.code}`}`);
    }
    return p;
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
    for (const k of KINDS) if (await isNamespaceFile(p[k])) pinned.push(p[k]);
    if (pinned.length > 0) {
      // MNT_DETACH: an nsfs bind mount has nothing to flush, and a busy one must not stop the clean-up.
      const r = await this.host.run('umount', ['--lazy', ...pinned], { allowFailure: true });
      if (r.code !== 0) throw internal(`cannot unpin the pod's namespaces: ${r.stderr.trim()}`);
    }
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
   * they start over in the new sandbox as their restart policy says. Fails with the kubelet's wording.
   */
  async ensure(stopOrphans: () => Promise<number>): Promise<void> {
    const { sandboxes, network } = this.deps;
    const uid = this.pod.podUid;
    if (!this.#paths && !this.#looked) {
      this.#looked = true;
      if (await sandboxes.exists(uid)) this.#paths = sandboxes.paths(uid);
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
        this.#paths = await sandboxes.create(uid);
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

  /** Whether the pinned namespaces vanished under a running pod (the next ensure() makes them again). */
  async lost(): Promise<boolean> {
    if (await this.deps.sandboxes.exists(this.pod.podUid)) return false;
    this.#paths = undefined;
    return true;
  }

  /** Removes the network, the pinned namespaces and any infra container; the sandbox is not made again. */
  async remove(): Promise<void> {
    await this.deps.network.tearDown(this.pod).catch((err: unknown) => log.warn(`network tear-down of ${this.pod.name}: ${messageOf(err)}`));
    await this.#removeInfra();
    await this.deps.sandboxes.remove(this.pod.podUid);
    this.#paths = undefined;
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
