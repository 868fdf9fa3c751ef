/**
 * The hook where pod networking plugs in. The agent calls `setUp` once a pod's sandbox exists (its
 * network namespace, pinned at `netnsPath` and shared by all containers of the pod) and `tearDown`
 * before the sandbox is removed. Without a plugin, pods have only loopback and report no pod IP
 * (`LoopbackOnly`).
 */

/** The pod a plugin wires up. */
export interface PodRef {
  podUid: string;
  namespace: string;
  name: string;
}

/** A pod and its network namespace (its sandbox's pinned file). */
export interface PodNetns extends PodRef {
  netnsPath: string;
}

export interface NetworkPlugin {
  readonly name: string;
  /** Gives the pod its interfaces; resolves with the pod's IPs (first is status.podIP). */
  setUp(sandbox: PodNetns): Promise<{ ips: string[] }>;
  /** Removes what setUp made; must tolerate a sandbox it never set up or that is already gone. */
  tearDown(sandbox: PodRef): Promise<void>;
}

/** No networking beyond the sandbox's loopback. */
export const LoopbackOnly: NetworkPlugin = {
  name: 'loopback',
  async setUp() {
    return { ips: [] };
  },
  async tearDown() {},
};
