/**
 * Who the elected control loops are and what they may do, in Kubernetes' bootstrap shapes: the
 * scheduler is `system:kube-scheduler`; the controller manager (its shared informers and its Lease) is
 * `system:kube-controller-manager`; each controller acts as its own kube-system service account and is
 * bound to `system:controller:<account>`, as kube-controller-manager does with
 * --use-service-account-credentials. The rules are what the code does, nothing more: a controller's
 * reads come from the manager's shared informers (list and watch of everything), so its own role holds
 * only its writes and the gets it makes after a conflict. Owner references are not checked against
 * `<owner>/finalizers` yet, so no role carries that right.
 */
import type { PolicyRule } from '../../api/rbac/v1/rbac.js';

export const SCHEDULER_USER = 'system:kube-scheduler';
export const CONTROLLER_MANAGER_USER = 'system:kube-controller-manager';
/** The Lease (kube-system) whose holder runs the scheduler and controllers. */
export const CONTROL_PLANE_LEASE = 'nubis-control-plane';

/** The user a kube-system service account acts as, and its groups (as a token of it would say). */
export function kubeSystemAccount(name: string): { name: string; groups: string[] } {
  return { name: `system:serviceaccount:kube-system:${name}`, groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system'] };
}

const rule = (verbs: string[], apiGroups: string[], resources: string[], resourceNames?: string[]): PolicyRule => ({ verbs, apiGroups, resources, ...(resourceNames ? { resourceNames } : {}) });

/** Events as client/event-recorder.ts writes them (a repeat patches the count). */
const EVENTS = rule(['create', 'patch'], [''], ['events']);
/** A workload controller: its pods (adoption and release patch the owner references) and the owner's status. */
const podOwner = (group: string, owner: string, ownerVerbs: string[]): PolicyRule[] => [
  rule(ownerVerbs, [group], [owner]),
  rule(['update'], [group], [`${owner}/status`]),
  rule(['create', 'delete', 'patch'], [''], ['pods']),
  EVENTS,
];

/** Each controller's service account (kube-system) and its rules; ClusterRole system:controller:<account>. */
export const CONTROLLER_ROLES: Record<string, PolicyRule[]> = {
  'replicaset-controller': podOwner('apps', 'replicasets', ['get']),
  'daemon-set-controller': podOwner('apps', 'daemonsets', ['get']),
  // Finished Jobs with a TTL are deleted by the controller.
  'job-controller': podOwner('batch', 'jobs', ['get', 'delete']),
  'deployment-controller': [
    rule(['get', 'patch'], ['apps'], ['deployments']),
    rule(['update'], ['apps'], ['deployments/status']),
    rule(['get', 'create', 'update', 'patch', 'delete'], ['apps'], ['replicasets']),
    EVENTS,
  ],
  'endpoint-controller': [rule(['create', 'update', 'delete'], [''], ['endpoints']), EVENTS],
  'endpointslice-controller': [rule(['create', 'update', 'delete'], ['discovery.k8s.io'], ['endpointslices']), EVENTS],
  // Node lifecycle (readiness, taints, evictions, pods of vanished nodes) and node IPAM (podCIDR).
  'node-controller': [
    rule(['update', 'patch'], [''], ['nodes']),
    rule(['update'], [''], ['nodes/status']),
    rule(['delete'], [''], ['pods']),
    rule(['patch'], [''], ['pods/status']),
    EVENTS,
  ],
  // A VM's instance, made and removed as its run strategy says (KubeVirt's virt-controller).
  'virtualmachine-controller': [
    rule(['get'], ['kubevirt.io'], ['virtualmachines']),
    rule(['update'], ['kubevirt.io'], ['virtualmachines/status']),
    rule(['create', 'delete'], ['kubevirt.io'], ['virtualmachineinstances']),
    EVENTS,
  ],
  // Counts any kind a quota names (count/<resource>.<group>) by listing it.
  'resourcequota-controller': [rule(['list'], ['*'], ['*']), rule(['get'], [''], ['resourcequotas']), rule(['update'], [''], ['resourcequotas/status']), EVENTS],
};

/** ClusterRole system:kube-scheduler: its informers, bindings, PodScheduled conditions and events. */
export const SCHEDULER_RULES: PolicyRule[] = [
  rule(['get', 'list', 'watch'], [''], ['nodes', 'pods', 'namespaces']),
  rule(['list', 'watch'], ['node.k8s.io'], ['runtimeclasses']),
  rule(['create'], [''], ['pods/binding']),
  rule(['patch'], [''], ['pods/status']),
  EVENTS,
];

/** ClusterRole system:kube-controller-manager: the shared informers and the control plane's Lease. */
export const CONTROLLER_MANAGER_RULES: PolicyRule[] = [
  rule(['list', 'watch'], ['*'], ['*']),
  rule(['create'], ['coordination.k8s.io'], ['leases']),
  rule(['get', 'update'], ['coordination.k8s.io'], ['leases'], [CONTROL_PLANE_LEASE]),
];

const CONTROL_PLANE_USERS = new Set([SCHEDULER_USER, CONTROLLER_MANAGER_USER, ...Object.keys(CONTROLLER_ROLES).map((a) => kubeSystemAccount(a).name)]);

/** Whether a user is one of the control loops' identities (Kubernetes' "system" priority level). */
export function isControlPlaneUser(name: string): boolean {
  return CONTROL_PLANE_USERS.has(name);
}
