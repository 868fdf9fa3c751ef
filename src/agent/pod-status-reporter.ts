/**
 * A pod's status as its worker reports it: computed from the container views (pod-status.ts), patched
 * onto the pod only when it changed, and remembered, so that a phase the agent set (Failed on a rejected
 * pod, Succeeded) holds even before the API's copy of the pod shows it.
 */
import type { Pod, PodStatus } from '../api/core/v1/pod-types.js';
import type { RestClient } from '../client/rest-client.js';
import { isNubisError } from '../lib/errors.js';
import { computePodStatus, type ContainerView } from './pod-status.js';
import { PODS } from './resources.js';

/** What the status is computed from, beyond the pod. */
export interface StatusInput {
  init: ContainerView[];
  containers: ContainerView[];
  sandboxReady: boolean;
  hostIP: string;
  podIP?: string;
}

export class PodStatusReporter {
  #startTime: string | undefined;
  #last: PodStatus | undefined;
  #lastPatched: string | undefined;

  constructor(private readonly client: RestClient) {}

  /** The status last reported (or set by reject). */
  get last(): PodStatus | undefined {
    return this.#last;
  }

  /** Keeps the pod's start time: the API's when it has one, else now (the first sync). */
  started(pod?: Pod): void {
    this.#startTime ??= pod?.status?.startTime ?? (pod ? undefined : now());
  }

  /** Computes the status and patches it when it changed. */
  async report(pod: Pod, input: StatusInput): Promise<PodStatus> {
    const status = computePodStatus({
      ...input,
      pod: this.#last ? { ...pod, status: { ...pod.status, ...this.#last } } : pod,
      startTime: this.#startTime ?? now(),
      now: new Date(),
    });
    const json = JSON.stringify(status);
    if (json === this.#lastPatched) return status;
    if (await this.#patch(pod, status)) {
      this.#lastPatched = json;
      this.#last = status;
    }
    return status;
  }

  /** Sets a phase, reason and message at once (a pod the node refuses). */
  async set(pod: Pod, status: PodStatus): Promise<void> {
    await this.#patch(pod, status);
    this.#last = { ...this.#last, ...status };
  }

  /** Patches the status; false when the pod is gone. */
  async #patch(pod: Pod, status: PodStatus): Promise<boolean> {
    try {
      await this.client.patch(PODS, pod.metadata.name, { status }, 'merge', { namespace: pod.metadata.namespace, subresource: 'status' });
      return true;
    } catch (err) {
      if (!isNubisError(err, 'NotFound')) throw err;
      return false;
    }
  }
}

/** Now, as the API writes times (seconds). */
function now(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}
