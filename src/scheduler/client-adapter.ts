/**
 * The scheduler wired to the API: informers on nodes, pods, namespaces and RuntimeClasses feed
 * Scheduler.on*, bindings go to pods/<name>/binding, PodScheduled conditions to the pod's status
 * subresource, and Scheduled / FailedScheduling events to core/v1 Events. Run it where the controllers
 * run (under leader election).
 */
import type { Node } from '../api/core/v1/node.js';
import type { Pod, PodCondition } from '../api/core/v1/pod-types.js';
import type { KubeObject } from '../api/meta.js';
import { NODE_GROUP, type RuntimeClass } from '../api/node/v1/runtime-class.js';
import { Informer } from '../client/informer.js';
import { EVENTS } from '../client/event-recorder.js';
import type { ResourceInfo, RestClient } from '../client/rest-client.js';
import { messageOf } from '../lib/errors.js';
import { logger } from '../lib/log.js';
import { trace } from '../lib/trace.js';
import { type Binder, type EventRecorder, type PodStatusUpdater, Scheduler, type SchedulerOptions } from './scheduler.js';

const log = logger('scheduler');
const PODS: ResourceInfo = { group: '', version: 'v1', resource: 'pods', kind: 'Pod', namespaced: true };
const NODES: ResourceInfo = { group: '', version: 'v1', resource: 'nodes', kind: 'Node', namespaced: false };
const NAMESPACES: ResourceInfo = { group: '', version: 'v1', resource: 'namespaces', kind: 'Namespace', namespaced: false };
const RUNTIME_CLASSES: ResourceInfo = { group: NODE_GROUP, version: 'v1', resource: 'runtimeclasses', kind: 'RuntimeClass', namespaced: false };

/** Binds through the binding subresource. */
export function clientBinder(client: RestClient): Binder {
  return {
    async bind(pod, nodeName) {
      const { name, namespace } = pod.metadata;
      trace(`scheduler: binding ${name}`);
      await client.createSubresource(PODS, name, 'binding', { apiVersion: 'v1', kind: 'Binding', metadata: { name, namespace }, target: { apiVersion: 'v1', kind: 'Node', name: nodeName } }, { namespace });
      trace(`scheduler: bound ${name}`);
    },
  };
}

/** Writes PodScheduled with a strategic merge patch of the status (conditions merge by type). */
export function clientStatusUpdater(client: RestClient): PodStatusUpdater {
  return {
    async setPodCondition(pod: Pod, condition: PodCondition) {
      await client.patch(PODS, pod.metadata.name, { status: { conditions: [condition] } }, 'strategic', { namespace: pod.metadata.namespace, subresource: 'status' });
    },
  };
}

/** Scheduled and FailedScheduling events; a FailedScheduling repeated with the same message within a minute is written once. */
export function clientEventRecorder(client: RestClient, component = 'default-scheduler'): EventRecorder {
  const lastFailure = new Map<string, { message: string; at: number }>();
  const emit = (pod: Pod, type: 'Normal' | 'Warning', reason: string, message: string) => {
    const now = new Date().toISOString();
    const { name, namespace, uid } = pod.metadata;
    const ev = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${name}.${(Date.now() * 1000 + Math.floor(Math.random() * 1000)).toString(16)}`, namespace },
      involvedObject: { apiVersion: 'v1', kind: 'Pod', name, namespace, uid },
      type, reason, message, count: 1, firstTimestamp: now, lastTimestamp: now,
      source: { component }, reportingComponent: component, reportingInstance: '',
    };
    client.create(EVENTS, ev as KubeObject).catch((err: unknown) => log.debug(`event ${reason} for ${name}: ${messageOf(err)}`));
  };
  return {
    podUnschedulable(pod, message) {
      const key = pod.metadata.uid ?? `${pod.metadata.namespace}/${pod.metadata.name}`;
      const last = lastFailure.get(key);
      if (last && last.message === message && Date.now() - last.at < 60_000) return;
      lastFailure.set(key, { message, at: Date.now() });
      if (lastFailure.size > 10_000) lastFailure.delete(lastFailure.keys().next().value!);
      emit(pod, 'Warning', 'FailedScheduling', message);
    },
    podScheduled(pod, nodeName) {
      lastFailure.delete(pod.metadata.uid ?? '');
      emit(pod, 'Normal', 'Scheduled', `Successfully assigned ${pod.metadata.namespace}/${pod.metadata.name} to ${nodeName}`);
    },
  };
}

export interface RunningScheduler {
  scheduler: Scheduler;
  /** Resolves when the informers have listed everything (scheduling starts then). */
  synced: Promise<void>;
  /** Resolves after the signal aborted and everything stopped. */
  done: Promise<void>;
}

/** Starts informers and the scheduling loop until `signal` aborts. */
export function startScheduler(client: RestClient, signal: AbortSignal, opts: Omit<SchedulerOptions, 'binder' | 'recorder' | 'statusUpdater'> = {}): RunningScheduler {
  const scheduler = new Scheduler({ ...opts, binder: clientBinder(client), recorder: clientEventRecorder(client), statusUpdater: clientStatusUpdater(client) });
  const nodes = new Informer<Node>(client, NODES);
  const pods = new Informer<Pod>(client, PODS);
  const namespaces = new Informer<KubeObject>(client, NAMESPACES);
  const runtimeClasses = new Informer<RuntimeClass>(client, RUNTIME_CLASSES);
  nodes.addHandlers({ add: (n) => scheduler.onNodeAdd(n), update: (_o, n) => scheduler.onNodeUpdate(n), delete: (n) => scheduler.onNodeDelete(n) });
  namespaces.addHandlers({ add: (n) => scheduler.onNamespaceAdd(n), update: (_o, n) => scheduler.onNamespaceUpdate(n), delete: (n) => scheduler.onNamespaceDelete(n) });
  runtimeClasses.addHandlers({ add: (c) => scheduler.onRuntimeClassAdd(c), update: (_o, c) => scheduler.onRuntimeClassUpdate(c), delete: (c) => scheduler.onRuntimeClassDelete(c) });
  pods.addHandlers({ add: (p) => scheduler.onPodAdd(p), update: (o, p) => scheduler.onPodUpdate(o, p), delete: (p) => scheduler.onPodDelete(p) });
  const informers = [nodes, pods, namespaces, runtimeClasses];
  const runs = informers.map((i) => i.run(signal));
  const synced = Promise.all(informers.map((i) => i.waitForSync(signal))).then(() => undefined);
  const loop = synced.then(
    () => scheduler.run(signal),
    () => undefined,
  );
  return { scheduler, synced, done: Promise.all([...runs, loop]).then(() => undefined) };
}
