import { conditionsList, labelSelectorSchema, objectMetaSchema, resourceListSchema } from '../../meta-schema.js';
import { anything, bool, int, int32, intOrString, keyedList, list, obj, type ObjectSchema, quantity, type Schema, str, stringList, stringMap, time } from '../../schema.js';

/** core/v1 PodSpec, PodStatus and PodTemplateSpec field descriptions (shared by every workload kind). */

const localRef = obj({ name: str('Name of the referent.') });
const optionalRef = obj({ name: str(), optional: bool() });
const keyRef = obj({ name: str(), key: str(), optional: bool() }, { required: ['key'] });
const objectFieldSelector = obj({ apiVersion: str(), fieldPath: str() }, { required: ['fieldPath'] });
const resourceFieldSelector = obj({ containerName: str(), resource: str(), divisor: quantity() }, { required: ['resource'] });

const envVar = obj(
  {
    name: str('Name of the environment variable.'),
    value: str(),
    valueFrom: obj({ fieldRef: objectFieldSelector, resourceFieldRef: resourceFieldSelector, configMapKeyRef: keyRef, secretKeyRef: keyRef }),
  },
  { required: ['name'] },
);

const execAction = obj({ command: stringList() });
const httpGet = obj({
  path: str(),
  port: intOrString(),
  host: str(),
  scheme: str(undefined, ['HTTP', 'HTTPS']),
  httpHeaders: list(obj({ name: str(), value: str() }), { listType: 'atomic' }),
}, { required: ['port'] });
const tcpSocket = obj({ port: intOrString(), host: str() }, { required: ['port'] });
const grpc = obj({ port: int32(), service: str() }, { required: ['port'] });
const handler = obj({ exec: execAction, httpGet, tcpSocket, sleep: obj({ seconds: int() }) });
const probe = obj({
  exec: execAction,
  httpGet,
  tcpSocket,
  grpc,
  initialDelaySeconds: int32(),
  timeoutSeconds: int32(),
  periodSeconds: int32(),
  successThreshold: int32(),
  failureThreshold: int32(),
  terminationGracePeriodSeconds: int(),
});

const seLinuxOptions = obj({ user: str(), role: str(), type: str(), level: str() });
const windowsOptions = obj({ gmsaCredentialSpecName: str(), gmsaCredentialSpec: str(), runAsUserName: str(), hostProcess: bool() });
const profile = obj({ type: str(), localhostProfile: str() });

const securityContext = obj({
  capabilities: obj({ add: stringList(), drop: stringList() }),
  privileged: bool(),
  seLinuxOptions,
  windowsOptions,
  runAsUser: int(),
  runAsGroup: int(),
  runAsNonRoot: bool(),
  readOnlyRootFilesystem: bool(),
  allowPrivilegeEscalation: bool(),
  procMount: str(),
  seccompProfile: profile,
  appArmorProfile: profile,
});

const podSecurityContext = obj({
  seLinuxOptions,
  windowsOptions,
  runAsUser: int(),
  runAsGroup: int(),
  runAsNonRoot: bool(),
  supplementalGroups: list(int(), { listType: 'atomic' }),
  supplementalGroupsPolicy: str(),
  fsGroup: int(),
  sysctls: list(obj({ name: str(), value: str() }), { listType: 'atomic' }),
  fsGroupChangePolicy: str(),
  seccompProfile: profile,
  appArmorProfile: profile,
  seLinuxChangePolicy: str(),
});

const resources = obj({
  limits: resourceListSchema,
  requests: resourceListSchema,
  claims: keyedList(obj({ name: str(), request: str() }), 'name'),
});

const containerFields: Record<string, Schema> = {
  name: str('Name of the container specified as a DNS_LABEL.'),
  image: str('Container image name.'),
  command: stringList('Entrypoint array. Not executed within a shell.'),
  args: stringList('Arguments to the entrypoint.'),
  workingDir: str(),
  ports: keyedList(
    obj({ name: str(), hostPort: int32(), containerPort: int32(), protocol: str(undefined, ['TCP', 'UDP', 'SCTP']), hostIP: str() }, { required: ['containerPort'] }),
    'containerPort',
    { listMapKeys: ['containerPort', 'protocol'], description: 'List of ports to expose from the container.' },
  ),
  envFrom: list(obj({ prefix: str(), configMapRef: optionalRef, secretRef: optionalRef }), { listType: 'atomic' }),
  env: keyedList(envVar, 'name', { description: 'List of environment variables to set in the container.' }),
  resources,
  resizePolicy: list(obj({ resourceName: str(), restartPolicy: str() }), { listType: 'atomic' }),
  restartPolicy: str(),
  volumeMounts: keyedList(
    obj({ name: str(), readOnly: bool(), recursiveReadOnly: str(), mountPath: str(), subPath: str(), mountPropagation: str(), subPathExpr: str() }, { required: ['name', 'mountPath'] }),
    'mountPath',
  ),
  volumeDevices: keyedList(obj({ name: str(), devicePath: str() }), 'devicePath'),
  livenessProbe: probe,
  readinessProbe: probe,
  startupProbe: probe,
  lifecycle: obj({ postStart: handler, preStop: handler, stopSignal: str() }),
  terminationMessagePath: str(),
  terminationMessagePolicy: str(undefined, ['File', 'FallbackToLogsOnError']),
  imagePullPolicy: str(undefined, ['Always', 'Never', 'IfNotPresent']),
  securityContext,
  stdin: bool(),
  stdinOnce: bool(),
  tty: bool(),
};

export const containerSchema = obj(containerFields, { required: ['name'] });
const ephemeralContainerSchema = obj({ ...containerFields, targetContainerName: str() }, { required: ['name'] });

const keyToPath = list(obj({ key: str(), path: str(), mode: int32() }, { required: ['key', 'path'] }), { listType: 'atomic' });
const downwardApiFile = obj({ path: str(), fieldRef: objectFieldSelector, resourceFieldRef: resourceFieldSelector, mode: int32() }, { required: ['path'] });
const secretSource = obj({ secretName: str(), items: keyToPath, defaultMode: int32(), optional: bool() });
const configMapSource = obj({ name: str(), items: keyToPath, defaultMode: int32(), optional: bool() });
const projection = obj({
  secret: obj({ name: str(), items: keyToPath, optional: bool() }),
  configMap: obj({ name: str(), items: keyToPath, optional: bool() }),
  downwardAPI: obj({ items: list(downwardApiFile, { listType: 'atomic' }) }),
  serviceAccountToken: obj({ audience: str(), expirationSeconds: int(), path: str() }, { required: ['path'] }),
  clusterTrustBundle: obj({ name: str(), signerName: str(), labelSelector: labelSelectorSchema, optional: bool(), path: str() }),
});

/** Volume sources Nubis does not implement are accepted as free-form so real manifests still validate. */
const foreignSources = [
  'gcePersistentDisk', 'awsElasticBlockStore', 'gitRepo', 'glusterfs', 'iscsi', 'rbd', 'flexVolume', 'cinder', 'cephfs',
  'flocker', 'fc', 'azureFile', 'azureDisk', 'vsphereVolume', 'quobyte', 'photonPersistentDisk', 'portworxVolume', 'scaleIO', 'storageos',
];

export const volumeSources: Record<string, Schema> = {
  hostPath: obj({ path: str(), type: str() }, { required: ['path'] }),
  emptyDir: obj({ medium: str(), sizeLimit: quantity() }),
  secret: secretSource,
  configMap: configMapSource,
  persistentVolumeClaim: obj({ claimName: str(), readOnly: bool() }, { required: ['claimName'] }),
  downwardAPI: obj({ items: list(downwardApiFile, { listType: 'atomic' }), defaultMode: int32() }),
  projected: obj({ sources: list(projection, { listType: 'atomic' }), defaultMode: int32() }),
  nfs: obj({ server: str(), path: str(), readOnly: bool() }, { required: ['server', 'path'] }),
  ephemeral: obj({ volumeClaimTemplate: obj({ metadata: objectMetaSchema, spec: anything() }) }),
  csi: obj({ driver: str(), readOnly: bool(), fsType: str(), volumeAttributes: stringMap(), nodePublishSecretRef: localRef }, { required: ['driver'] }),
  image: obj({ reference: str(), pullPolicy: str() }),
  ...Object.fromEntries(foreignSources.map((s) => [s, anything()])),
};

export const volumeSchema = obj({ name: str('Volume name: a DNS_LABEL unique within the pod.'), ...volumeSources }, { required: ['name'] });

const nodeSelectorRequirement = obj({ key: str(), operator: str(), values: stringList() }, { required: ['key', 'operator'] });
const nodeSelectorTerm = obj({
  matchExpressions: list(nodeSelectorRequirement, { listType: 'atomic' }),
  matchFields: list(nodeSelectorRequirement, { listType: 'atomic' }),
});
const podAffinityTerm = obj({
  labelSelector: labelSelectorSchema,
  namespaces: stringList(),
  topologyKey: str(),
  namespaceSelector: labelSelectorSchema,
  matchLabelKeys: stringList(),
  mismatchLabelKeys: stringList(),
});
const weightedPodAffinityTerm = obj({ weight: int32(), podAffinityTerm });
const podAffinity = obj({
  requiredDuringSchedulingIgnoredDuringExecution: list(podAffinityTerm, { listType: 'atomic' }),
  preferredDuringSchedulingIgnoredDuringExecution: list(weightedPodAffinityTerm, { listType: 'atomic' }),
});
const affinity = obj({
  nodeAffinity: obj({
    requiredDuringSchedulingIgnoredDuringExecution: obj({ nodeSelectorTerms: list(nodeSelectorTerm, { listType: 'atomic' }) }),
    preferredDuringSchedulingIgnoredDuringExecution: list(obj({ weight: int32(), preference: nodeSelectorTerm }), { listType: 'atomic' }),
  }),
  podAffinity,
  podAntiAffinity: podAffinity,
});

export const tolerationSchema = obj({ key: str(), operator: str(), value: str(), effect: str(), tolerationSeconds: int() });

export const podSpecSchema: ObjectSchema = obj(
  {
    volumes: keyedList(volumeSchema, 'name', { strategy: 'merge,retainKeys' }),
    initContainers: keyedList(containerSchema, 'name'),
    containers: keyedList(containerSchema, 'name', { description: 'List of containers belonging to the pod.' }),
    ephemeralContainers: keyedList(ephemeralContainerSchema, 'name'),
    restartPolicy: str('Restart policy for all containers within the pod.', ['Always', 'OnFailure', 'Never']),
    terminationGracePeriodSeconds: int(),
    activeDeadlineSeconds: int(),
    dnsPolicy: str(undefined, ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None']),
    nodeSelector: stringMap(),
    serviceAccountName: str(),
    serviceAccount: str(),
    automountServiceAccountToken: bool(),
    nodeName: str(),
    hostNetwork: bool(),
    hostPID: bool(),
    hostIPC: bool(),
    shareProcessNamespace: bool(),
    securityContext: podSecurityContext,
    imagePullSecrets: keyedList(localRef, 'name'),
    hostname: str(),
    subdomain: str(),
    affinity,
    schedulerName: str(),
    tolerations: list(tolerationSchema, { listType: 'atomic' }),
    hostAliases: keyedList(obj({ ip: str(), hostnames: stringList() }), 'ip'),
    priorityClassName: str(),
    priority: int32(),
    dnsConfig: obj({ nameservers: stringList(), searches: stringList(), options: list(obj({ name: str(), value: str() }), { listType: 'atomic' }) }),
    readinessGates: list(obj({ conditionType: str() }), { listType: 'atomic' }),
    runtimeClassName: str(),
    enableServiceLinks: bool(),
    preemptionPolicy: str(),
    overhead: resourceListSchema,
    topologySpreadConstraints: keyedList(
      obj({
        maxSkew: int32(), topologyKey: str(), whenUnsatisfiable: str(), labelSelector: labelSelectorSchema, minDomains: int32(),
        nodeAffinityPolicy: str(), nodeTaintsPolicy: str(), matchLabelKeys: stringList(),
      }),
      'topologyKey',
      { listMapKeys: ['topologyKey', 'whenUnsatisfiable'] },
    ),
    setHostnameAsFQDN: bool(),
    os: obj({ name: str() }),
    hostUsers: bool(),
    schedulingGates: keyedList(obj({ name: str() }), 'name'),
    resourceClaims: keyedList(obj({ name: str(), resourceClaimName: str(), resourceClaimTemplateName: str() }), 'name', { strategy: 'merge,retainKeys' }),
    resources: obj({ limits: resourceListSchema, requests: resourceListSchema, claims: keyedList(obj({ name: str(), request: str() }), 'name') }),
  },
  { description: 'Specification of the desired behavior of the pod.', required: ['containers'] },
);

const containerState = obj({
  waiting: obj({ reason: str(), message: str() }),
  running: obj({ startedAt: time() }),
  terminated: obj({
    exitCode: int32(), signal: int32(), reason: str(), message: str(), startedAt: time(), finishedAt: time(), containerID: str(),
  }),
});

const containerStatus = obj({
  name: str(),
  state: containerState,
  lastState: containerState,
  ready: bool(),
  restartCount: int32(),
  image: str(),
  imageID: str(),
  containerID: str(),
  started: bool(),
  allocatedResources: resourceListSchema,
  resources,
  volumeMounts: list(obj({ name: str(), mountPath: str(), readOnly: bool(), recursiveReadOnly: str() }), { listType: 'atomic' }),
  user: anything(),
  allocatedResourcesStatus: anything(),
  stopSignal: str(),
});

const ipList = () => keyedList(obj({ ip: str() }), 'ip');

export const podStatusSchema = obj({
  observedGeneration: int(),
  phase: str(undefined, ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown']),
  conditions: conditionsList(),
  message: str(),
  reason: str(),
  nominatedNodeName: str(),
  hostIP: str(),
  hostIPs: ipList(),
  podIP: str(),
  podIPs: ipList(),
  startTime: time(),
  initContainerStatuses: list(containerStatus, { listType: 'atomic' }),
  containerStatuses: list(containerStatus, { listType: 'atomic' }),
  ephemeralContainerStatuses: list(containerStatus, { listType: 'atomic' }),
  qosClass: str(),
  resize: str(),
  resourceClaimStatuses: keyedList(obj({ name: str(), resourceClaimName: str() }), 'name', { strategy: 'merge,retainKeys' }),
});

export const podTemplateSpecSchema = obj({ metadata: objectMetaSchema, spec: podSpecSchema });
