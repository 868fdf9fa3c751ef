import type { ResourceType } from '../../resource-type.js';
import { endpointSliceType } from './endpoint-slice.js';

/** The kinds of discovery.k8s.io/v1, listed explicitly. */
export function discoveryV1(): ResourceType[] {
  return [endpointSliceType()];
}
