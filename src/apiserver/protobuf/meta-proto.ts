/**
 * Field numbers of Kubernetes' protobuf messages (k8s.io/api generated.proto) for the kinds Nubis serves,
 * written for Nubis' protobuf codec. Options on fields say how a value maps to JSON as Go's encoder
 * writes it: `(ptr)` a Go pointer (a zero value sent is meaningful and kept), `(keep)` a value Go
 * always writes (no omitempty), `(inline)` an embedded struct whose fields belong to the parent.
 * Fields absent here are refused by the decoder rather than dropped.
 */

/** meta/v1, runtime, intstr and resource (the building blocks), coordination/v1, node/v1, policy/v1 and autoscaling/v1. */
export const SMALL_PROTOS: string[] = [
  `syntax = "proto2";
package k8s.meta;
message Time { optional int64 seconds = 1; optional int32 nanos = 2; }
message MicroTime { optional int64 seconds = 1; optional int32 nanos = 2; }
message FieldsV1 { optional bytes Raw = 1; }
message ObjectMeta {
  optional string name = 1; optional string generateName = 2; optional string namespace = 3; optional string selfLink = 4; optional string uid = 5;
  optional string resourceVersion = 6; optional int64 generation = 7; optional Time creationTimestamp = 8; optional Time deletionTimestamp = 9 [(ptr)=true];
  optional int64 deletionGracePeriodSeconds = 10 [(ptr)=true]; map<string, string> labels = 11; map<string, string> annotations = 12;
  repeated OwnerReference ownerReferences = 13; repeated string finalizers = 14; repeated ManagedFieldsEntry managedFields = 17;
}
message OwnerReference { optional string apiVersion = 5 [(keep)=true]; optional string kind = 1 [(keep)=true]; optional string name = 3 [(keep)=true]; optional string uid = 4 [(keep)=true]; optional bool controller = 6 [(ptr)=true]; optional bool blockOwnerDeletion = 7 [(ptr)=true]; }
message ManagedFieldsEntry { optional string manager = 1; optional string operation = 2; optional string apiVersion = 3; optional Time time = 4 [(ptr)=true]; optional string fieldsType = 6; optional FieldsV1 fieldsV1 = 7 [(ptr)=true]; optional string subresource = 8; }
message LabelSelector { map<string, string> matchLabels = 1; repeated LabelSelectorRequirement matchExpressions = 2; }
message LabelSelectorRequirement { optional string key = 1 [(keep)=true]; optional string operator = 2 [(keep)=true]; repeated string values = 3; }
message Condition { optional string type = 1 [(keep)=true]; optional string status = 2 [(keep)=true]; optional int64 observedGeneration = 3; optional Time lastTransitionTime = 4 [(keep)=true]; optional string reason = 5 [(keep)=true]; optional string message = 6 [(keep)=true]; }
message Preconditions { optional string uid = 1 [(ptr)=true]; optional string resourceVersion = 2 [(ptr)=true]; }
message DeleteOptions {
  optional int64 gracePeriodSeconds = 1 [(ptr)=true]; optional Preconditions preconditions = 2 [(ptr)=true]; optional bool orphanDependents = 3 [(ptr)=true];
  optional string propagationPolicy = 4 [(ptr)=true]; repeated string dryRun = 5; optional bool ignoreStoreReadErrorWithClusterBreakingPotential = 6 [(ptr)=true];
}
`,
  `syntax = "proto2";
package k8s.runtime;
message TypeMeta { optional string apiVersion = 1; optional string kind = 2; }
message Unknown { optional TypeMeta typeMeta = 1; optional bytes raw = 2; optional string contentEncoding = 3; optional string contentType = 4; }
`,
  `syntax = "proto2";
package k8s.intstr;
message IntOrString { optional int64 type = 1; optional int32 intVal = 2; optional string strVal = 3; }
`,
  `syntax = "proto2";
package k8s.resource;
message Quantity { optional string string = 1; }
`,
  `syntax = "proto2";
package k8s.coordination;
message Lease { optional meta.ObjectMeta metadata = 1; optional LeaseSpec spec = 2; }
message LeaseSpec {
  optional string holderIdentity = 1 [(ptr)=true]; optional int32 leaseDurationSeconds = 2 [(ptr)=true]; optional meta.MicroTime acquireTime = 3 [(ptr)=true];
  optional meta.MicroTime renewTime = 4 [(ptr)=true]; optional int32 leaseTransitions = 5 [(ptr)=true]; optional string strategy = 6 [(ptr)=true]; optional string preferredHolder = 7 [(ptr)=true];
}
`,
  `syntax = "proto2";
package k8s.node;
message RuntimeClass { optional meta.ObjectMeta metadata = 1; optional string handler = 2 [(keep)=true]; optional Overhead overhead = 3 [(ptr)=true]; optional Scheduling scheduling = 4 [(ptr)=true]; }
message Overhead { map<string, resource.Quantity> podFixed = 1; }
message Scheduling { map<string, string> nodeSelector = 1; repeated core.Toleration tolerations = 2; }
`,
  `syntax = "proto2";
package k8s.policy;
message Eviction { optional meta.ObjectMeta metadata = 1; optional meta.DeleteOptions deleteOptions = 2 [(ptr)=true]; }
`,
  `syntax = "proto2";
package k8s.autoscaling;
message Scale { optional meta.ObjectMeta metadata = 1; optional ScaleSpec spec = 2; optional ScaleStatus status = 3; }
message ScaleSpec { optional int32 replicas = 1; }
message ScaleStatus { optional int32 replicas = 1 [(keep)=true]; optional string selector = 2; }
`,
];
