import type { ResourceType } from '../../resource-type.js';
import { runtimeClassType } from './runtime-class.js';

/** The kinds of node.k8s.io/v1, listed explicitly. */
export function nodeV1(): ResourceType[] {
  return [runtimeClassType()];
}
