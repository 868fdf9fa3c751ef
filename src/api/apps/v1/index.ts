import type { ResourceType } from '../../resource-type.js';
import { daemonSetType } from './daemon-set.js';
import { deploymentType } from './deployment.js';
import { replicaSetType } from './replica-set.js';

/** The kinds of apps/v1, listed explicitly. */
export function appsV1(): ResourceType[] {
  return [deploymentType(), replicaSetType(), daemonSetType()];
}
