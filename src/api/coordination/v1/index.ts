import type { ResourceType } from '../../resource-type.js';

/** The kinds of this group version, listed explicitly. */
export function coordinationV1(): ResourceType[] {
  return [];
}
