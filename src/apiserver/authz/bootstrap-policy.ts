/**
 * The roles and bindings every cluster starts with (Kubernetes' bootstrap policy, in Nubis' words):
 * cluster-admin, admin ⊃ edit ⊃ view built by aggregation, the self-review, discovery and RuntimeClass
 * reading rights every user has, public health and version paths, the anonymous read of
 * kube-public/cluster-info that joining needs, and kubevirt.io:migrate for administrators to grant.
 * The API server writes them at start and keeps their rules complete while they carry
 * `rbac.authorization.kubernetes.io/autoupdate: "true"` (set it to "false" to take a role over).
 */
import type { ClusterRole, PolicyRule, Role, RoleBinding, Subject } from '../../api/rbac/v1/rbac.js';
import { RBAC_GROUP } from '../../api/rbac/v1/rbac.js';
import { CONTROLLER_MANAGER_RULES, CONTROLLER_MANAGER_USER, CONTROLLER_ROLES, SCHEDULER_RULES, SCHEDULER_USER } from './control-plane-policy.js';
import { SUPERUSER_GROUP } from './superuser.js';

export const AUTOUPDATE = 'rbac.authorization.kubernetes.io/autoupdate';
const BOOTSTRAP_LABELS = { 'kubernetes.io/bootstrapping': 'rbac-defaults' };
export const AGGREGATE_TO = (role: 'admin' | 'edit' | 'view') => `rbac.authorization.k8s.io/aggregate-to-${role}`;

const READ = ['get', 'list', 'watch'];
const WRITE = ['create', 'delete', 'deletecollection', 'patch', 'update'];

const rule = (verbs: string[], apiGroups: string[], resources: string[], resourceNames?: string[]): PolicyRule => ({
  verbs,
  apiGroups,
  resources,
  ...(resourceNames ? { resourceNames } : {}),
});
const paths = (verbs: string[], nonResourceURLs: string[]): PolicyRule => ({ verbs, nonResourceURLs });

/** What a namespace's workloads are made of: readable by view, writable by edit. */
const WORKLOADS: Array<[string, string[]]> = [
  ['', ['pods', 'services', 'endpoints', 'configmaps', 'persistentvolumeclaims', 'replicationcontrollers', 'replicationcontrollers/scale', 'serviceaccounts']],
  ['apps', ['deployments', 'deployments/scale', 'replicasets', 'replicasets/scale', 'statefulsets', 'statefulsets/scale', 'daemonsets', 'controllerrevisions']],
  ['batch', ['jobs', 'cronjobs']],
  ['autoscaling', ['horizontalpodautoscalers']],
  ['networking.k8s.io', ['networkpolicies', 'ingresses']],
  ['policy', ['poddisruptionbudgets']],
  ['discovery.k8s.io', ['endpointslices']],
  ['kubevirt.io', ['virtualmachines', 'virtualmachineinstances']],
];
/** Moving a VMI between nodes is the cluster's business (KubeVirt's roles, since 1.5): namespace roles only read migrations. */
const MIGRATIONS: [string, string[]] = ['kubevirt.io', ['virtualmachineinstancemigrations']];
const STATUSES: Array<[string, string[]]> = [
  ['', ['pods/status', 'pods/log', 'services/status', 'persistentvolumeclaims/status', 'replicationcontrollers/status', 'resourcequotas', 'resourcequotas/status', 'limitranges', 'events', 'namespaces', 'namespaces/status', 'bindings']],
  ['apps', ['deployments/status', 'replicasets/status', 'statefulsets/status', 'daemonsets/status']],
  ['batch', ['jobs/status', 'cronjobs/status']],
  ['autoscaling', ['horizontalpodautoscalers/status']],
  ['networking.k8s.io', ['ingresses/status']],
  ['events.k8s.io', ['events']],
  ['kubevirt.io', ['virtualmachines/status', 'virtualmachineinstances/status', 'virtualmachineinstancemigrations/status']],
  MIGRATIONS,
];

/** Cluster-scoped things every user may read: which RuntimeClasses pods may name. */
const CLUSTER_READABLE: Array<[string, string[]]> = [['node.k8s.io', ['runtimeclasses']]];

function aggregateToView(): PolicyRule[] {
  return [...WORKLOADS, ...STATUSES, ...CLUSTER_READABLE].map(([g, rs]) => rule(READ, [g], rs));
}

function aggregateToEdit(): PolicyRule[] {
  return [
    // Endpoints and EndpointSlices are written by the control plane only: a hand-written one could point
    // a Service anywhere, the node's neighbours included (Kubernetes' CVE-2021-25740).
    ...WORKLOADS.map(([g, rs]) => rule(WRITE, [g], rs.filter((r) => r !== 'endpoints' && r !== 'endpointslices'))).filter((r) => r.resources!.length > 0),
    rule([...READ, ...WRITE], [''], ['secrets']),
    rule(['get', 'create'], [''], ['pods/attach', 'pods/exec', 'pods/portforward', 'pods/proxy', 'services/proxy']),
    rule(['create'], [''], ['pods/eviction', 'serviceaccounts/token']),
    rule(['impersonate'], [''], ['serviceaccounts']),
  ];
}

function aggregateToAdmin(): PolicyRule[] {
  return [
    rule([...READ, ...WRITE], [RBAC_GROUP], ['roles', 'rolebindings']),
    rule(['create'], ['authorization.k8s.io'], ['localsubjectaccessreviews']),
  ];
}

const meta = (name: string, labels: Record<string, string> = {}) => ({ name, labels: { ...BOOTSTRAP_LABELS, ...labels }, annotations: { [AUTOUPDATE]: 'true' } });

function clusterRole(name: string, rules: PolicyRule[], labels: Record<string, string> = {}, aggregateFrom?: string): ClusterRole {
  return {
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: 'ClusterRole',
    metadata: meta(name, labels),
    rules,
    ...(aggregateFrom ? { aggregationRule: { clusterRoleSelectors: [{ matchLabels: { [aggregateFrom]: 'true' } }] } } : {}),
  };
}

const group = (name: string): Subject => ({ kind: 'Group', apiGroup: RBAC_GROUP, name });
const user = (name: string): Subject => ({ kind: 'User', apiGroup: RBAC_GROUP, name });

function clusterBinding(name: string, role: string, subjects: Subject[]): RoleBinding {
  return { apiVersion: `${RBAC_GROUP}/v1`, kind: 'ClusterRoleBinding', metadata: meta(name), roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: role }, subjects };
}

export interface BootstrapPolicy {
  clusterRoles: ClusterRole[];
  clusterRoleBindings: RoleBinding[];
  roles: Role[];
  roleBindings: RoleBinding[];
}

/** The elected control loops' identities and roles (control-plane-policy.ts). */
function controlPlane(): { roles: ClusterRole[]; bindings: RoleBinding[] } {
  const accounts = Object.entries(CONTROLLER_ROLES);
  const bound = (role: string, subject: Subject) => clusterBinding(role, role, [subject]);
  return {
    roles: [
      clusterRole('system:kube-scheduler', SCHEDULER_RULES),
      clusterRole('system:kube-controller-manager', CONTROLLER_MANAGER_RULES),
      ...accounts.map(([account, rules]) => clusterRole(`system:controller:${account}`, rules)),
    ],
    bindings: [
      bound('system:kube-scheduler', user(SCHEDULER_USER)),
      bound('system:kube-controller-manager', user(CONTROLLER_MANAGER_USER)),
      ...accounts.map(([account]) => bound(`system:controller:${account}`, { kind: 'ServiceAccount', apiGroup: '', name: account, namespace: 'kube-system' })),
    ],
  };
}

const DISCOVERY_PATHS = ['/api', '/api/*', '/apis', '/apis/*', '/openapi', '/openapi/*', '/version', '/version/'];
const HEALTH_PATHS = ['/healthz', '/healthz/*', '/livez', '/livez/*', '/readyz', '/readyz/*', '/version', '/version/'];

export function bootstrapPolicy(): BootstrapPolicy {
  const viewLabel = { [AGGREGATE_TO('view')]: 'true' };
  const clusterRoles = [
    clusterRole('cluster-admin', [rule(['*'], ['*'], ['*']), paths(['*'], ['*'])]),
    clusterRole('admin', [], {}, AGGREGATE_TO('admin')),
    clusterRole('edit', [], { [AGGREGATE_TO('admin')]: 'true' }, AGGREGATE_TO('edit')),
    clusterRole('view', [], { [AGGREGATE_TO('edit')]: 'true' }, AGGREGATE_TO('view')),
    clusterRole('system:aggregate-to-admin', aggregateToAdmin(), { [AGGREGATE_TO('admin')]: 'true' }),
    clusterRole('system:aggregate-to-edit', aggregateToEdit(), { [AGGREGATE_TO('edit')]: 'true' }),
    clusterRole('system:aggregate-to-view', aggregateToView(), viewLabel),
    clusterRole('system:basic-user', [
      rule(['create'], ['authorization.k8s.io'], ['selfsubjectaccessreviews', 'selfsubjectrulesreviews']),
      rule(['create'], ['authentication.k8s.io'], ['selfsubjectreviews']),
    ]),
    clusterRole('system:discovery', [paths(['get'], DISCOVERY_PATHS)]),
    clusterRole('system:public-info-viewer', [paths(['get'], HEALTH_PATHS)]),
    clusterRole('system:controller:generic-garbage-collector', [rule(['get', 'list', 'watch', 'update', 'patch', 'delete'], ['*'], ['*'])]),
    clusterRole('system:controller:clusterrole-aggregation-controller', [rule(['escalate', 'get', 'list', 'watch', 'update', 'patch'], [RBAC_GROUP], ['clusterroles'])]),
    clusterRole('system:controller:certificate-controller', [
      rule(['get', 'list', 'watch', 'delete'], ['certificates.k8s.io'], ['certificatesigningrequests']),
      rule(['update'], ['certificates.k8s.io'], ['certificatesigningrequests/status', 'certificatesigningrequests/approval']),
    ]),
    clusterRole('system:controller:tenant-controller', [
      rule(['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'], [RBAC_GROUP], ['rolebindings']),
      rule(['bind'], [RBAC_GROUP], ['clusterroles'], ['admin', 'edit', 'view']),
      rule(['get', 'list', 'watch'], ['nubis.dev'], ['tenants']),
      rule(['update'], ['nubis.dev'], ['tenants/status']),
    ]),
    clusterRole('system:controller:service-account-controller', [
      rule(['create'], [''], ['serviceaccounts']),
      rule(['create', 'update'], [''], ['configmaps']),
    ]),
    clusterRole('nubis:login', [rule(['create'], ['nubis.dev'], ['logins'])]),
    // Not aggregated and not bound: for a cluster administrator to grant (KubeVirt's role of that name).
    clusterRole('kubevirt.io:migrate', [rule([...READ, ...WRITE], [MIGRATIONS[0]], MIGRATIONS[1])]),
    clusterRole('nubis:cluster-reader', CLUSTER_READABLE.map(([g, rs]) => rule(READ, [g], rs))),
    clusterRole('system:node-bootstrapper', [rule(['create', 'get', 'list', 'watch'], ['certificates.k8s.io'], ['certificatesigningrequests'])]),
  ];
  const clusterRoleBindings = [
    clusterBinding('cluster-admin', 'cluster-admin', [group(SUPERUSER_GROUP)]),
    clusterBinding('system:basic-user', 'system:basic-user', [group('system:authenticated')]),
    clusterBinding('system:discovery', 'system:discovery', [group('system:authenticated')]),
    clusterBinding('system:public-info-viewer', 'system:public-info-viewer', [group('system:authenticated'), group('system:unauthenticated')]),
    clusterBinding('system:node-bootstrapper', 'system:node-bootstrapper', [group('system:bootstrappers')]),
    clusterBinding('system:controller:clusterrole-aggregation-controller', 'system:controller:clusterrole-aggregation-controller', [
      { kind: 'ServiceAccount', apiGroup: '', name: 'clusterrole-aggregation-controller', namespace: 'kube-system' },
    ]),
    clusterBinding('system:controller:certificate-controller', 'system:controller:certificate-controller', [
      { kind: 'ServiceAccount', apiGroup: '', name: 'certificate-controller', namespace: 'kube-system' },
    ]),
    clusterBinding('system:controller:tenant-controller', 'system:controller:tenant-controller', [
      { kind: 'ServiceAccount', apiGroup: '', name: 'tenant-controller', namespace: 'kube-system' },
    ]),
    clusterBinding('system:controller:service-account-controller', 'system:controller:service-account-controller', [
      { kind: 'ServiceAccount', apiGroup: '', name: 'service-account-controller', namespace: 'kube-system' },
    ]),
    clusterBinding('nubis:login', 'nubis:login', [group('system:unauthenticated'), group('system:authenticated')]),
    clusterBinding('nubis:cluster-reader', 'nubis:cluster-reader', [group('system:authenticated')]),
    clusterBinding('system:controller:generic-garbage-collector', 'system:controller:generic-garbage-collector', [
      { kind: 'ServiceAccount', apiGroup: '', name: 'generic-garbage-collector', namespace: 'kube-system' },
    ]),
  ];
  const roles: Role[] = [
    {
      apiVersion: `${RBAC_GROUP}/v1`,
      kind: 'Role',
      metadata: { ...meta('nubis:cluster-info-reader'), namespace: 'kube-public' },
      rules: [rule(['get'], [''], ['configmaps'], ['cluster-info'])],
    },
  ];
  const roleBindings: RoleBinding[] = [
    {
      apiVersion: `${RBAC_GROUP}/v1`,
      kind: 'RoleBinding',
      metadata: { ...meta('nubis:cluster-info-reader'), namespace: 'kube-public' },
      roleRef: { apiGroup: RBAC_GROUP, kind: 'Role', name: 'nubis:cluster-info-reader' },
      subjects: [user('system:anonymous'), group('system:unauthenticated'), group('system:authenticated')],
    },
  ];
  const control = controlPlane();
  return { clusterRoles: [...clusterRoles, ...control.roles], clusterRoleBindings: [...clusterRoleBindings, ...control.bindings], roles, roleBindings };
}
