/**
 * Field numbers of Kubernetes' protobuf messages (k8s.io/api generated.proto) for the kinds Nubis serves,
 * written for Nubis' protobuf codec. Options on fields say how a value maps to JSON as Go's encoder
 * writes it: `(ptr)` a Go pointer (a zero value sent is meaningful and kept), `(keep)` a value Go
 * always writes (no omitempty), `(inline)` an embedded struct whose fields belong to the parent.
 * Fields absent here are refused by the decoder rather than dropped.
 */

/** apps/v1 Deployment, ReplicaSet, DaemonSet and batch/v1 Job. */
export const WORKLOADS_PROTO = `syntax = "proto2";
package k8s.apps;
message DaemonSet { optional meta.ObjectMeta metadata = 1; optional DaemonSetSpec spec = 2; optional DaemonSetStatus status = 3; }
message DaemonSetCondition { optional string type = 1; optional string status = 2; optional meta.Time lastTransitionTime = 3; optional string reason = 4; optional string message = 5; }
message DaemonSetSpec { optional meta.LabelSelector selector = 1 [(ptr)=true]; optional core.PodTemplateSpec template = 2; optional DaemonSetUpdateStrategy updateStrategy = 3; optional int32 minReadySeconds = 4; optional int32 revisionHistoryLimit = 6 [(ptr)=true]; }
message DaemonSetStatus {
  optional int32 currentNumberScheduled = 1 [(keep)=true]; optional int32 numberMisscheduled = 2 [(keep)=true]; optional int32 desiredNumberScheduled = 3 [(keep)=true];
  optional int32 numberReady = 4 [(keep)=true]; optional int64 observedGeneration = 5; optional int32 updatedNumberScheduled = 6; optional int32 numberAvailable = 7;
  optional int32 numberUnavailable = 8; optional int32 collisionCount = 9 [(ptr)=true]; repeated DaemonSetCondition conditions = 10;
}
message DaemonSetUpdateStrategy { optional string type = 1; optional RollingUpdateDaemonSet rollingUpdate = 2 [(ptr)=true]; }
message Deployment { optional meta.ObjectMeta metadata = 1; optional DeploymentSpec spec = 2; optional DeploymentStatus status = 3; }
message DeploymentCondition { optional string type = 1; optional string status = 2; optional meta.Time lastUpdateTime = 6; optional meta.Time lastTransitionTime = 7; optional string reason = 4; optional string message = 5; }
message DeploymentSpec {
  optional int32 replicas = 1 [(ptr)=true]; optional meta.LabelSelector selector = 2 [(ptr)=true]; optional core.PodTemplateSpec template = 3; optional DeploymentStrategy strategy = 4;
  optional int32 minReadySeconds = 5; optional int32 revisionHistoryLimit = 6 [(ptr)=true]; optional bool paused = 7; optional int32 progressDeadlineSeconds = 9 [(ptr)=true];
  optional string podReplacementPolicy = 10 [(ptr)=true];
}
message DeploymentStatus {
  optional int64 observedGeneration = 1; optional int32 replicas = 2; optional int32 updatedReplicas = 3; optional int32 readyReplicas = 7; optional int32 availableReplicas = 4;
  optional int32 unavailableReplicas = 5; optional int32 terminatingReplicas = 9 [(ptr)=true]; repeated DeploymentCondition conditions = 6; optional int32 collisionCount = 8 [(ptr)=true];
}
message DeploymentStrategy { optional string type = 1; optional RollingUpdateDeployment rollingUpdate = 2 [(ptr)=true]; }
message ReplicaSet { optional meta.ObjectMeta metadata = 1; optional ReplicaSetSpec spec = 2; optional ReplicaSetStatus status = 3; }
message ReplicaSetCondition { optional string type = 1; optional string status = 2; optional meta.Time lastTransitionTime = 3; optional string reason = 4; optional string message = 5; }
message ReplicaSetSpec { optional int32 replicas = 1 [(ptr)=true]; optional int32 minReadySeconds = 4; optional meta.LabelSelector selector = 2 [(ptr)=true]; optional core.PodTemplateSpec template = 3; }
message ReplicaSetStatus {
  optional int32 replicas = 1 [(keep)=true]; optional int32 fullyLabeledReplicas = 2; optional int32 readyReplicas = 4; optional int32 availableReplicas = 5;
  optional int32 terminatingReplicas = 7 [(ptr)=true]; optional int64 observedGeneration = 3; repeated ReplicaSetCondition conditions = 6;
}
message RollingUpdateDaemonSet { optional intstr.IntOrString maxUnavailable = 1 [(ptr)=true]; optional intstr.IntOrString maxSurge = 2 [(ptr)=true]; }
message RollingUpdateDeployment { optional intstr.IntOrString maxUnavailable = 1 [(ptr)=true]; optional intstr.IntOrString maxSurge = 2 [(ptr)=true]; }
`;

export const BATCH_PROTO = `syntax = "proto2";
package k8s.batch;
message Job { optional meta.ObjectMeta metadata = 1; optional JobSpec spec = 2; optional JobStatus status = 3; }
message JobCondition { optional string type = 1; optional string status = 2; optional meta.Time lastProbeTime = 3; optional meta.Time lastTransitionTime = 4; optional string reason = 5; optional string message = 6; }
message JobSpec {
  optional int32 parallelism = 1 [(ptr)=true]; optional int32 completions = 2 [(ptr)=true]; optional int64 activeDeadlineSeconds = 3 [(ptr)=true];
  optional PodFailurePolicy podFailurePolicy = 11 [(ptr)=true]; optional SuccessPolicy successPolicy = 16 [(ptr)=true]; optional int32 backoffLimit = 7 [(ptr)=true];
  optional int32 backoffLimitPerIndex = 12 [(ptr)=true]; optional int32 maxFailedIndexes = 13 [(ptr)=true]; optional meta.LabelSelector selector = 4 [(ptr)=true];
  optional bool manualSelector = 5 [(ptr)=true]; optional core.PodTemplateSpec template = 6; optional int32 ttlSecondsAfterFinished = 8 [(ptr)=true];
  optional string completionMode = 9 [(ptr)=true]; optional bool suspend = 10 [(ptr)=true]; optional string podReplacementPolicy = 14 [(ptr)=true]; optional string managedBy = 15 [(ptr)=true];
}
message JobStatus {
  repeated JobCondition conditions = 1; optional meta.Time startTime = 2 [(ptr)=true]; optional meta.Time completionTime = 3 [(ptr)=true]; optional int32 active = 4;
  optional int32 succeeded = 5; optional int32 failed = 6; optional int32 terminating = 11 [(ptr)=true]; optional string completedIndexes = 7; optional string failedIndexes = 10 [(ptr)=true];
  optional UncountedTerminatedPods uncountedTerminatedPods = 8 [(ptr)=true]; optional int32 ready = 9 [(ptr)=true];
}
message PodFailurePolicy { repeated PodFailurePolicyRule rules = 1; }
message PodFailurePolicyRule { optional string action = 1 [(keep)=true]; optional PodFailurePolicyOnExitCodesRequirement onExitCodes = 2 [(ptr)=true]; repeated PodFailurePolicyOnPodConditionsPattern onPodConditions = 3; }
message PodFailurePolicyOnExitCodesRequirement { optional string containerName = 1 [(ptr)=true]; optional string operator = 2 [(keep)=true]; repeated int32 values = 3; }
message PodFailurePolicyOnPodConditionsPattern { optional string type = 1 [(keep)=true]; optional string status = 2; }
message SuccessPolicy { repeated SuccessPolicyRule rules = 1; }
message SuccessPolicyRule { optional string succeededIndexes = 1 [(ptr)=true]; optional int32 succeededCount = 2 [(ptr)=true]; }
message UncountedTerminatedPods { repeated string succeeded = 1; repeated string failed = 2; }
`;

/** rbac.authorization.k8s.io/v1 roles and bindings. */
export const RBAC_PROTO = `syntax = "proto2";
package k8s.rbac;
message AggregationRule { repeated meta.LabelSelector clusterRoleSelectors = 1; }
message ClusterRole { optional meta.ObjectMeta metadata = 1; repeated PolicyRule rules = 2; optional AggregationRule aggregationRule = 3 [(ptr)=true]; }
message ClusterRoleBinding { optional meta.ObjectMeta metadata = 1; repeated Subject subjects = 2; optional RoleRef roleRef = 3 [(keep)=true]; }
message PolicyRule { repeated string verbs = 1 [(keep)=true]; repeated string apiGroups = 2; repeated string resources = 3; repeated string resourceNames = 4; repeated string nonResourceURLs = 5; }
message Role { optional meta.ObjectMeta metadata = 1; repeated PolicyRule rules = 2; }
message RoleBinding { optional meta.ObjectMeta metadata = 1; repeated Subject subjects = 2; optional RoleRef roleRef = 3 [(keep)=true]; }
message RoleRef { optional string apiGroup = 1 [(keep)=true]; optional string kind = 2 [(keep)=true]; optional string name = 3 [(keep)=true]; }
message Subject { optional string kind = 1 [(keep)=true]; optional string apiGroup = 2; optional string name = 3 [(keep)=true]; optional string namespace = 4; }
`;

/** authorization.k8s.io/v1 and authentication.k8s.io/v1 reviews (the extra map is not decoded). */
export const REVIEWS_PROTO = `syntax = "proto2";
package k8s.authorization;
message NonResourceAttributes { optional string path = 1; optional string verb = 2; }
message ResourceAttributes { optional string namespace = 1; optional string verb = 2; optional string group = 3; optional string version = 4; optional string resource = 5; optional string subresource = 6; optional string name = 7; }
message SelfSubjectAccessReview { optional meta.ObjectMeta metadata = 1; optional SelfSubjectAccessReviewSpec spec = 2; optional SubjectAccessReviewStatus status = 3; }
message SelfSubjectAccessReviewSpec { optional ResourceAttributes resourceAttributes = 1 [(ptr)=true]; optional NonResourceAttributes nonResourceAttributes = 2 [(ptr)=true]; }
message SelfSubjectRulesReview { optional meta.ObjectMeta metadata = 1; optional SelfSubjectRulesReviewSpec spec = 2; optional SubjectRulesReviewStatus status = 3; }
message SubjectRulesReviewStatus { repeated ResourceRule resourceRules = 1; repeated NonResourceRule nonResourceRules = 2; optional bool incomplete = 3; optional string evaluationError = 4; }
message ResourceRule { repeated string verbs = 1; repeated string apiGroups = 2; repeated string resources = 3; repeated string resourceNames = 4; }
message NonResourceRule { repeated string verbs = 1; repeated string nonResourceURLs = 2; }
message SelfSubjectRulesReviewSpec { optional string namespace = 1; }
message SubjectAccessReview { optional meta.ObjectMeta metadata = 1; optional SubjectAccessReviewSpec spec = 2; optional SubjectAccessReviewStatus status = 3; }
message LocalSubjectAccessReview { optional meta.ObjectMeta metadata = 1; optional SubjectAccessReviewSpec spec = 2; optional SubjectAccessReviewStatus status = 3; }
message SubjectAccessReviewSpec { optional ResourceAttributes resourceAttributes = 1 [(ptr)=true]; optional NonResourceAttributes nonResourceAttributes = 2 [(ptr)=true]; optional string user = 3; repeated string groups = 4; optional string uid = 6; }
message SubjectAccessReviewStatus { optional bool allowed = 1 [(keep)=true]; optional bool denied = 4; optional string reason = 2; optional string evaluationError = 3; }
`;

export const AUTHENTICATION_PROTO = `syntax = "proto2";
package k8s.authentication;
message SelfSubjectReview { optional meta.ObjectMeta metadata = 1; optional SelfSubjectReviewStatus status = 2; }
message SelfSubjectReviewStatus { optional UserInfo userInfo = 1; }
message UserInfo { optional string username = 1; optional string uid = 2; repeated string groups = 3; }
message TokenRequest { optional meta.ObjectMeta metadata = 1; optional TokenRequestSpec spec = 2; optional TokenRequestStatus status = 3; }
message TokenRequestSpec { repeated string audiences = 1; optional int64 expirationSeconds = 4 [(ptr)=true]; optional BoundObjectReference boundObjectRef = 3 [(ptr)=true]; }
message BoundObjectReference { optional string kind = 1; optional string apiVersion = 2; optional string name = 3; optional string uid = 4; }
message TokenRequestStatus { optional string token = 1; optional meta.Time expirationTimestamp = 2; }
`;

/** certificates.k8s.io/v1 CertificateSigningRequest (the extra map is not decoded). */
export const CERTIFICATES_PROTO = `syntax = "proto2";
package k8s.certificates;
message CertificateSigningRequest { optional meta.ObjectMeta metadata = 1; optional CertificateSigningRequestSpec spec = 2; optional CertificateSigningRequestStatus status = 3; }
message CertificateSigningRequestSpec {
  optional bytes request = 1 [(keep)=true]; optional string signerName = 7 [(keep)=true]; optional int32 expirationSeconds = 8 [(ptr)=true]; repeated string usages = 5;
  optional string username = 2; optional string uid = 3; repeated string groups = 4;
}
message CertificateSigningRequestStatus { repeated CertificateSigningRequestCondition conditions = 1; optional bytes certificate = 2; }
message CertificateSigningRequestCondition { optional string type = 1; optional string status = 6; optional string reason = 2; optional string message = 3; optional meta.Time lastUpdateTime = 4; optional meta.Time lastTransitionTime = 5; }
`;
