import type { ResourceType } from '../../resource-type.js';
import { leaseType } from './lease.js';

/** The kinds of coordination.k8s.io/v1, listed explicitly. */
export function coordinationV1(): ResourceType[] {
  return [leaseType()];
}
