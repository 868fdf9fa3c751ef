/**
 * The sandbox driver contract: a pod's sandbox belongs to the driver that runs it. The agent asks a driver
 * for a sandbox, wires the pod network into the network namespace the driver declares, and then creates
 * the pod's workloads inside the sandbox (`WorkloadSpec.sandbox`). It never builds a sandbox itself, never
 * reads a driver's files, and learns of exits and of images in use only through this contract.
 *
 * Rules every sandbox driver keeps, on top of RuntimeDriver's:
 *  - A sandbox outlives the Nubis process, like the workloads in it: `sandbox(id)` in a fresh process finds
 *    it again from disk and the running processes.
 *  - `createSandbox` is all or nothing: a failure leaves nothing behind. `removeSandbox` is safe to repeat
 *    and to call for a sandbox that never existed; the workloads in it are removed first by the caller.
 *  - The sandbox id is the pod's uid: one sandbox per pod and driver.
 */
import { invalid } from '../lib/errors.js';
import type { IdMapping, Resources, RuntimeDriver } from './driver.js';

/** What a sandbox driver provides, read by the agent (and the node's status) rather than assumed. */
export interface SandboxCapabilities {
  /**
   * How the sandbox gets its network: 'namespace' — the driver makes a network namespace, the agent sets
   * the pod network up in it, and the workloads (or a guest's virtual NIC) use what is there.
   */
  network: 'namespace';
  /** Whose kernel the workloads run on: the host's, or a guest kernel of the sandbox's own. */
  kernel: 'host' | 'guest';
  /** Whether a sandbox can have a user namespace of its own (`SandboxSpec.userNamespace`). */
  userNamespaces: boolean;
}

/** What a pod's sandbox is made from. */
export interface SandboxSpec {
  /** The pod's uid: the sandbox's id. */
  id: string;
  /** The pod's namespace and name, for messages. */
  namespace: string;
  name: string;
  /** A user namespace of the sandbox's own, with a host id range no other sandbox holds. */
  userNamespace?: boolean;
  /** What the pod's containers may use together (their limits, without the overhead): how a guest is sized. */
  resources?: Resources;
  /**
   * What the sandbox's own host processes (a VM's QEMU) may use together: the containers' limits with
   * the pod's RuntimeClass overhead. Unset dimensions are unbounded.
   */
  limits?: Resources;
  /**
   * Take the namespaces of this running process as the sandbox instead of making new ones: how the
   * infra container of an agent from before sandbox drivers hands its pod over without a restart.
   */
  adoptFromPid?: number;
}

/** A sandbox as it is now. */
export interface SandboxInfo {
  id: string;
  /** The driver's name. */
  driver: string;
  /** The sandbox's network namespace (a pinned file): where the agent sets the pod network up. */
  networkNamespace: string;
  /** The sandbox's own user namespace, when it has one: where it is pinned and its id mapping. */
  userNamespace?: { path: string; mapping: IdMapping };
}

/** A runtime driver that runs pods: sandboxes, and the workloads inside them. */
export interface SandboxDriver extends RuntimeDriver {
  readonly sandboxCapabilities: SandboxCapabilities;
  /** Makes a pod's sandbox (whatever was left of an earlier one with the same id goes first). */
  createSandbox(spec: SandboxSpec, signal?: AbortSignal): Promise<SandboxInfo>;
  /** The sandbox as it is now; undefined when it does not exist (never made, removed, or lost). */
  sandbox(id: string): Promise<SandboxInfo | undefined>;
  /** The ids of every sandbox of this driver on the machine (to find those whose pod is gone). */
  sandboxIds(): Promise<string[]>;
  /** Removes a sandbox; safe to repeat. */
  removeSandbox(id: string): Promise<void>;
  /** Calls `onExit` once when the workload has exited (at once when it already has), as soon as the driver can tell. */
  watchExit(id: string, onExit: () => void): void;
  /** Forgets an exit watch: no callback after this. */
  unwatchExit(id: string): void;
  /** The digests of the images that this driver's workloads use (the image store keeps them). */
  imagesInUse(): Promise<string[]>;
  /** Ends what the driver holds in this process (watches); workloads and sandboxes go on. */
  close(): void;
  /** Optional: one line about how a sandbox runs (for the pod's events), e.g. its VM's size and accelerator. */
  describeSandbox?(id: string): Promise<string | undefined>;
  /**
   * Optional: annotations for this machine's Node about what the driver found here (e.g. KVM or TCG); may
   * take a while the first time (a driver prepares what its sandboxes need).
   */
  nodeAnnotations?(signal?: AbortSignal): Promise<Record<string, string>>;
}

/** A sandbox id is a pod uid and names files: letters, digits and dashes only (Invalid otherwise). */
export function checkSandboxId(id: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9-]{0,127}$/.test(id)) throw invalid(`bad sandbox id "${id}": letters, digits and dashes only`);
}
