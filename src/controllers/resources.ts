/** The resources the controllers read and write, as client/ addresses them. */
import type { ResourceInfo } from '../client/rest-client.js';

const core = (resource: string, kind: string, namespaced = true): ResourceInfo => ({ group: '', version: 'v1', resource, kind, namespaced });

export const PODS = core('pods', 'Pod');
export const NODES = core('nodes', 'Node', false);
export const NAMESPACES = core('namespaces', 'Namespace', false);
export const SERVICES = core('services', 'Service');
export const ENDPOINTS = core('endpoints', 'Endpoints');
export const RESOURCEQUOTAS = core('resourcequotas', 'ResourceQuota');
export { EVENTS } from '../client/event-recorder.js';
export const DEPLOYMENTS: ResourceInfo = { group: 'apps', version: 'v1', resource: 'deployments', kind: 'Deployment', namespaced: true };
export const REPLICASETS: ResourceInfo = { group: 'apps', version: 'v1', resource: 'replicasets', kind: 'ReplicaSet', namespaced: true };
export const DAEMONSETS: ResourceInfo = { group: 'apps', version: 'v1', resource: 'daemonsets', kind: 'DaemonSet', namespaced: true };
export const JOBS: ResourceInfo = { group: 'batch', version: 'v1', resource: 'jobs', kind: 'Job', namespaced: true };
export const LEASES: ResourceInfo = { group: 'coordination.k8s.io', version: 'v1', resource: 'leases', kind: 'Lease', namespaced: true };
export const VIRTUALMACHINES: ResourceInfo = { group: 'kubevirt.io', version: 'v1', resource: 'virtualmachines', kind: 'VirtualMachine', namespaced: true };
export const VIRTUALMACHINEINSTANCES: ResourceInfo = { group: 'kubevirt.io', version: 'v1', resource: 'virtualmachineinstances', kind: 'VirtualMachineInstance', namespaced: true };
export const ENDPOINTSLICES: ResourceInfo = { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices', kind: 'EndpointSlice', namespaced: true };

/** `apps/v1`, or `v1` for the core group. */
export function apiVersionOfInfo(r: ResourceInfo): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}
