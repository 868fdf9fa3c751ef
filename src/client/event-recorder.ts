/**
 * Events about objects (core/v1 Event), as Kubernetes' recorder writes them: one Event per object,
 * reason and message, and a repeat within ten minutes raises its count instead of making another.
 * Recording never fails the caller: errors are logged.
 */
import type { Event } from '../api/core/v1/event.js';
import type { KubeObject } from '../api/meta.js';
import { messageOf } from '../lib/errors.js';
import { logger } from '../lib/log.js';
import type { ResourceInfo, RestClient } from './rest-client.js';

export const EVENTS: ResourceInfo = { group: '', version: 'v1', resource: 'events', kind: 'Event', namespaced: true };

const log = logger('events');
const AGGREGATE_MS = 10 * 60_000;

export type EventType = 'Normal' | 'Warning';

/** What controllers and the agent call; tests may pass a fake. */
export interface Recorder {
  event(obj: KubeObject, type: EventType, reason: string, message: string): void;
}

export class EventRecorder implements Recorder {
  readonly #seen = new Map<string, { name: string; namespace: string; count: number; at: number }>();
  #pending: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly client: RestClient,
    readonly component: string,
  ) {}

  event(obj: KubeObject, type: EventType, reason: string, message: string): void {
    const namespace = obj.metadata.namespace || 'default';
    const key = `${obj.kind}/${namespace}/${obj.metadata.name}/${obj.metadata.uid}/${type}/${reason}/${message}`;
    const now = new Date().toISOString();
    const prev = this.#seen.get(key);
    this.#pending = this.#pending.then(async () => {
      try {
        if (prev && Date.now() - prev.at < AGGREGATE_MS) {
          prev.count++;
          prev.at = Date.now();
          await this.client.patch(EVENTS, prev.name, { count: prev.count, lastTimestamp: now }, 'merge', { namespace: prev.namespace });
          return;
        }
        const ev: Event = {
          apiVersion: 'v1',
          kind: 'Event',
          metadata: { name: `${obj.metadata.name}.${(Date.now() * 1000 + Math.floor(Math.random() * 1000)).toString(16)}`, namespace },
          involvedObject: {
            apiVersion: obj.apiVersion, kind: obj.kind, namespace: obj.metadata.namespace, name: obj.metadata.name,
            uid: obj.metadata.uid, resourceVersion: obj.metadata.resourceVersion,
          },
          reason,
          message,
          type,
          count: 1,
          firstTimestamp: now,
          lastTimestamp: now,
          source: { component: this.component },
          reportingComponent: this.component,
          reportingInstance: '',
        };
        await this.client.create(EVENTS, ev);
        this.#seen.set(key, { name: ev.metadata.name, namespace, count: 1, at: Date.now() });
        if (this.#seen.size > 4096) this.#seen.delete(this.#seen.keys().next().value!);
      } catch (err) {
        if (prev) this.#seen.delete(key);
        log.debug(`event ${reason} for ${obj.kind} ${obj.metadata.name}: ${messageOf(err)}`);
      }
    });
  }

  /** Resolves when every event recorded so far has been written (tests). */
  flush(): Promise<void> {
    return this.#pending.then(() => undefined);
  }
}
