/**
 * One valid object per served kind (built-in and nubis.dev), rich enough that hostile values put into
 * its fields reach the kind's own validation rather than failing on a missing sibling. Keyed by
 * `group/Kind` (`/Pod` for the core group); hostile-fields.test.ts fails for a served kind missing here.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { makeCertificateSigningRequest } from '../../../src/lib/x509.js';

type Json = Record<string, unknown>;

/** Objects the examples refer to, made before the run. */
export const FIXTURES = { tenant: 'hx-tenant', user: 'hx-user', password: 'hx-password-1', node: 'hx-node', vmi: 'hx-vmi' };

const TIME = '2024-05-01T10:00:00Z';
const MICRO_TIME = '2024-05-01T10:00:00.000000Z';

/** A PodSpec using most of what PodSpec has: containers with ports, env, probes, resources, mounts. */
export function podSpec(restartPolicy = 'Always'): Json {
  return {
    restartPolicy,
    terminationGracePeriodSeconds: 30,
    dnsPolicy: 'ClusterFirst',
    nodeSelector: { 'kubernetes.io/os': 'linux' },
    serviceAccountName: 'default',
    automountServiceAccountToken: false,
    hostname: 'web',
    subdomain: 'svc',
    schedulerName: 'default-scheduler',
    priority: 0,
    enableServiceLinks: false,
    securityContext: { runAsUser: 1000, runAsGroup: 1000, fsGroup: 2000, supplementalGroups: [3000], sysctls: [{ name: 'net.ipv4.ip_local_port_range', value: '32768 60999' }] },
    imagePullSecrets: [{ name: 'pull' }],
    volumes: [
      { name: 'data', emptyDir: { sizeLimit: '1Gi' } },
      { name: 'conf', configMap: { name: 'conf', defaultMode: 0o644, items: [{ key: 'a', path: 'a.txt' }] } },
      { name: 'sec', secret: { secretName: 'sec', defaultMode: 0o400 } },
    ],
    initContainers: [{ name: 'init', image: 'busybox:1.36', command: ['sh', '-c', 'true'] }],
    containers: [
      {
        name: 'app',
        image: 'busybox:1.36',
        imagePullPolicy: 'IfNotPresent',
        command: ['sh'],
        args: ['-c', 'sleep 3600'],
        workingDir: '/tmp',
        ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
        env: [
          { name: 'PLAIN', value: 'v' },
          { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          { name: 'CPU', valueFrom: { resourceFieldRef: { resource: 'limits.cpu', divisor: '1m' } } },
        ],
        envFrom: [{ configMapRef: { name: 'conf', optional: true } }],
        resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '500m', memory: '128Mi' } },
        volumeMounts: [{ name: 'data', mountPath: '/data' }, { name: 'conf', mountPath: '/conf', readOnly: true, subPath: 'a.txt' }],
        livenessProbe: { httpGet: { path: '/healthz', port: 8080, httpHeaders: [{ name: 'X-A', value: 'b' }] }, initialDelaySeconds: 1, periodSeconds: 10, timeoutSeconds: 1, failureThreshold: 3 },
        readinessProbe: { tcpSocket: { port: 'http' }, periodSeconds: 5 },
        startupProbe: { exec: { command: ['true'] }, failureThreshold: 30 },
        lifecycle: { preStop: { exec: { command: ['true'] } } },
        securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] }, runAsNonRoot: true },
        terminationMessagePath: '/dev/termination-log',
        terminationMessagePolicy: 'File',
        stdin: false,
        tty: false,
      },
    ],
    tolerations: [{ key: 'k', operator: 'Equal', value: 'v', effect: 'NoExecute', tolerationSeconds: 60 }],
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }] },
        preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 10, preference: { matchExpressions: [{ key: 'disk', operator: 'Exists' }] } }],
      },
      podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { app: 'a' } } } }] },
    },
    topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { app: 'a' } } }],
    hostAliases: [{ ip: '10.0.0.9', hostnames: ['db.local'] }],
    dnsConfig: { nameservers: ['10.0.0.10'], searches: ['svc.local'], options: [{ name: 'ndots', value: '2' }] },
    readinessGates: [{ conditionType: 'example.com/ready' }],
  };
}

const template = (labels: Json, spec: Json) => ({ metadata: { labels }, spec });
const ROLE_RULES = [
  { apiGroups: [''], resources: ['pods', 'pods/log'], verbs: ['get', 'list'], resourceNames: ['p'] },
  { apiGroups: ['apps'], resources: ['deployments'], verbs: ['*'] },
];

function csrRequest(): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return Buffer.from(makeCertificateSigningRequest({ commonName: 'hx-client', organizations: ['hx'], key: privateKey })).toString('base64');
}

/** A KubeVirt VMI spec using most of what Nubis checks: every supported volume source, disk targets, a masquerade interface. */
export function vmiSpec(): Json {
  return {
    domain: {
      cpu: { cores: 1, sockets: 1, threads: 1, model: 'host-model' },
      memory: { guest: '128Mi' },
      resources: { requests: { memory: '128Mi', cpu: '100m' }, limits: { memory: '256Mi', cpu: '1' } },
      machine: { type: 'q35' },
      firmware: { uuid: '5d307ca9-b3ef-428c-8861-06e72d69f223', serial: 'hx-serial', bootloader: { bios: { useSerial: true } } },
      features: { acpi: { enabled: true }, smm: { enabled: true } },
      devices: {
        disks: [
          { name: 'root', disk: { bus: 'virtio' }, bootOrder: 1, serial: 'root-1' },
          { name: 'seed', cdrom: { bus: 'sata', readonly: true, tray: 'closed' } },
          { name: 'data', lun: { bus: 'scsi' } },
          { name: 'scratch', disk: { bus: 'sata' } },
          { name: 'host', disk: { bus: 'virtio' } },
          { name: 'drive', disk: { bus: 'virtio' } },
        ],
        interfaces: [{ name: 'default', masquerade: {}, model: 'virtio', macAddress: '02:00:00:00:00:01', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }],
        autoattachGraphicsDevice: false,
        autoattachSerialConsole: true,
        rng: {},
      },
    },
    nodeSelector: { 'kubernetes.io/os': 'linux' },
    tolerations: [{ key: 'k', operator: 'Exists', effect: 'NoSchedule' }],
    affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }] } } },
    terminationGracePeriodSeconds: 30,
    evictionStrategy: 'None',
    hostname: 'vm',
    subdomain: 'svc',
    networks: [{ name: 'default', pod: {} }],
    volumes: [
      { name: 'root', containerDisk: { image: 'quay.io/kubevirt/cirros-container-disk-demo:v1', imagePullPolicy: 'IfNotPresent', path: '/disk/disk.img' } },
      { name: 'seed', cloudInitNoCloud: { userData: '#cloud-config\n', networkData: 'version: 2\n' } },
      { name: 'data', persistentVolumeClaim: { claimName: 'data', readOnly: false } },
      { name: 'scratch', emptyDisk: { capacity: '1Gi' } },
      { name: 'host', hostDisk: { path: '/var/data/disk.img', type: 'DiskOrCreate', capacity: '1Gi' } },
      { name: 'drive', cloudInitConfigDrive: { userDataBase64: Buffer.from('#cloud-config\n').toString('base64') } },
    ],
  };
}

/** The kind's valid example, without apiVersion/kind/name/namespace (the test adds them). */
export const EXAMPLES: Record<string, (ns: string) => Json> = {
  '/Namespace': () => ({ metadata: { labels: { team: 'a' } } }),
  '/Node': () => ({
    metadata: { labels: { 'kubernetes.io/hostname': 'n' } },
    spec: { podCIDR: '10.99.1.0/24', podCIDRs: ['10.99.1.0/24'], unschedulable: true, taints: [{ key: 'k', value: 'v', effect: 'NoSchedule', timeAdded: TIME }] },
    status: {
      capacity: { cpu: '2', memory: '4Gi', pods: '110' },
      allocatable: { cpu: '2', memory: '4Gi', pods: '110' },
      conditions: [{ type: 'Ready', status: 'False', reason: 'Test', lastHeartbeatTime: TIME, lastTransitionTime: TIME }],
      addresses: [{ type: 'InternalIP', address: '192.0.2.10' }, { type: 'Hostname', address: 'n' }],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: { machineID: 'm', systemUUID: 'u', bootID: 'b', kernelVersion: '6.1', osImage: 'Debian', containerRuntimeVersion: 'runc', kubeletVersion: 'v1.32.0', kubeProxyVersion: 'v1.32.0', operatingSystem: 'linux', architecture: 'amd64' },
      images: [{ names: ['busybox:1.36'], sizeBytes: 4_000_000 }],
    },
  }),
  '/Pod': () => ({ metadata: { labels: { app: 'a' }, annotations: { note: 'x' } }, spec: podSpec() }),
  '/Service': () => ({
    spec: {
      type: 'ClusterIP',
      selector: { app: 'a' },
      ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP', appProtocol: 'http' }, { name: 'dns', port: 53, targetPort: 'dns', protocol: 'UDP' }],
      sessionAffinity: 'ClientIP',
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 600 } },
      publishNotReadyAddresses: false,
      internalTrafficPolicy: 'Cluster',
    },
  }),
  '/Endpoints': (ns) => ({
    subsets: [{
      addresses: [{ ip: '10.42.0.5', hostname: 'a', nodeName: FIXTURES.node, targetRef: { kind: 'Pod', namespace: ns, name: 'p', uid: 'u' } }],
      notReadyAddresses: [{ ip: '10.42.0.6' }],
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    }],
  }),
  '/ConfigMap': () => ({ data: { 'a.txt': 'hello', key: 'v' }, binaryData: { bin: 'AAEC' }, immutable: false }),
  '/Secret': () => ({ type: 'Opaque', data: { user: 'YWRtaW4=' }, stringData: { pass: 'p' }, immutable: false }),
  '/ServiceAccount': () => ({ secrets: [{ name: 's' }], imagePullSecrets: [{ name: 'pull' }], automountServiceAccountToken: false }),
  '/Event': (ns) => ({
    involvedObject: { kind: 'Pod', namespace: ns, name: 'p', uid: 'u', apiVersion: 'v1', fieldPath: 'spec.containers{app}' },
    reason: 'Started',
    message: 'Started container',
    source: { component: 'kubelet', host: 'n' },
    firstTimestamp: TIME,
    lastTimestamp: TIME,
    count: 2,
    type: 'Normal',
    reportingComponent: 'kubelet',
    reportingInstance: 'n',
  }),
  '/ResourceQuota': () => ({ spec: { hard: { pods: '10', 'requests.cpu': '2', 'limits.memory': '4Gi', 'count/configmaps': '5' }, scopeSelector: { matchExpressions: [{ scopeName: 'PriorityClass', operator: 'In', values: ['high'] }] } } }),
  '/LimitRange': () => ({
    spec: { limits: [{ type: 'Container', max: { cpu: '2', memory: '1Gi' }, min: { cpu: '10m' }, default: { cpu: '500m' }, defaultRequest: { cpu: '100m' }, maxLimitRequestRatio: { cpu: '10' } }] },
  }),
  'apps/Deployment': () => ({
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'a' }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['db'] }] },
      template: template({ app: 'a' }, podSpec()),
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: '25%' } },
      minReadySeconds: 1,
      revisionHistoryLimit: 3,
      progressDeadlineSeconds: 60,
      paused: false,
    },
  }),
  'apps/ReplicaSet': () => ({ spec: { replicas: 1, minReadySeconds: 0, selector: { matchLabels: { app: 'a' } }, template: template({ app: 'a' }, podSpec()) } }),
  'apps/DaemonSet': () => ({
    spec: { selector: { matchLabels: { app: 'a' } }, template: template({ app: 'a' }, podSpec()), updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } }, minReadySeconds: 0, revisionHistoryLimit: 5 },
  }),
  'batch/Job': () => ({
    spec: { template: { spec: podSpec('Never') }, backoffLimit: 2, completions: 3, parallelism: 2, activeDeadlineSeconds: 600, ttlSecondsAfterFinished: 60, completionMode: 'NonIndexed', suspend: true },
  }),
  'coordination.k8s.io/Lease': () => ({ spec: { holderIdentity: 'h', leaseDurationSeconds: 15, acquireTime: MICRO_TIME, renewTime: MICRO_TIME, leaseTransitions: 1 } }),
  'discovery.k8s.io/EndpointSlice': (ns) => ({
    metadata: { labels: { 'kubernetes.io/service-name': 'svc' } },
    addressType: 'IPv4',
    endpoints: [{ addresses: ['10.42.0.5'], conditions: { ready: true, serving: true, terminating: false }, hostname: 'a', nodeName: FIXTURES.node, zone: 'z', targetRef: { kind: 'Pod', namespace: ns, name: 'p' }, hints: { forZones: [{ name: 'z' }] } }],
    ports: [{ name: 'http', port: 8080, protocol: 'TCP', appProtocol: 'http' }],
  }),
  'networking.k8s.io/NetworkPolicy': () => ({
    spec: {
      podSelector: { matchLabels: { app: 'a' } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ from: [{ podSelector: { matchLabels: { role: 'fe' } } }, { ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }], ports: [{ protocol: 'TCP', port: 8080, endPort: 8090 }] }],
      egress: [{ to: [{ namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'Exists' }] } }], ports: [{ protocol: 'UDP', port: 'dns' }] }],
    },
  }),
  'node.k8s.io/RuntimeClass': () => ({
    handler: 'hx-handler',
    overhead: { podFixed: { cpu: '250m', memory: '160Mi' } },
    scheduling: { nodeSelector: { 'nubis.dev/microvm': 'true' }, tolerations: [{ key: 'microvm', operator: 'Exists', effect: 'NoSchedule' }] },
  }),
  'rbac.authorization.k8s.io/ClusterRole': () => ({ rules: [...ROLE_RULES, { nonResourceURLs: ['/healthz', '/metrics/*'], verbs: ['get'] }] }),
  'rbac.authorization.k8s.io/ClusterRoleBinding': () => ({
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
    subjects: [{ kind: 'User', name: 'hx-alice', apiGroup: 'rbac.authorization.k8s.io' }, { kind: 'ServiceAccount', name: 'default', namespace: 'default' }],
  }),
  'rbac.authorization.k8s.io/Role': () => ({ rules: ROLE_RULES }),
  'rbac.authorization.k8s.io/RoleBinding': (ns) => ({
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
    subjects: [{ kind: 'Group', name: 'hx-group', apiGroup: 'rbac.authorization.k8s.io' }, { kind: 'ServiceAccount', name: 'default', namespace: ns }],
  }),
  'authorization.k8s.io/SelfSubjectAccessReview': () => ({ spec: { resourceAttributes: { namespace: 'default', verb: 'get', group: '', resource: 'pods', name: 'p' } } }),
  'authorization.k8s.io/SelfSubjectRulesReview': () => ({ spec: { namespace: 'default' } }),
  'authorization.k8s.io/SubjectAccessReview': () => ({
    spec: { user: 'hx-alice', groups: ['hx-group'], uid: 'u', extra: { scopes: ['a'] }, resourceAttributes: { namespace: 'default', verb: 'list', group: 'apps', resource: 'deployments' } },
  }),
  'authorization.k8s.io/LocalSubjectAccessReview': (ns) => ({ spec: { user: 'hx-alice', groups: ['hx-group'], resourceAttributes: { namespace: ns, verb: 'get', resource: 'configmaps', name: 'c' } } }),
  'authentication.k8s.io/SelfSubjectReview': () => ({}),
  'certificates.k8s.io/CertificateSigningRequest': () => ({
    spec: { request: csrRequest(), signerName: 'kubernetes.io/kube-apiserver-client', usages: ['digital signature', 'client auth'], expirationSeconds: 3600 },
  }),
  'nubis.dev/Tenant': () => ({ spec: { displayName: 'Hostile', description: 'd', allow: { hostNetwork: false, nodePorts: true }, podSecurity: 'baseline', quota: { pods: '10', 'requests.cpu': '4' } } }),
  'nubis.dev/User': () => ({ spec: { tenant: FIXTURES.tenant, roles: ['member'], displayName: 'U', email: 'u@example.com', disabled: false } }),
  'nubis.dev/UserToken': () => ({
    spec: { user: FIXTURES.user, secretHash: createHash('sha256').update('secret').digest('hex'), expirationTimestamp: '2099-01-01T00:00:00Z', roles: ['reader'], description: 'd' },
  }),
  'nubis.dev/Login': () => ({ spec: { username: FIXTURES.user, password: FIXTURES.password, expirationSeconds: 3600, description: 'd' } }),
  'kubevirt.io/VirtualMachine': () => ({ metadata: { labels: { 'kubevirt.io/vm': 'hx' } }, spec: { runStrategy: 'Halted', template: { metadata: { labels: { 'kubevirt.io/vm': 'hx' } }, spec: vmiSpec() } } }),
  'kubevirt.io/VirtualMachineInstance': () => ({ metadata: { labels: { special: 'hx' } }, spec: vmiSpec() }),
  'kubevirt.io/VirtualMachineInstanceMigration': () => ({ spec: { vmiName: FIXTURES.vmi, addedNodeSelector: { zone: 'a' } } }),
};
