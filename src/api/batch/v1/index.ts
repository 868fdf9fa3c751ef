import type { ResourceType } from '../../resource-type.js';
import { jobType } from './job.js';

/** The kinds of batch/v1, listed explicitly. */
export function batchV1(): ResourceType[] {
  return [jobType()];
}
