/**
 * Field numbers of Kubernetes' protobuf messages (k8s.io/api generated.proto) for the kinds Nubis serves,
 * written for Nubis' protobuf codec. Options on fields say how a value maps to JSON as Go's encoder
 * writes it: `(ptr)` a Go pointer (a zero value sent is meaningful and kept), `(keep)` a value Go
 * always writes (no omitempty), `(inline)` an embedded struct whose fields belong to the parent.
 * Fields absent here are refused by the decoder rather than dropped.
 */

/** The fields of Container, which EphemeralContainerCommon repeats. */
const CONTAINER_FIELDS = `  optional string name = 1; optional string image = 2; repeated string command = 3; repeated string args = 4; optional string workingDir = 5;
  repeated ContainerPort ports = 6; repeated EnvFromSource envFrom = 19; repeated EnvVar env = 7; optional ResourceRequirements resources = 8;
  repeated ContainerResizePolicy resizePolicy = 23; optional string restartPolicy = 24; repeated ContainerRestartRule restartPolicyRules = 25;
  repeated VolumeMount volumeMounts = 9; repeated VolumeDevice volumeDevices = 21;
  optional Probe livenessProbe = 10 [(ptr)=true]; optional Probe readinessProbe = 11 [(ptr)=true]; optional Probe startupProbe = 22 [(ptr)=true];
  optional Lifecycle lifecycle = 12 [(ptr)=true]; optional string terminationMessagePath = 13; optional string terminationMessagePolicy = 20;
  optional string imagePullPolicy = 14; optional SecurityContext securityContext = 15 [(ptr)=true];
  optional bool stdin = 16; optional bool stdinOnce = 17; optional bool tty = 18;
`;

/** core/v1: Pod and its parts, Namespace, Node, Service, Endpoints, ConfigMap, Secret, Event, ResourceQuota, LimitRange. */
export const CORE_PROTO = `syntax = "proto2";
package k8s.core;
message Affinity { optional NodeAffinity nodeAffinity = 1 [(ptr)=true]; optional PodAffinity podAffinity = 2 [(ptr)=true]; optional PodAntiAffinity podAntiAffinity = 3 [(ptr)=true]; }
message Capabilities { repeated string add = 1; repeated string drop = 2; }
message ClientIPConfig { optional int32 timeoutSeconds = 1 [(ptr)=true]; }
message ConfigMap { optional meta.ObjectMeta metadata = 1; optional bool immutable = 4 [(ptr)=true]; map<string, string> data = 2; map<string, bytes> binaryData = 3; }
message ConfigMapEnvSource { optional LocalObjectReference localObjectReference = 1 [(inline)=true]; optional bool optional = 2 [(ptr)=true]; }
message ConfigMapKeySelector { optional LocalObjectReference localObjectReference = 1 [(inline)=true]; optional string key = 2; optional bool optional = 3 [(ptr)=true]; }
message ConfigMapProjection { optional LocalObjectReference localObjectReference = 1 [(inline)=true]; repeated KeyToPath items = 2; optional bool optional = 4 [(ptr)=true]; }
message ConfigMapVolumeSource { optional LocalObjectReference localObjectReference = 1 [(inline)=true]; repeated KeyToPath items = 2; optional int32 defaultMode = 3 [(ptr)=true]; optional bool optional = 4 [(ptr)=true]; }
message Container {
${CONTAINER_FIELDS}}
message ContainerImage { repeated string names = 1; optional int64 sizeBytes = 2; }
message ContainerPort { optional string name = 1; optional int32 hostPort = 2; optional int32 containerPort = 3 [(keep)=true]; optional string protocol = 4; optional string hostIP = 5; }
message ContainerResizePolicy { optional string resourceName = 1; optional string restartPolicy = 2; }
message ContainerRestartRule { optional string action = 1; optional ContainerRestartRuleOnExitCodes exitCodes = 2 [(ptr)=true]; }
message ContainerRestartRuleOnExitCodes { optional string operator = 1; repeated int32 values = 2; }
message ContainerState { optional ContainerStateWaiting waiting = 1 [(ptr)=true]; optional ContainerStateRunning running = 2 [(ptr)=true]; optional ContainerStateTerminated terminated = 3 [(ptr)=true]; }
message ContainerStateRunning { optional meta.Time startedAt = 1; }
message ContainerStateTerminated { optional int32 exitCode = 1 [(keep)=true]; optional int32 signal = 2; optional string reason = 3; optional string message = 4; optional meta.Time startedAt = 5; optional meta.Time finishedAt = 6; optional string containerID = 7; }
message ContainerStateWaiting { optional string reason = 1; optional string message = 2; }
message ContainerStatus {
  optional string name = 1 [(keep)=true]; optional ContainerState state = 2; optional ContainerState lastState = 3; optional bool ready = 4 [(keep)=true];
  optional int32 restartCount = 5 [(keep)=true]; optional string image = 6 [(keep)=true]; optional string imageID = 7 [(keep)=true]; optional string containerID = 8;
  optional bool started = 9 [(ptr)=true]; map<string, resource.Quantity> allocatedResources = 10; optional ResourceRequirements resources = 11 [(ptr)=true];
  repeated VolumeMountStatus volumeMounts = 12; optional ContainerUser user = 13 [(ptr)=true]; repeated ResourceStatus allocatedResourcesStatus = 14; optional string stopSignal = 15;
}
message ContainerUser { optional LinuxContainerUser linux = 1 [(ptr)=true]; }
message DaemonEndpoint { optional int32 Port = 1 [(keep)=true]; }
message DownwardAPIProjection { repeated DownwardAPIVolumeFile items = 1; }
message DownwardAPIVolumeFile { optional string path = 1; optional ObjectFieldSelector fieldRef = 2 [(ptr)=true]; optional ResourceFieldSelector resourceFieldRef = 3 [(ptr)=true]; optional int32 mode = 4 [(ptr)=true]; }
message DownwardAPIVolumeSource { repeated DownwardAPIVolumeFile items = 1; optional int32 defaultMode = 2 [(ptr)=true]; }
message EmptyDirVolumeSource { optional string medium = 1; optional resource.Quantity sizeLimit = 2 [(ptr)=true]; }
message EndpointAddress { optional string ip = 1 [(keep)=true]; optional string hostname = 3; optional string nodeName = 4 [(ptr)=true]; optional ObjectReference targetRef = 2 [(ptr)=true]; }
message EndpointPort { optional string name = 1; optional int32 port = 2 [(keep)=true]; optional string protocol = 3; optional string appProtocol = 4 [(ptr)=true]; }
message EndpointSubset { repeated EndpointAddress addresses = 1; repeated EndpointAddress notReadyAddresses = 2; repeated EndpointPort ports = 3; }
message Endpoints { optional meta.ObjectMeta metadata = 1; repeated EndpointSubset subsets = 2; }
message EnvFromSource { optional string prefix = 1; optional ConfigMapEnvSource configMapRef = 2 [(ptr)=true]; optional SecretEnvSource secretRef = 3 [(ptr)=true]; }
message EnvVar { optional string name = 1 [(keep)=true]; optional string value = 2; optional EnvVarSource valueFrom = 3 [(ptr)=true]; }
message EnvVarSource { optional ObjectFieldSelector fieldRef = 1 [(ptr)=true]; optional ResourceFieldSelector resourceFieldRef = 2 [(ptr)=true]; optional ConfigMapKeySelector configMapKeyRef = 3 [(ptr)=true]; optional SecretKeySelector secretKeyRef = 4 [(ptr)=true]; optional FileKeySelector fileKeyRef = 5 [(ptr)=true]; }
message EphemeralContainer { optional EphemeralContainerCommon ephemeralContainerCommon = 1 [(inline)=true]; optional string targetContainerName = 2; }
message EphemeralContainerCommon {
${CONTAINER_FIELDS}}
message Event {
  optional meta.ObjectMeta metadata = 1; optional ObjectReference involvedObject = 2; optional string reason = 3; optional string message = 4;
  optional EventSource source = 5; optional meta.Time firstTimestamp = 6; optional meta.Time lastTimestamp = 7; optional int32 count = 8;
  optional string type = 9; optional meta.MicroTime eventTime = 10; optional EventSeries series = 11 [(ptr)=true]; optional string action = 12;
  optional ObjectReference related = 13 [(ptr)=true]; optional string reportingComponent = 14 [(keep)=true]; optional string reportingInstance = 15 [(keep)=true];
}
message EventSeries { optional int32 count = 1; optional meta.MicroTime lastObservedTime = 2; }
message EventSource { optional string component = 1; optional string host = 2; }
message ExecAction { repeated string command = 1; }
message FileKeySelector { optional string volumeName = 1; optional string path = 2; optional string key = 3; optional bool optional = 4 [(ptr)=true]; }
message GRPCAction { optional int32 port = 1 [(keep)=true]; optional string service = 2 [(ptr)=true]; }
message HTTPGetAction { optional string path = 1; optional intstr.IntOrString port = 2; optional string host = 3; optional string scheme = 4; repeated HTTPHeader httpHeaders = 5; }
message HTTPHeader { optional string name = 1 [(keep)=true]; optional string value = 2 [(keep)=true]; }
message HostAlias { optional string ip = 1 [(keep)=true]; repeated string hostnames = 2; }
message HostIP { optional string ip = 1 [(keep)=true]; }
message HostPathVolumeSource { optional string path = 1; optional string type = 2 [(ptr)=true]; }
message ImageVolumeSource { optional string reference = 1; optional string pullPolicy = 2; }
message KeyToPath { optional string key = 1 [(keep)=true]; optional string path = 2 [(keep)=true]; optional int32 mode = 3 [(ptr)=true]; }
message Lifecycle { optional LifecycleHandler postStart = 1 [(ptr)=true]; optional LifecycleHandler preStop = 2 [(ptr)=true]; optional string stopSignal = 3 [(ptr)=true]; }
message LifecycleHandler { optional ExecAction exec = 1 [(ptr)=true]; optional HTTPGetAction httpGet = 2 [(ptr)=true]; optional TCPSocketAction tcpSocket = 3 [(ptr)=true]; optional SleepAction sleep = 4 [(ptr)=true]; }
message LimitRange { optional meta.ObjectMeta metadata = 1; optional LimitRangeSpec spec = 2; }
message LimitRangeItem { optional string type = 1 [(keep)=true]; map<string, resource.Quantity> max = 2; map<string, resource.Quantity> min = 3; map<string, resource.Quantity> default = 4; map<string, resource.Quantity> defaultRequest = 5; map<string, resource.Quantity> maxLimitRequestRatio = 6; }
message LimitRangeSpec { repeated LimitRangeItem limits = 1; }
message LinuxContainerUser { optional int64 uid = 1 [(keep)=true]; optional int64 gid = 2 [(keep)=true]; repeated int64 supplementalGroups = 3; }
message LoadBalancerIngress { optional string ip = 1; optional string hostname = 2; optional string ipMode = 3 [(ptr)=true]; repeated PortStatus ports = 4; }
message LoadBalancerStatus { repeated LoadBalancerIngress ingress = 1; }
message LocalObjectReference { optional string name = 1; }
message NFSVolumeSource { optional string server = 1; optional string path = 2; optional bool readOnly = 3; }
message Namespace { optional meta.ObjectMeta metadata = 1; optional NamespaceSpec spec = 2; optional NamespaceStatus status = 3; }
message NamespaceCondition { optional string type = 1; optional string status = 2; optional meta.Time lastTransitionTime = 4; optional string reason = 5; optional string message = 6; }
message NamespaceSpec { repeated string finalizers = 1; }
message NamespaceStatus { optional string phase = 1; repeated NamespaceCondition conditions = 2; }
message Node { optional meta.ObjectMeta metadata = 1; optional NodeSpec spec = 2; optional NodeStatus status = 3; }
message NodeAddress { optional string type = 1 [(keep)=true]; optional string address = 2 [(keep)=true]; }
message NodeAffinity { optional NodeSelector requiredDuringSchedulingIgnoredDuringExecution = 1 [(ptr)=true]; repeated PreferredSchedulingTerm preferredDuringSchedulingIgnoredDuringExecution = 2; }
message NodeCondition { optional string type = 1; optional string status = 2; optional meta.Time lastHeartbeatTime = 3; optional meta.Time lastTransitionTime = 4; optional string reason = 5; optional string message = 6; }
message NodeDaemonEndpoints { optional DaemonEndpoint kubeletEndpoint = 1; }
message NodeFeatures { optional bool supplementalGroupsPolicy = 1 [(ptr)=true]; optional bool containerUlimits = 2 [(ptr)=true]; }
message NodeRuntimeHandler { optional string name = 1 [(keep)=true]; optional NodeRuntimeHandlerFeatures features = 2 [(ptr)=true]; }
message NodeRuntimeHandlerFeatures { optional bool recursiveReadOnlyMounts = 1 [(ptr)=true]; optional bool userNamespaces = 2 [(ptr)=true]; }
message NodeSelector { repeated NodeSelectorTerm nodeSelectorTerms = 1; }
message NodeSelectorRequirement { optional string key = 1 [(keep)=true]; optional string operator = 2 [(keep)=true]; repeated string values = 3; }
message NodeSelectorTerm { repeated NodeSelectorRequirement matchExpressions = 1; repeated NodeSelectorRequirement matchFields = 2; }
message NodeSpec { optional string podCIDR = 1; repeated string podCIDRs = 7; optional string providerID = 3; optional bool unschedulable = 4; repeated Taint taints = 5; optional string externalID = 2; }
message NodeStatus {
  map<string, resource.Quantity> capacity = 1; map<string, resource.Quantity> allocatable = 2; optional string phase = 3; repeated NodeCondition conditions = 4;
  repeated NodeAddress addresses = 5; optional NodeDaemonEndpoints daemonEndpoints = 6; optional NodeSystemInfo nodeInfo = 7; repeated ContainerImage images = 8;
  repeated string volumesInUse = 9; repeated AttachedVolume volumesAttached = 10; repeated NodeRuntimeHandler runtimeHandlers = 12;
  optional NodeFeatures features = 13 [(ptr)=true]; repeated string declaredFeatures = 14;
}
message AttachedVolume { optional string name = 1 [(keep)=true]; optional string devicePath = 2 [(keep)=true]; }
message NodeSwapStatus { optional int64 capacity = 1 [(ptr)=true]; }
message NodeSystemInfo {
  optional string machineID = 1 [(keep)=true]; optional string systemUUID = 2 [(keep)=true]; optional string bootID = 3 [(keep)=true]; optional string kernelVersion = 4 [(keep)=true];
  optional string osImage = 5 [(keep)=true]; optional string containerRuntimeVersion = 6 [(keep)=true]; optional string kubeletVersion = 7 [(keep)=true];
  optional string kubeProxyVersion = 8 [(keep)=true]; optional string operatingSystem = 9 [(keep)=true]; optional string architecture = 10 [(keep)=true]; optional NodeSwapStatus swap = 11 [(ptr)=true];
}
message ObjectFieldSelector { optional string apiVersion = 1; optional string fieldPath = 2 [(keep)=true]; }
message ObjectReference { optional string kind = 1; optional string namespace = 2; optional string name = 3; optional string uid = 4; optional string apiVersion = 5; optional string resourceVersion = 6; optional string fieldPath = 7; }
message PersistentVolumeClaimVolumeSource { optional string claimName = 1; optional bool readOnly = 2; }
message Pod { optional meta.ObjectMeta metadata = 1; optional PodSpec spec = 2; optional PodStatus status = 3; }
message PodAffinity { repeated PodAffinityTerm requiredDuringSchedulingIgnoredDuringExecution = 1; repeated WeightedPodAffinityTerm preferredDuringSchedulingIgnoredDuringExecution = 2; }
message PodAffinityTerm { optional meta.LabelSelector labelSelector = 1 [(ptr)=true]; repeated string namespaces = 2; optional string topologyKey = 3 [(keep)=true]; optional meta.LabelSelector namespaceSelector = 4 [(ptr)=true]; repeated string matchLabelKeys = 5; repeated string mismatchLabelKeys = 6; }
message PodAntiAffinity { repeated PodAffinityTerm requiredDuringSchedulingIgnoredDuringExecution = 1; repeated WeightedPodAffinityTerm preferredDuringSchedulingIgnoredDuringExecution = 2; }
message PodCondition { optional string type = 1 [(keep)=true]; optional int64 observedGeneration = 7; optional string status = 2 [(keep)=true]; optional meta.Time lastProbeTime = 3; optional meta.Time lastTransitionTime = 4; optional string reason = 5; optional string message = 6; }
message PodDNSConfig { repeated string nameservers = 1; repeated string searches = 2; repeated PodDNSConfigOption options = 3; }
message PodDNSConfigOption { optional string name = 1; optional string value = 2 [(ptr)=true]; }
message PodIP { optional string ip = 1 [(keep)=true]; }
message PodOS { optional string name = 1 [(keep)=true]; }
message PodReadinessGate { optional string conditionType = 1 [(keep)=true]; }
message PodResourceClaim { optional string name = 1 [(keep)=true]; optional string resourceClaimName = 3 [(ptr)=true]; optional string resourceClaimTemplateName = 4 [(ptr)=true]; }
message PodResourceClaimStatus { optional string name = 1 [(keep)=true]; optional string resourceClaimName = 2 [(ptr)=true]; }
message PodSchedulingGate { optional string name = 1 [(keep)=true]; }
message PodSecurityContext {
  optional SELinuxOptions seLinuxOptions = 1 [(ptr)=true]; optional WindowsSecurityContextOptions windowsOptions = 8 [(ptr)=true];
  optional int64 runAsUser = 2 [(ptr)=true]; optional int64 runAsGroup = 6 [(ptr)=true]; optional bool runAsNonRoot = 3 [(ptr)=true];
  repeated int64 supplementalGroups = 4; optional string supplementalGroupsPolicy = 12 [(ptr)=true]; optional int64 fsGroup = 5 [(ptr)=true];
  repeated Sysctl sysctls = 7; optional string fsGroupChangePolicy = 9 [(ptr)=true]; optional SeccompProfile seccompProfile = 10 [(ptr)=true];
  optional AppArmorProfile appArmorProfile = 11 [(ptr)=true]; optional string seLinuxChangePolicy = 13 [(ptr)=true];
}
message PodSpec {
  repeated Volume volumes = 1; repeated Container initContainers = 20; repeated Container containers = 2; repeated EphemeralContainer ephemeralContainers = 34;
  optional string restartPolicy = 3; optional int64 terminationGracePeriodSeconds = 4 [(ptr)=true]; optional int64 activeDeadlineSeconds = 5 [(ptr)=true];
  optional string dnsPolicy = 6; map<string, string> nodeSelector = 7; optional string serviceAccountName = 8; optional string serviceAccount = 9;
  optional bool automountServiceAccountToken = 21 [(ptr)=true]; optional string nodeName = 10; optional bool hostNetwork = 11; optional bool hostPID = 12;
  optional bool hostIPC = 13; optional bool shareProcessNamespace = 27 [(ptr)=true]; optional PodSecurityContext securityContext = 14 [(ptr)=true];
  repeated LocalObjectReference imagePullSecrets = 15; optional string hostname = 16; optional string subdomain = 17; optional Affinity affinity = 18 [(ptr)=true];
  optional string schedulerName = 19; repeated Toleration tolerations = 22; repeated HostAlias hostAliases = 23; optional string priorityClassName = 24;
  optional int32 priority = 25 [(ptr)=true]; optional PodDNSConfig dnsConfig = 26 [(ptr)=true]; repeated PodReadinessGate readinessGates = 28;
  optional string runtimeClassName = 29 [(ptr)=true]; optional bool enableServiceLinks = 30 [(ptr)=true]; optional string preemptionPolicy = 31 [(ptr)=true];
  map<string, resource.Quantity> overhead = 32; repeated TopologySpreadConstraint topologySpreadConstraints = 33; optional bool setHostnameAsFQDN = 35 [(ptr)=true];
  optional PodOS os = 36 [(ptr)=true]; optional bool hostUsers = 37 [(ptr)=true]; repeated PodSchedulingGate schedulingGates = 38;
  repeated PodResourceClaim resourceClaims = 39; optional ResourceRequirements resources = 40 [(ptr)=true]; optional string hostnameOverride = 41 [(ptr)=true];
}
message PodStatus {
  optional int64 observedGeneration = 17; optional string phase = 1; repeated PodCondition conditions = 2; optional string message = 3; optional string reason = 4;
  optional string nominatedNodeName = 11; optional string hostIP = 5; repeated HostIP hostIPs = 16; optional string podIP = 6; repeated PodIP podIPs = 12;
  optional meta.Time startTime = 7 [(ptr)=true]; repeated ContainerStatus initContainerStatuses = 10; repeated ContainerStatus containerStatuses = 8;
  optional string qosClass = 9; repeated ContainerStatus ephemeralContainerStatuses = 13; optional string resize = 14;
  repeated PodResourceClaimStatus resourceClaimStatuses = 15; map<string, resource.Quantity> allocatedResources = 19; optional ResourceRequirements resources = 20 [(ptr)=true];
}
message PodTemplateSpec { optional meta.ObjectMeta metadata = 1; optional PodSpec spec = 2; }
message PortStatus { optional int32 port = 1 [(keep)=true]; optional string protocol = 2 [(keep)=true]; optional string error = 3 [(ptr)=true]; }
message PreferredSchedulingTerm { optional int32 weight = 1 [(keep)=true]; optional NodeSelectorTerm preference = 2; }
message Probe {
  optional ProbeHandler handler = 1 [(inline)=true]; optional int32 initialDelaySeconds = 2; optional int32 timeoutSeconds = 3; optional int32 periodSeconds = 4;
  optional int32 successThreshold = 5; optional int32 failureThreshold = 6; optional int64 terminationGracePeriodSeconds = 7 [(ptr)=true];
}
message ProbeHandler { optional ExecAction exec = 1 [(ptr)=true]; optional HTTPGetAction httpGet = 2 [(ptr)=true]; optional TCPSocketAction tcpSocket = 3 [(ptr)=true]; optional GRPCAction grpc = 4 [(ptr)=true]; }
message ProjectedVolumeSource { repeated VolumeProjection sources = 1; optional int32 defaultMode = 2 [(ptr)=true]; }
message ResourceClaim { optional string name = 1 [(keep)=true]; optional string request = 2; }
message ResourceFieldSelector { optional string containerName = 1; optional string resource = 2 [(keep)=true]; optional resource.Quantity divisor = 3; }
message ResourceHealth { optional string resourceID = 1 [(keep)=true]; optional string health = 2; optional string message = 6 [(ptr)=true]; }
message ResourceQuota { optional meta.ObjectMeta metadata = 1; optional ResourceQuotaSpec spec = 2; optional ResourceQuotaStatus status = 3; }
message ResourceQuotaSpec { map<string, resource.Quantity> hard = 1; repeated string scopes = 2; optional ScopeSelector scopeSelector = 3 [(ptr)=true]; }
message ResourceQuotaStatus { map<string, resource.Quantity> hard = 1; map<string, resource.Quantity> used = 2; }
message ResourceRequirements { map<string, resource.Quantity> limits = 1; map<string, resource.Quantity> requests = 2; repeated ResourceClaim claims = 3; }
message ResourceStatus { optional string name = 1 [(keep)=true]; repeated ResourceHealth resources = 2; }
message SELinuxOptions { optional string user = 1; optional string role = 2; optional string type = 3; optional string level = 4; }
message ScopeSelector { repeated ScopedResourceSelectorRequirement matchExpressions = 1; }
message ScopedResourceSelectorRequirement { optional string scopeName = 1 [(keep)=true]; optional string operator = 2 [(keep)=true]; repeated string values = 3; }
message SeccompProfile { optional string type = 1 [(keep)=true]; optional string localhostProfile = 2 [(ptr)=true]; }
message ServiceAccount { optional meta.ObjectMeta metadata = 1; repeated ObjectReference secrets = 2; repeated LocalObjectReference imagePullSecrets = 3; optional bool automountServiceAccountToken = 4 [(ptr)=true]; }
message Secret { optional meta.ObjectMeta metadata = 1; optional bool immutable = 5 [(ptr)=true]; map<string, bytes> data = 2; map<string, string> stringData = 4; optional string type = 3; }
message SecretEnvSource { optional LocalObjectReference localObjectReference = 1 [(inline)=true]; optional bool optional = 2 [(ptr)=true]; }
message SecretKeySelector { optional LocalObjectReference localObjectReference = 1 [(inline)=true]; optional string key = 2 [(keep)=true]; optional bool optional = 3 [(ptr)=true]; }
message SecretProjection { optional LocalObjectReference localObjectReference = 1 [(inline)=true]; repeated KeyToPath items = 2; optional bool optional = 4 [(ptr)=true]; }
message SecretVolumeSource { optional string secretName = 1; repeated KeyToPath items = 2; optional int32 defaultMode = 3 [(ptr)=true]; optional bool optional = 4 [(ptr)=true]; }
message SecurityContext {
  optional Capabilities capabilities = 1 [(ptr)=true]; optional bool privileged = 2 [(ptr)=true]; optional SELinuxOptions seLinuxOptions = 3 [(ptr)=true];
  optional WindowsSecurityContextOptions windowsOptions = 10 [(ptr)=true]; optional int64 runAsUser = 4 [(ptr)=true]; optional int64 runAsGroup = 8 [(ptr)=true];
  optional bool runAsNonRoot = 5 [(ptr)=true]; optional bool readOnlyRootFilesystem = 6 [(ptr)=true]; optional bool allowPrivilegeEscalation = 7 [(ptr)=true];
  optional string procMount = 9 [(ptr)=true]; optional SeccompProfile seccompProfile = 11 [(ptr)=true]; optional AppArmorProfile appArmorProfile = 12 [(ptr)=true];
  repeated Ulimit ulimits = 13;
}
message Service { optional meta.ObjectMeta metadata = 1; optional ServiceSpec spec = 2; optional ServiceStatus status = 3; }
message ServiceAccountTokenProjection { optional string audience = 1; optional int64 expirationSeconds = 2 [(ptr)=true]; optional string path = 3 [(keep)=true]; }
message ServicePort { optional string name = 1; optional string protocol = 2; optional string appProtocol = 6 [(ptr)=true]; optional int32 port = 3 [(keep)=true]; optional intstr.IntOrString targetPort = 4; optional int32 nodePort = 5; }
message ServiceSpec {
  repeated ServicePort ports = 1; map<string, string> selector = 2; optional string clusterIP = 3; repeated string clusterIPs = 18; optional string type = 4;
  repeated string externalIPs = 5; optional string sessionAffinity = 7; optional string loadBalancerIP = 8; repeated string loadBalancerSourceRanges = 9;
  optional string externalName = 10; optional string externalTrafficPolicy = 11; optional int32 healthCheckNodePort = 12; optional bool publishNotReadyAddresses = 13;
  optional SessionAffinityConfig sessionAffinityConfig = 14 [(ptr)=true]; repeated string ipFamilies = 19; optional string ipFamilyPolicy = 17 [(ptr)=true];
  optional bool allocateLoadBalancerNodePorts = 20 [(ptr)=true]; optional string loadBalancerClass = 21 [(ptr)=true]; optional string internalTrafficPolicy = 22 [(ptr)=true];
  optional string trafficDistribution = 23 [(ptr)=true];
}
message ServiceStatus { optional LoadBalancerStatus loadBalancer = 1; repeated meta.Condition conditions = 2; }
message SessionAffinityConfig { optional ClientIPConfig clientIP = 1 [(ptr)=true]; }
message SleepAction { optional int64 seconds = 1 [(keep)=true]; }
message Sysctl { optional string name = 1 [(keep)=true]; optional string value = 2 [(keep)=true]; }
message TCPSocketAction { optional intstr.IntOrString port = 1; optional string host = 2; }
message Taint { optional string key = 1 [(keep)=true]; optional string value = 2; optional string effect = 3 [(keep)=true]; optional meta.Time timeAdded = 4 [(ptr)=true]; }
message Toleration { optional string key = 1; optional string operator = 2; optional string value = 3; optional string effect = 4; optional int64 tolerationSeconds = 5 [(ptr)=true]; }
message AppArmorProfile { optional string type = 1 [(keep)=true]; optional string localhostProfile = 2 [(ptr)=true]; }
message TopologySpreadConstraint {
  optional int32 maxSkew = 1 [(keep)=true]; optional string topologyKey = 2 [(keep)=true]; optional string whenUnsatisfiable = 3 [(keep)=true];
  optional meta.LabelSelector labelSelector = 4 [(ptr)=true]; optional int32 minDomains = 5 [(ptr)=true]; optional string nodeAffinityPolicy = 6 [(ptr)=true];
  optional string nodeTaintsPolicy = 7 [(ptr)=true]; repeated string matchLabelKeys = 8;
}
message Ulimit { optional string name = 1 [(keep)=true]; optional int64 hard = 2 [(keep)=true]; optional int64 soft = 3 [(keep)=true]; }
message Volume { optional string name = 1 [(keep)=true]; optional VolumeSource volumeSource = 2 [(inline)=true]; }
message VolumeDevice { optional string name = 1 [(keep)=true]; optional string devicePath = 2 [(keep)=true]; }
message VolumeMount { optional string name = 1 [(keep)=true]; optional bool readOnly = 2; optional string recursiveReadOnly = 7 [(ptr)=true]; optional string mountPath = 3 [(keep)=true]; optional string subPath = 4; optional string mountPropagation = 5 [(ptr)=true]; optional string subPathExpr = 6; }
message VolumeMountStatus { optional string name = 1 [(keep)=true]; optional string mountPath = 2 [(keep)=true]; optional bool readOnly = 3; optional string recursiveReadOnly = 4 [(ptr)=true]; }
message VolumeProjection { optional SecretProjection secret = 1 [(ptr)=true]; optional DownwardAPIProjection downwardAPI = 2 [(ptr)=true]; optional ConfigMapProjection configMap = 3 [(ptr)=true]; optional ServiceAccountTokenProjection serviceAccountToken = 4 [(ptr)=true]; }
message VolumeSource {
  optional HostPathVolumeSource hostPath = 1 [(ptr)=true]; optional EmptyDirVolumeSource emptyDir = 2 [(ptr)=true]; optional SecretVolumeSource secret = 6 [(ptr)=true];
  optional NFSVolumeSource nfs = 7 [(ptr)=true]; optional PersistentVolumeClaimVolumeSource persistentVolumeClaim = 10 [(ptr)=true];
  optional DownwardAPIVolumeSource downwardAPI = 16 [(ptr)=true]; optional ConfigMapVolumeSource configMap = 19 [(ptr)=true];
  optional ProjectedVolumeSource projected = 26 [(ptr)=true]; optional CSIVolumeSource csi = 28 [(ptr)=true]; optional ImageVolumeSource image = 30 [(ptr)=true];
}
message CSIVolumeSource { optional string driver = 1 [(keep)=true]; optional bool readOnly = 2 [(ptr)=true]; optional string fsType = 3 [(ptr)=true]; map<string, string> volumeAttributes = 4; optional LocalObjectReference nodePublishSecretRef = 5 [(ptr)=true]; }
message WeightedPodAffinityTerm { optional int32 weight = 1 [(keep)=true]; optional PodAffinityTerm podAffinityTerm = 2; }
message WindowsSecurityContextOptions { optional string gmsaCredentialSpecName = 1 [(ptr)=true]; optional string gmsaCredentialSpec = 2 [(ptr)=true]; optional string runAsUserName = 3 [(ptr)=true]; optional bool hostProcess = 4 [(ptr)=true]; }
`;
