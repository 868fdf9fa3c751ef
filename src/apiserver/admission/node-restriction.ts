/**
 * NodeRestriction: a node writes only its own Node (without setting its own restricted labels or
 * taints away), its own Lease, and the status of pods bound to it; it deletes only pods bound to it and
 * creates no pods. The Node authorizer lets the verbs through; this plugin sees the objects.
 */
import type { Pod } from '../../api/core/v1/pod-types.js';
import { nodeNameOf, NODE_LEASE_NAMESPACE } from '../authz/node-authorizer.js';
import { ApiError } from '../status.js';
import { forbiddenBy, type AdmissionPlugin, type AdmissionRequest } from './admission.js';

/** Labels a node may not set on itself: they steer workloads with restrictions onto it. */
const RESTRICTED_LABEL = /(^|\.)node-restriction\.kubernetes\.io\//;

export class NodeRestriction implements AdmissionPlugin {
  readonly name = 'NodeRestriction';

  validate(r: AdmissionRequest): void {
    const node = nodeNameOf(r.user);
    if (!node) return;
    const t = r.type;
    const refuse = (why: string) => {
      throw new ApiError('Forbidden', forbiddenBy(r, `node "${node}" ${why}`), { name: r.name, group: t.group, kind: t.resource });
    };
    if (t.group === '' && t.resource === 'pods') {
      if (r.operation === 'CREATE') refuse('may not create pods');
      const bound = (r.oldObject as Pod | undefined)?.spec?.nodeName;
      if ((r.operation === 'UPDATE' || r.operation === 'DELETE') && bound !== node) refuse('may only change pods bound to it');
      if (r.operation === 'UPDATE' && r.subresource !== 'status') refuse('may only update the status of its pods');
      return;
    }
    if (t.group === '' && t.resource === 'nodes') {
      if (r.name !== node) refuse('may only change its own Node');
      if (r.operation === 'DELETE') refuse('may not delete its own Node');
      const labels = r.object?.metadata.labels ?? {};
      const old = r.oldObject?.metadata.labels ?? {};
      for (const k of new Set([...Object.keys(labels), ...Object.keys(old)])) {
        if (RESTRICTED_LABEL.test(k) && labels[k] !== old[k]) refuse(`may not set the label ${k}`);
      }
      return;
    }
    if (t.group === 'coordination.k8s.io' && t.resource === 'leases') {
      if (r.namespace !== NODE_LEASE_NAMESPACE || r.name !== node) refuse(`may only use its own lease in ${NODE_LEASE_NAMESPACE}`);
    }
  }
}
