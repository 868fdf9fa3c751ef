/**
 * The OCI driver: pods as sandboxes of pinned namespaces (pod-sandboxes.ts) with their containers as
 * conmon + runc workloads joining them (oci-containers.ts). Exits are known from conmon's exit files
 * through an inotify watch; the images in use are the ones its containers' records name.
 */
import path from 'node:path';
import { internal, invalid, notFound } from '../../lib/errors.js';
import type { WorkloadInfo, WorkloadSpec } from '../driver.js';
import { checkSandboxId, type SandboxCapabilities, type SandboxDriver, type SandboxInfo, type SandboxSpec } from '../sandbox.js';
import { imageDigestsInUse } from './container-store.js';
import { ExitWatcher } from './exit-watcher.js';
import { OciContainers, type OciDriverOptions } from './oci-containers.js';
import { PodSandboxes } from './pod-sandboxes.js';
import { UserNamespaceRanges } from './userns-ranges.js';

export class OciDriver extends OciContainers implements SandboxDriver {
  readonly sandboxCapabilities: SandboxCapabilities = { network: 'namespace', kernel: 'host', userNamespaces: true };
  readonly #sandboxes: PodSandboxes;
  /** conmon's exit files, watched: an exit is known within milliseconds. */
  readonly #exits = new ExitWatcher((id) => this.store.paths(id).exitDir);

  constructor(opts: OciDriverOptions) {
    super(opts);
    const root = path.join(opts.dataDir, 'sandboxes');
    // Claims stay where agents before sandbox drivers kept them, so running pods keep their ranges.
    const ranges = new UserNamespaceRanges(path.join(opts.dataDir, 'agent', 'userns'), (uid) => path.join(root, uid));
    this.#sandboxes = new PodSandboxes(opts.host, root, ranges, (uid) => path.join(opts.dataDir, 'agent', 'pods', uid, 'ns'));
  }

  async createSandbox(spec: SandboxSpec): Promise<SandboxInfo> {
    checkSandboxId(spec.id);
    if (spec.adoptFromPid !== undefined) await this.#sandboxes.adoptFrom(spec.id, spec.adoptFromPid);
    else await this.#sandboxes.create(spec.id, { userNamespace: spec.userNamespace });
    const info = await this.sandbox(spec.id);
    if (!info) throw internal(`the sandbox of pod ${spec.namespace}/${spec.name} vanished as it was made`);
    return info;
  }

  async sandbox(id: string): Promise<SandboxInfo | undefined> {
    checkSandboxId(id);
    const paths = await this.#sandboxes.find(id);
    if (!paths) return undefined;
    const userNamespace = await this.#sandboxes.userNamespace(id);
    return { id, driver: this.name, networkNamespace: paths.network, ...(userNamespace ? { userNamespace } : {}) };
  }

  async sandboxIds(): Promise<string[]> {
    return this.#sandboxes.ids();
  }

  async removeSandbox(id: string): Promise<void> {
    checkSandboxId(id);
    await this.#sandboxes.remove(id);
  }

  watchExit(id: string, onExit: () => void): void {
    this.#exits.watch(id, onExit);
  }

  unwatchExit(id: string): void {
    this.#exits.unwatch(id);
  }

  imagesInUse(): Promise<string[]> {
    return imageDigestsInUse(this.opts.dataDir);
  }

  close(): void {
    this.#exits.close();
  }

  /** A workload's spec with the namespaces of the sandbox it names (NotFound when that is gone). */
  async #inSandbox(spec: WorkloadSpec): Promise<WorkloadSpec> {
    if (spec.sandbox === undefined) return spec;
    if (spec.namespaces) throw invalid('a workload runs either in a sandbox or in given namespaces, not both');
    checkSandboxId(spec.sandbox);
    const namespaces = await this.#sandboxes.find(spec.sandbox);
    if (!namespaces) throw notFound(`sandbox ${spec.sandbox} does not exist`);
    return { ...spec, namespaces };
  }

  override async create(spec: WorkloadSpec, signal?: AbortSignal): Promise<WorkloadInfo> {
    return super.create(await this.#inSandbox(spec), signal);
  }
}
