import type { ResourceType } from '../../resource-type.js';
import { configMapType } from './config-map.js';
import { endpointsType } from './endpoints.js';
import { eventType } from './event.js';
import { limitRangeType } from './limit-range.js';
import { namespaceType } from './namespace.js';
import { nodeType } from './node.js';
import { podType } from './pod.js';
import { resourceQuotaType } from './resource-quota.js';
import { secretType } from './secret.js';
import { serviceAccountType } from './service-account.js';
import { serviceType } from './service.js';

/** The kinds of the core group (v1), listed explicitly. */
export function coreV1(): ResourceType[] {
  return [namespaceType(), nodeType(), podType(), serviceType(), endpointsType(), configMapType(), secretType(), serviceAccountType(), eventType(), resourceQuotaType(), limitRangeType()];
}
