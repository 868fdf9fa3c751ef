import type { ResourceType } from '../../resource-type.js';
import { networkPolicyType } from './network-policy.js';

/** The kinds of networking.k8s.io/v1, listed explicitly. */
export function networkingV1(): ResourceType[] {
  return [networkPolicyType()];
}
