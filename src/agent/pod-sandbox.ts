/**
 * One pod's sandbox as its worker keeps it: the driver's sandbox (runtime/sandbox.ts) and the pod network
 * in its network namespace — made, found again after an agent restart, made again when it was lost under a
 * running pod, or taken over from an infra container of an agent from before sandbox drivers (a running
 * one hands its namespaces over, so the pod's containers go on).
 */
import { internal, messageOf } from '../lib/errors.js';
import { logger } from '../lib/log.js';
import type { IdMapping } from '../runtime/driver.js';
import type { SandboxDriver, SandboxInfo, SandboxSpec } from '../runtime/sandbox.js';
import { live } from './container-runs.js';
import type { NetworkPlugin, PodRef } from './network-plugin.js';
import type { ContainerRun } from './pod-status.js';

const log = logger('agent');

export class PodSandbox {
  #info: SandboxInfo | undefined;
  /** Whether a sandbox made by an earlier agent was looked for. */
  #looked = false;
  #podIP: string | undefined;
  readonly #infra: ContainerRun[] = [];

  constructor(
    private readonly pod: PodRef,
    private readonly deps: { driver: SandboxDriver; network: NetworkPlugin },
  ) {}

  /** The sandbox, while it exists. */
  get info(): SandboxInfo | undefined {
    return this.#info;
  }

  /** The id mapping of the pod's own user namespace, while the sandbox exists and has one. */
  get idMapping(): IdMapping | undefined {
    return this.#info?.userNamespace?.mapping;
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
   * still run (their sandbox is gone), `stopOrphans` stops them first and says how many it stopped: they
   * start over in the new sandbox as their restart policy says. With `userNamespace` a new sandbox gets a
   * user namespace of its own. Says whether it made a new sandbox; fails with the kubelet's wording.
   */
  async ensure(stopOrphans: () => Promise<number>, opts: Pick<SandboxSpec, 'userNamespace' | 'resources' | 'limits'> = {}): Promise<'made' | 'kept'> {
    const { driver, network } = this.deps;
    const spec = { id: this.pod.podUid, namespace: this.pod.namespace, name: this.pod.name, ...opts };
    if (!this.#info && !this.#looked) {
      this.#looked = true;
      this.#info = await driver.sandbox(spec.id);
      const infra = this.#infra.find((r) => live(r) && r.state.pid);
      if (!this.#info && infra) {
        try {
          this.#info = await driver.createSandbox({ ...spec, adoptFromPid: infra.state.pid! });
          log.info(`pod ${this.pod.namespace}/${this.pod.name}: its infra container's namespaces are pinned; the container goes`);
        } catch (err) {
          log.warn(`pod ${this.pod.namespace}/${this.pod.name}: ${messageOf(err)}`);
        }
      }
      if (this.#info) await this.#removeInfra();
    }
    let made = false;
    if (!this.#info) {
      made = true;
      if ((await stopOrphans()) > 0 || this.#infra.length > 0) {
        log.warn(`pod ${this.pod.namespace}/${this.pod.name}: its sandbox is gone, making a new one`);
        await network.tearDown(this.pod).catch(() => {});
        await this.#removeInfra();
      }
      this.#podIP = undefined;
      try {
        this.#info = await driver.createSandbox(spec);
      } catch (err) {
        throw internal(`failed to create pod sandbox: ${messageOf(err)}`, err);
      }
    }
    if (this.#podIP === undefined) {
      try {
        this.#podIP = (await network.setUp({ ...this.pod, netnsPath: this.#info.networkNamespace })).ips[0] ?? '';
      } catch (err) {
        throw internal(`failed to set up the pod network: ${messageOf(err)}`, err);
      }
    }
    return made ? 'made' : 'kept';
  }

  /** Whether the sandbox vanished under a running pod (the next ensure() makes it again). */
  async lost(): Promise<boolean> {
    if (await this.deps.driver.sandbox(this.pod.podUid)) return false;
    this.#info = undefined;
    return true;
  }

  /** Removes the network, the sandbox and any infra container; the sandbox is not made again. */
  async remove(): Promise<void> {
    await this.deps.network.tearDown(this.pod).catch((err: unknown) => log.warn(`network tear-down of ${this.pod.name}: ${messageOf(err)}`));
    await this.#removeInfra();
    await this.deps.driver.removeSandbox(this.pod.podUid);
    this.#info = undefined;
    this.#looked = true;
  }

  async #removeInfra(): Promise<void> {
    for (const run of this.#infra.splice(0)) {
      this.deps.driver.unwatchExit(run.id);
      await this.deps.driver.remove(run.id, { force: true }).catch(() => {});
    }
  }
}
