import { setImmediate as yieldToEvents } from 'node:timers/promises';
import type { Node } from '../api/core/v1/node.js';
import type { Pod, PodCondition } from '../api/core/v1/pod-types.js';
import type { KubeObject } from '../api/meta.js';
import type { RuntimeClass } from '../api/node/v1/runtime-class.js';
import { deepEqual } from '../api/validation.js';
import { isNubisError, messageOf } from '../lib/errors.js';
import { logger } from '../lib/log.js';
import type { ClusterEvent, Framework } from './framework.js';
import { PodInfo, isTerminal } from './pod-info.js';
import { type QueueOptions, type QueuedPod, SchedulingQueue } from './queue.js';
import { type PluginFactory, type Profile, buildFramework, defaultProfile } from './registry.js';
import { type CycleResult, SchedulingAlgorithm } from './scheduling-cycle.js';
import { ClusterSnapshot } from './snapshot.js';

/** Writes a scheduling decision: the adapter posts a Binding to the pod's binding subresource. */
export interface Binder {
  bind(pod: Pod, nodeName: string): Promise<void>;
}

/** Emits events about pods (reason FailedScheduling / Scheduled). Fire and forget. */
export interface EventRecorder {
  podUnschedulable(pod: Pod, message: string): void;
  podScheduled?(pod: Pod, nodeName: string): void;
}

/** Writes the PodScheduled condition through the pod's status subresource. */
export interface PodStatusUpdater {
  setPodCondition(pod: Pod, condition: PodCondition): Promise<void>;
}

export interface SchedulerOptions {
  binder: Binder;
  recorder: EventRecorder;
  statusUpdater?: PodStatusUpdater;
  profile?: Profile;
  registry?: Map<string, PluginFactory>;
  /** 0 or absent: adaptive (see numFeasibleNodesToFind). */
  percentageOfNodesToScore?: number;
  /** Bindings in flight at once; the next cycles run meanwhile on assumed pods. */
  maxConcurrentBinds?: number;
  queue?: QueueOptions;
  random?: () => number;
}

const log = logger('scheduler');

/**
 * The scheduler: consumes Node, Pod, Namespace and RuntimeClass events, keeps the snapshot and the
 * queue, runs one synchronous scheduling cycle per pod and binds asynchronously (bounded concurrency)
 * while the next cycles proceed with the pod assumed on its node. Transport-free: the client wiring
 * calls the `on*` methods from informers and implements Binder, EventRecorder and PodStatusUpdater.
 */
export class Scheduler {
  readonly snapshot = new ClusterSnapshot();
  readonly queue: SchedulingQueue;
  readonly framework: Framework;
  readonly profile: Profile;
  readonly stats = { attempts: 0, scheduled: 0, bound: 0, unschedulable: 0, bindFailures: 0, errors: 0 };
  private readonly algorithm: SchedulingAlgorithm;
  private readonly maxBinds: number;
  private bindsInFlight = 0;
  private bindWaiters: Array<() => void> = [];

  constructor(private readonly opts: SchedulerOptions) {
    this.profile = opts.profile ?? defaultProfile();
    this.framework = buildFramework(this.profile, { snapshot: this.snapshot }, opts.registry);
    const pluginEvents = new Map(this.framework.plugins.map((p) => [p.name, p.events ? new Set(p.events) : undefined]));
    this.queue = new SchedulingQueue(pluginEvents, opts.queue);
    this.algorithm = new SchedulingAlgorithm(this.framework, this.snapshot, { percentageOfNodesToScore: opts.percentageOfNodesToScore, random: opts.random });
    this.maxBinds = Math.max(1, opts.maxConcurrentBinds ?? 16);
  }

  // ---- events -------------------------------------------------------------------------------------

  onNodeAdd(node: Node): void {
    if (this.snapshot.get(node.metadata.name)?.node) return this.onNodeUpdate(node);
    this.snapshot.setNode(node);
    this.queue.onEvent('NodeAdd');
  }

  onNodeUpdate(node: Node): void {
    const old = this.snapshot.get(node.metadata.name)?.node;
    this.snapshot.setNode(node);
    if (!old) return void this.queue.onEvent('NodeAdd');
    for (const e of nodeChanges(old, node)) this.queue.onEvent(e);
  }

  onNodeDelete(node: Node): void {
    this.snapshot.removeNode(node.metadata.name);
  }

  onNamespaceAdd(ns: KubeObject): void {
    this.snapshot.setNamespace(ns.metadata.name, ns.metadata.labels);
    this.queue.onEvent('NamespaceChange');
  }

  onNamespaceUpdate(ns: KubeObject): void {
    this.onNamespaceAdd(ns);
  }

  onNamespaceDelete(ns: KubeObject): void {
    this.snapshot.removeNamespace(ns.metadata.name);
  }

  onRuntimeClassAdd(rc: RuntimeClass): void {
    this.snapshot.setRuntimeClass(rc.metadata.name, rc.handler);
    this.queue.onEvent('RuntimeClassChange');
  }

  onRuntimeClassUpdate(rc: RuntimeClass): void {
    this.onRuntimeClassAdd(rc);
  }

  onRuntimeClassDelete(rc: RuntimeClass): void {
    this.snapshot.removeRuntimeClass(rc.metadata.name);
  }

  onPodAdd(pod: Pod): void {
    this.onPodUpdate(undefined, pod);
  }

  onPodUpdate(old: Pod | undefined, pod: Pod): void {
    const key = `${pod.metadata.namespace ?? 'default'}/${pod.metadata.name}`;
    const nodeName = pod.spec.nodeName;
    if (nodeName) {
      this.queue.delete(key);
      if (isTerminal(pod)) return this.removeAssigned(key);
      const wasConfirmed = this.snapshot.nodeOf(key) !== undefined && !this.snapshot.isAssumed(key);
      this.snapshot.addPod(new PodInfo(pod), nodeName);
      if (!wasConfirmed) this.queue.onEvent('AssignedPodAdd');
      else if (old && podChanged(old, pod)) this.queue.onEvent('AssignedPodUpdate');
      return;
    }
    if (this.snapshot.isAssumed(key)) return; // binding in flight
    if (!this.responsibleFor(pod) || pod.metadata.deletionTimestamp || isTerminal(pod)) return this.queue.delete(key);
    if (!old || !this.queue.whereIs(key)) return this.queue.add(new PodInfo(pod));
    this.queue.update(new PodInfo(pod), podChanged(old, pod));
  }

  onPodDelete(pod: Pod): void {
    const key = `${pod.metadata.namespace ?? 'default'}/${pod.metadata.name}`;
    this.queue.delete(key);
    this.removeAssigned(key);
  }

  private removeAssigned(key: string): void {
    if (this.snapshot.nodeOf(key) === undefined) return;
    this.snapshot.removePod(key);
    this.queue.onEvent('AssignedPodDelete');
  }

  private responsibleFor(pod: Pod): boolean {
    const name = pod.spec.schedulerName;
    return !name || name === this.profile.schedulerName;
  }

  // ---- scheduling ---------------------------------------------------------------------------------

  /** Schedules the next active pod, if any (one synchronous cycle; binding continues in the background). */
  scheduleOne(): CycleResult | undefined {
    const qp = this.queue.pop();
    if (!qp) return undefined;
    this.stats.attempts++;
    let result: CycleResult;
    try {
      result = this.algorithm.schedule(qp.info);
    } catch (err) {
      result = { kind: 'error', message: messageOf(err) };
    }
    if (result.kind === 'scheduled') {
      this.snapshot.assumePod(qp.info, result.nodeName);
      this.queue.done(qp.info.key);
      this.stats.scheduled++;
      this.bind(qp, result.nodeName);
    } else if (result.kind === 'unschedulable') {
      this.stats.unschedulable++;
      this.queue.addUnschedulable(qp, result.plugins);
      this.reportFailure(qp.info.pod, 'Unschedulable', result.message);
    } else {
      this.stats.errors++;
      log.warn(`scheduling ${qp.info.key}: ${result.message}`);
      this.queue.addBackoff(qp);
      this.reportFailure(qp.info.pod, 'SchedulerError', result.message);
    }
    return result;
  }

  /**
   * Schedules pods until the signal aborts: waits for active pods and free binding slots, yields to
   * the event loop every few milliseconds so events and binding results get processed, and moves
   * pods out of backoff and long unschedulability once a second.
   */
  async run(signal: AbortSignal): Promise<void> {
    const timer = setInterval(() => this.queue.flush(), 1000);
    timer.unref();
    try {
      let lastYield = performance.now();
      while (!signal.aborted) {
        if (this.bindsInFlight >= this.maxBinds) {
          await this.bindSlot();
          continue;
        }
        if (!this.scheduleOne()) {
          await this.queue.waitForActive(signal);
          if (!signal.aborted) await yieldToEvents();
          lastYield = performance.now();
          continue;
        }
        const now = performance.now();
        if (now - lastYield > 5) {
          await yieldToEvents();
          lastYield = performance.now();
        }
      }
    } finally {
      clearInterval(timer);
    }
  }

  /** Schedules every active pod and waits for their bindings (tests and one-shot use). */
  async runUntilIdle(): Promise<void> {
    for (;;) {
      while (this.bindsInFlight < this.maxBinds && this.scheduleOne());
      if (this.bindsInFlight === 0 && this.queue.counts.active === 0) return;
      await this.bindSlot();
    }
  }

  /** Resolves when no binding is in flight. */
  async bindingsSettled(): Promise<void> {
    while (this.bindsInFlight > 0) await this.bindSlot();
  }

  private bindSlot(): Promise<void> {
    return new Promise((resolve) => this.bindWaiters.push(resolve));
  }

  private bind(qp: QueuedPod, nodeName: string): void {
    const pod = qp.info.pod;
    this.bindsInFlight++;
    this.opts.binder.bind(pod, nodeName).then(
      () => {
        this.stats.bound++;
        this.opts.recorder.podScheduled?.(pod, nodeName);
        this.bindDone();
      },
      (err: unknown) => {
        this.bindFailed(qp, nodeName, err);
        this.bindDone();
      },
    );
  }

  private bindDone(): void {
    this.bindsInFlight--;
    if (this.bindWaiters.length) {
      const ws = this.bindWaiters;
      this.bindWaiters = [];
      for (const w of ws) w();
    }
  }

  private bindFailed(qp: QueuedPod, nodeName: string, err: unknown): void {
    const key = qp.info.key;
    this.stats.bindFailures++;
    // Deleted meanwhile (no longer in the snapshot) or confirmed bound by an event: nothing to undo.
    if (!this.snapshot.isAssumed(key)) return;
    this.snapshot.forgetPod(key);
    this.queue.onEvent('AssignedPodDelete');
    const message = `Binding rejected: binding ${key} to ${nodeName}: ${messageOf(err)}`;
    log.warn(message);
    if (isNubisError(err, 'NotFound')) return;
    this.queue.addBackoff(qp);
    this.reportFailure(qp.info.pod, 'SchedulerError', message);
  }

  /** A FailedScheduling event, and PodScheduled=False with `reason` unless the pod already says so. */
  private reportFailure(pod: Pod, reason: 'Unschedulable' | 'SchedulerError', message: string): void {
    try {
      this.opts.recorder.podUnschedulable(pod, message);
    } catch (err) {
      log.warn(`recording FailedScheduling for ${pod.metadata.name}: ${messageOf(err)}`);
    }
    const updater = this.opts.statusUpdater;
    if (!updater) return;
    const cur = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
    if (cur && cur.status === 'False' && cur.reason === reason && cur.message === message) return;
    const since = cur?.status === 'False' && cur.lastTransitionTime ? cur.lastTransitionTime : new Date().toISOString();
    const condition: PodCondition = { type: 'PodScheduled', status: 'False', reason, message, lastProbeTime: null, lastTransitionTime: since };
    updater.setPodCondition(pod, condition).catch((err: unknown) => log.warn(`updating PodScheduled of ${pod.metadata.name}: ${messageOf(err)}`));
  }
}

/** Whether a pod change may matter to scheduling: spec or labels. */
function podChanged(old: Pod, pod: Pod): boolean {
  return !deepEqual(old.metadata.labels ?? {}, pod.metadata.labels ?? {}) || !deepEqual(old.spec, pod.spec);
}

/** The node changes that may help unschedulable pods (heartbeats and condition updates do not). */
export function nodeChanges(old: Node, node: Node): ClusterEvent[] {
  const events: ClusterEvent[] = [];
  if (!deepEqual(old.status?.allocatable ?? {}, node.status?.allocatable ?? {})) events.push('NodeAllocatableChange');
  if (!deepEqual(old.metadata.labels ?? {}, node.metadata.labels ?? {})) events.push('NodeLabelChange');
  if (!deepEqual(old.spec?.taints ?? [], node.spec?.taints ?? [])) events.push('NodeTaintChange');
  if (!!old.spec?.unschedulable !== !!node.spec?.unschedulable) events.push('NodeUnschedulableChange');
  const handlers = (n: Node) => n.status?.runtimeHandlers?.map((h) => h.name);
  if (!deepEqual(handlers(old), handlers(node))) events.push('NodeRuntimeHandlersChange');
  return events;
}
