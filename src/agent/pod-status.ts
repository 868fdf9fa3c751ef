/**
 * A pod's status computed from what the agent sees (the kubelet's generateAPIPodStatus and getPhase):
 * container states from the runs of each container, restart counts, readiness from probes, the phase,
 * and the conditions PodReadyToStartContainers, Initialized, ContainersReady, Ready and PodScheduled,
 * keeping each condition's lastTransitionTime while its status stays the same. Pure: no I/O.
 */
import type { ContainerState, ContainerStatus, Pod, PodCondition, PodStatus } from '../api/core/v1/pod-types.js';
import type { WorkloadState } from '../runtime/driver.js';

/** One run (one container instance) of a pod's container. */
export interface ContainerRun {
  id: string;
  restartCount: number;
  imageID: string;
  state: WorkloadState;
}

/** What the agent knows about one container of the pod. */
export interface ContainerView {
  name: string;
  image: string;
  /** The latest run. */
  current?: ContainerRun;
  /** The run before it (kept for `logs --previous` and lastState). */
  previous?: ContainerRun;
  /** Why the container is not running now, when the agent knows (back-off, pull errors, config errors). */
  waiting?: { reason: string; message?: string };
  /** Readiness probe result (true without a readiness probe). */
  ready: boolean;
  /** Startup probe passed (true without a startup probe). */
  started: boolean;
}

export interface PodStatusInput {
  pod: Pod;
  init: ContainerView[];
  containers: ContainerView[];
  sandboxReady: boolean;
  hostIP: string;
  podIP?: string;
  /** When the agent first took the pod on (RFC 3339). */
  startTime: string;
  now: Date;
}

const iso = (d: Date | undefined) => (d ? d.toISOString().replace(/\.\d+Z$/, 'Z') : undefined);

/** The terminated state of an exited run. */
export function terminatedState(run: ContainerRun): ContainerState {
  const code = run.state.exitCode ?? -1;
  return {
    terminated: {
      exitCode: code,
      reason: run.state.oomKilled ? 'OOMKilled' : code === 0 ? 'Completed' : 'Error',
      startedAt: iso(run.state.startedAt),
      finishedAt: iso(run.state.finishedAt),
      containerID: `nubis://${run.id}`,
    },
  };
}

const exited = (run: ContainerRun | undefined): run is ContainerRun => run?.state.status === 'exited';

/** The status of one container. `defaultWaiting` is the reason shown when nothing has run yet. */
export function containerStatus(v: ContainerView, defaultWaiting: string): ContainerStatus {
  const cur = v.current;
  let state: ContainerState;
  let lastState: ContainerState = {};
  if (v.waiting) {
    state = { waiting: { reason: v.waiting.reason, ...(v.waiting.message ? { message: v.waiting.message } : {}) } };
    if (exited(cur)) lastState = terminatedState(cur);
    else if (exited(v.previous)) lastState = terminatedState(v.previous);
  } else if (cur && (cur.state.status === 'running' || cur.state.status === 'paused')) {
    state = { running: { startedAt: iso(cur.state.startedAt) } };
    if (exited(v.previous)) lastState = terminatedState(v.previous);
  } else if (exited(cur)) {
    state = terminatedState(cur);
    if (exited(v.previous)) lastState = terminatedState(v.previous);
  } else {
    state = { waiting: { reason: defaultWaiting } };
    if (exited(v.previous)) lastState = terminatedState(v.previous);
  }
  const running = state.running !== undefined;
  return {
    name: v.name,
    state,
    lastState,
    ready: running && v.ready && v.started,
    restartCount: cur?.restartCount ?? 0,
    image: v.image,
    imageID: cur?.imageID ?? '',
    ...(cur ? { containerID: `nubis://${cur.id}` } : {}),
    started: running && v.started,
  };
}

/** Init containers all completed with exit code 0 (sidecars: started). */
export function initDone(pod: Pod, init: ContainerView[]): boolean {
  return init.every((v) => {
    const sidecar = pod.spec.initContainers?.find((c) => c.name === v.name)?.restartPolicy === 'Always';
    if (sidecar) return v.current?.state.status === 'running' && v.started;
    return exited(v.current) && v.current.state.exitCode === 0 && !v.waiting;
  });
}

/** An init container failed and will not be retried (restartPolicy Never). */
export function initFailed(pod: Pod, init: ContainerView[]): boolean {
  if (pod.spec.restartPolicy !== 'Never') return false;
  return init.some((v) => exited(v.current) && v.current.state.exitCode !== 0);
}

/** The kubelet's getPhase. */
export function podPhase(pod: Pod, init: ContainerView[], statuses: ContainerStatus[]): NonNullable<PodStatus['phase']> {
  if (initFailed(pod, init)) return 'Failed';
  if (!initDone(pod, init)) return 'Pending';
  let waiting = 0;
  let running = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const s of statuses) {
    if (s.state?.running) running++;
    else if (s.state?.terminated) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.state?.waiting) {
      if (s.lastState?.terminated) stopped++;
      else waiting++;
    }
  }
  const policy = pod.spec.restartPolicy ?? 'Always';
  if (waiting > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (stopped > 0) {
    if (policy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (policy === 'Never') return 'Failed';
    return 'Running';
  }
  return 'Pending';
}

function condition(type: string, ok: boolean, old: PodCondition[] | undefined, now: string, reason?: string, message?: string): PodCondition {
  const status = ok ? 'True' : 'False';
  const prev = old?.find((c) => c.type === type);
  return {
    type,
    status,
    lastProbeTime: null,
    lastTransitionTime: prev && prev.status === status && prev.lastTransitionTime ? prev.lastTransitionTime : now,
    ...(!ok && reason ? { reason } : {}),
    ...(!ok && message ? { message } : {}),
  };
}

/** The whole status the agent reports for a pod. */
export function computePodStatus(input: PodStatusInput): PodStatus {
  const { pod, init, containers } = input;
  const now = iso(input.now)!;
  const initialized = initDone(pod, init);
  const initStatuses = init.map((v) => containerStatus(v, 'PodInitializing'));
  const statuses = containers.map((v) => containerStatus(v, initialized ? 'ContainerCreating' : 'PodInitializing'));
  const old = pod.status?.conditions;
  let phase = podPhase(pod, init, statuses);
  // A terminal phase never changes back (the kubelet keeps it once reported).
  const oldPhase = pod.status?.phase;
  if (oldPhase === 'Succeeded' || oldPhase === 'Failed') phase = oldPhase;
  const notReady = statuses.filter((s) => !s.ready).map((s) => s.name);
  const terminal = phase === 'Succeeded' || phase === 'Failed';
  const containersReady = notReady.length === 0 && !terminal;
  const readyReason = terminal ? 'PodCompleted' : 'ContainersNotReady';
  const readyMessage = terminal ? undefined : `containers with unready status: [${notReady.join(' ')}]`;
  const pendingInit = init.filter((v) => !(exited(v.current) && v.current.state.exitCode === 0)).map((v) => v.name);
  const conditions: PodCondition[] = [
    condition('PodReadyToStartContainers', input.sandboxReady, old, now),
    condition('Initialized', initialized, old, now, terminal && !initialized ? 'PodCompleted' : 'ContainersNotInitialized', `containers with incomplete status: [${pendingInit.join(' ')}]`),
    condition('Ready', containersReady, old, now, readyReason, readyMessage),
    condition('ContainersReady', containersReady, old, now, readyReason, readyMessage),
    condition('PodScheduled', true, old, now),
  ];
  const status: PodStatus = {
    phase,
    conditions,
    hostIP: input.hostIP,
    hostIPs: [{ ip: input.hostIP }],
    startTime: input.startTime,
    containerStatuses: statuses,
  };
  if (input.podIP) {
    status.podIP = input.podIP;
    status.podIPs = [{ ip: input.podIP }];
  }
  if (init.length > 0) status.initContainerStatuses = initStatuses;
  if (pod.status?.qosClass) status.qosClass = pod.status.qosClass;
  return status;
}
