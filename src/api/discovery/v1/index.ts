import type { ResourceType } from '../../resource-type.js';

/** The kinds of this group version, listed explicitly. */
export function discoveryV1(): ResourceType[] {
  return [];
}
