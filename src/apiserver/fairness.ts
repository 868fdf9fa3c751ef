/**
 * Fairness: how many requests one user, and one tenant, may have in flight at once (watches and other
 * long-running streams aside). Beyond that the answer is 429 with Retry-After, which Kubernetes clients
 * wait out and retry, so one flooding user or tenant cannot take every worker from the others.
 * Cluster administrators, nodes, the scheduler and the controllers are not limited (Kubernetes' exempt
 * and system priority levels): the control plane must keep running through a flood, and its own bursts
 * (a ReplicaSet controller creating or deleting hundreds of pods at once) must not come back as 429s,
 * which its clients do not retry.
 */
import type { UserInfo } from './authn/authenticator.js';
import { isControlPlaneUser } from './authz/control-plane-policy.js';
import { tenantOf } from './tenancy/tenancy-index.js';

export interface FairnessLimits {
  /** Requests in flight per user (per client address for anonymous requests). */
  perUser: number;
  /** Requests in flight per tenant, all its users together. */
  perTenant: number;
}

export const DEFAULT_FAIRNESS: FairnessLimits = { perUser: 32, perTenant: 96 };

const EXEMPT = ['system:masters', 'system:nodes'];

export class InFlightLimits {
  private readonly inFlight = new Map<string, number>();

  constructor(private readonly limits: FairnessLimits = DEFAULT_FAIRNESS) {}

  /** The buckets a request counts against, with their limits. */
  private buckets(user: UserInfo, address: string | undefined): Array<[string, number]> {
    if (user.groups.some((g) => EXEMPT.includes(g)) || isControlPlaneUser(user.name)) return [];
    const who = user.name === 'system:anonymous' ? `anonymous:${address ?? ''}` : `user:${user.name}`;
    const out: Array<[string, number]> = [[who, this.limits.perUser]];
    const tenant = tenantOf(user)?.tenant;
    if (tenant) out.push([`tenant:${tenant}`, this.limits.perTenant]);
    return out;
  }

  /** A release function when the request may go on; undefined when a limit is reached. */
  tryAcquire(user: UserInfo, address: string | undefined): (() => void) | undefined {
    const buckets = this.buckets(user, address);
    if (buckets.some(([k, limit]) => (this.inFlight.get(k) ?? 0) >= limit)) return undefined;
    for (const [k] of buckets) this.inFlight.set(k, (this.inFlight.get(k) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const [k] of buckets) {
        const n = (this.inFlight.get(k) ?? 1) - 1;
        if (n <= 0) this.inFlight.delete(k);
        else this.inFlight.set(k, n);
      }
    };
  }
}
