import { defineType, field, STANDARD_VERBS } from '../../define.js';
import type { KubeObject } from '../../meta.js';
import { kindSchema } from '../../meta-schema.js';
import type { FieldError, ResourceType } from '../../resource-type.js';
import { age, column, nameColumn, ageColumn, since, wide } from '../../table.js';
import { deepEqual, fieldErr } from '../../validation.js';
import { defaultPodOnly, defaultPodSpec, qosClass } from './pod-defaults.js';
import { podSpecSchema, podStatusSchema } from './pod-schema.js';
import type { Pod, PodSpec, PodStatus } from './pod-types.js';
import { validatePodSpec } from './pod-validation.js';

const MUTABLE_MESSAGE =
  'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)';

/**
 * Kubernetes' ValidatePodUpdate: only images, activeDeadlineSeconds, added tolerations and removed
 * scheduling gates may change. The binding and ephemeralcontainers subresources write spec.nodeName
 * and spec.ephemeralContainers themselves and must not run this check.
 */
export function validatePodSpecUpdate(spec: PodSpec, old: PodSpec): FieldError[] {
  const errors: FieldError[] = [];
  const merged: PodSpec = structuredClone(old);
  const copyImages = (to: PodSpec['containers'] | undefined, from: PodSpec['containers'] | undefined) => {
    if (!to || !from || to.length !== from.length) return;
    to.forEach((c, i) => (c.image = from[i]!.image));
  };
  copyImages(merged.containers, spec.containers);
  copyImages(merged.initContainers, spec.initContainers);
  merged.activeDeadlineSeconds = spec.activeDeadlineSeconds;
  const oldTolerations = old.tolerations ?? [];
  const newTolerations = spec.tolerations ?? [];
  if (oldTolerations.every((t) => newTolerations.some((n) => deepEqual(n, t)))) merged.tolerations = spec.tolerations;
  const gates = spec.schedulingGates ?? [];
  if (gates.every((g) => (old.schedulingGates ?? []).some((o) => o.name === g.name))) merged.schedulingGates = spec.schedulingGates;
  if (old.activeDeadlineSeconds !== undefined && (spec.activeDeadlineSeconds === undefined || spec.activeDeadlineSeconds > old.activeDeadlineSeconds)) {
    errors.push(fieldErr.invalid('spec.activeDeadlineSeconds', spec.activeDeadlineSeconds ?? null, 'must be less than or equal to previous value'));
  }
  if (!deepEqual(stripEmpty(merged), stripEmpty(spec))) errors.push(fieldErr.forbidden('spec', MUTABLE_MESSAGE));
  return errors;
}

function stripEmpty(spec: PodSpec): PodSpec {
  const out = { ...spec };
  if (out.schedulingGates?.length === 0) delete out.schedulingGates;
  return out;
}

/** The STATUS column of `kubectl get pods`, computed as kubectl's printer does. */
export function podStatusReason(pod: Pod): string {
  const status: PodStatus = pod.status ?? {};
  let reason: string = status.reason || status.phase || '';
  const scheduled = status.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'SchedulingGated') reason = 'SchedulingGated';
  let initializing = false;
  const inits = pod.spec?.initContainers ?? [];
  for (const [i, cs] of (status.initContainerStatuses ?? []).entries()) {
    const sidecar = inits.find((c) => c.name === cs.name)?.restartPolicy === 'Always';
    const t = cs.state?.terminated;
    const w = cs.state?.waiting;
    if (t && t.exitCode === 0) continue;
    if (sidecar && cs.started) continue;
    initializing = true;
    if (t) reason = t.reason ? `Init:${t.reason}` : t.signal ? `Init:Signal:${t.signal}` : `Init:ExitCode:${t.exitCode}`;
    else if (w?.reason && w.reason !== 'PodInitializing') reason = `Init:${w.reason}`;
    else reason = `Init:${i}/${inits.length}`;
    break;
  }
  const initialized = status.conditions?.some((c) => c.type === 'Initialized' && c.status === 'True') ?? false;
  if (!initializing || initialized) {
    let hasRunning = false;
    const statuses = status.containerStatuses ?? [];
    for (let i = statuses.length - 1; i >= 0; i--) {
      const cs = statuses[i]!;
      const t = cs.state?.terminated;
      if (cs.state?.waiting?.reason) reason = cs.state.waiting.reason;
      else if (t?.reason) reason = t.reason;
      else if (t) reason = t.signal ? `Signal:${t.signal}` : `ExitCode:${t.exitCode}`;
      else if (cs.ready && cs.state?.running) hasRunning = true;
    }
    if (reason === 'Completed' && hasRunning) {
      reason = status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? 'Running' : 'NotReady';
    }
  }
  if (pod.metadata.deletionTimestamp) reason = status.reason === 'NodeLost' ? 'Unknown' : 'Terminating';
  return reason;
}

function podCells(obj: KubeObject, now = Date.now()): unknown[] {
  const pod = obj as Pod;
  const status = pod.status ?? {};
  const specContainers = pod.spec?.containers ?? [];
  const sidecars = (pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always').map((c) => c.name);
  let ready = 0;
  let restarts = 0;
  let lastRestart: string | undefined;
  const count = (cs: NonNullable<PodStatus['containerStatuses']>[number]) => {
    restarts += cs.restartCount ?? 0;
    const finished = cs.lastState?.terminated?.finishedAt;
    if (finished && (!lastRestart || finished > lastRestart)) lastRestart = finished;
    if (cs.ready && (cs.state?.running || sidecars.includes(cs.name))) ready++;
  };
  for (const cs of status.initContainerStatuses ?? []) if (sidecars.includes(cs.name)) count(cs);
  for (const cs of status.containerStatuses ?? []) count(cs);
  const total = specContainers.length + sidecars.length;
  const restartCell = lastRestart ? `${restarts} (${since(lastRestart, now)} ago)` : String(restarts);
  const gates = pod.spec?.readinessGates as Array<{ conditionType: string }> | undefined;
  const gatesCell = gates?.length
    ? `${gates.filter((g) => status.conditions?.some((c) => c.type === g.conditionType && c.status === 'True')).length}/${gates.length}`
    : '<none>';
  return [
    pod.metadata.name,
    `${ready}/${total}`,
    podStatusReason(pod),
    restartCell,
    age(pod, now),
    status.podIP || '<none>',
    pod.spec?.nodeName || '<none>',
    status.nominatedNodeName || '<none>',
    gatesCell,
  ];
}

export function podType(): ResourceType {
  return defineType({
    group: '',
    version: 'v1',
    kind: 'Pod',
    resource: 'pods',
    singular: 'pod',
    namespaced: true,
    shortNames: ['po'],
    categories: ['all'],
    verbs: STANDARD_VERBS,
    subresources: ['status', 'binding', 'log', 'exec', 'eviction', 'attach', 'portforward', 'ephemeralcontainers'],
    hasStatus: true,
    schema: kindSchema('Pod is a collection of containers that can run on a host.', { spec: podSpecSchema, status: podStatusSchema }),
    defaults(obj) {
      const pod = obj as Pod;
      if (!pod.spec || typeof pod.spec !== 'object') return;
      defaultPodSpec(pod.spec);
      defaultPodOnly(pod.spec);
      const status = (pod.status ??= {});
      status.phase ??= 'Pending';
      status.qosClass ??= qosClass(pod.spec);
    },
    // Pods bound to a node and not finished stop first: their agent removes them once the containers
    // stopped (the kubelet's contract); others go at once.
    gracefulDeletion(obj, requestedSeconds) {
      const pod = obj as Pod;
      const phase = pod.status?.phase;
      if (!pod.spec?.nodeName || phase === 'Succeeded' || phase === 'Failed') return 0;
      return Math.max(0, requestedSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30);
    },
    validateSpec(obj, old) {
      const errors = validatePodSpec((obj as Pod).spec, 'spec');
      if (old && errors.length === 0) errors.push(...validatePodSpecUpdate((obj as Pod).spec, (old as Pod).spec));
      return errors;
    },
    table: {
      columns: [
        nameColumn(),
        column('Ready', 'The aggregate readiness state of this pod for accepting traffic.'),
        column('Status', 'The aggregate status of the containers in this pod.'),
        column('Restarts', 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.'),
        ageColumn(),
        wide('IP', 'IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.'),
        wide('Node', 'NodeName is a request to schedule this pod onto a specific node.'),
        wide('Nominated Node', 'nominatedNodeName is set when this pod preempts other pods on the node.'),
        wide('Readiness Gates', 'If specified, all readiness gates will be evaluated for pod readiness.'),
      ],
      cells: podCells,
    },
    fields: {
      'spec.nodeName': field('spec.nodeName'),
      'spec.restartPolicy': field('spec.restartPolicy'),
      'spec.schedulerName': field('spec.schedulerName'),
      'spec.serviceAccountName': field('spec.serviceAccountName'),
      'spec.hostNetwork': field('spec.hostNetwork', 'false'),
      'status.phase': field('status.phase'),
      'status.podIP': field('status.podIP'),
      'status.nominatedNodeName': field('status.nominatedNodeName'),
    },
  });
}
