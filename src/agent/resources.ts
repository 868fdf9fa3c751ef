/** The API resources the agent reads and writes, for client/'s path building. */
import type { ResourceInfo } from '../client/rest-client.js';

export const PODS: ResourceInfo = { group: '', version: 'v1', resource: 'pods', kind: 'Pod', namespaced: true };
export const NODES: ResourceInfo = { group: '', version: 'v1', resource: 'nodes', kind: 'Node', namespaced: false };
export const NAMESPACES: ResourceInfo = { group: '', version: 'v1', resource: 'namespaces', kind: 'Namespace', namespaced: false };
export const CONFIG_MAPS: ResourceInfo = { group: '', version: 'v1', resource: 'configmaps', kind: 'ConfigMap', namespaced: true };
export const SECRETS: ResourceInfo = { group: '', version: 'v1', resource: 'secrets', kind: 'Secret', namespaced: true };
export const LEASES: ResourceInfo = { group: 'coordination.k8s.io', version: 'v1', resource: 'leases', kind: 'Lease', namespaced: true };
export const SERVICES: ResourceInfo = { group: '', version: 'v1', resource: 'services', kind: 'Service', namespaced: true };
export const SERVICE_ACCOUNTS: ResourceInfo = { group: '', version: 'v1', resource: 'serviceaccounts', kind: 'ServiceAccount', namespaced: true };
export const RUNTIME_CLASSES: ResourceInfo = { group: 'node.k8s.io', version: 'v1', resource: 'runtimeclasses', kind: 'RuntimeClass', namespaced: false };
