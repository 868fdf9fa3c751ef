/** What every controller shares: its dependencies, its shape, and status writes that survive conflicts. */
import type { KubeObject } from '../api/meta.js';
import { deepEqual } from '../api/validation.js';
import type { ResourceInfo, RestClient } from '../client/rest-client.js';
import { isNubisError, messageOf } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import type { Informer } from '../client/informer.js';
import type { Recorder } from '../client/event-recorder.js';
import type { InformerSet } from './informer-set.js';
import { type ReconcileResult, runWorkers, type WorkQueue } from './work-queue.js';

/** A reconciler: builds its informers and handlers when constructed, reconciles until `signal` aborts. */
export interface Controller {
  readonly name: string;
  run(signal: AbortSignal): Promise<void>;
}

export interface ControllerDeps {
  client: RestClient;
  informers: InformerSet;
  recorder: Recorder;
}

/**
 * Writes `status` through the status subresource unless it is unchanged. A Conflict (the cached copy was
 * stale) re-reads the object and writes again, once; other errors are thrown.
 */
export async function writeStatus<T extends KubeObject>(client: RestClient, resource: ResourceInfo, obj: T, status: unknown): Promise<T> {
  if (deepEqual(obj.status ?? {}, status)) return obj;
  try {
    return await client.updateStatus<T>(resource, { ...obj, status } as T);
  } catch (err) {
    if (!isNubisError(err, 'Conflict')) throw err;
    const fresh = await client.get<T>(resource, obj.metadata.name, { namespace: obj.metadata.namespace });
    if (fresh.metadata.uid !== obj.metadata.uid) return fresh;
    return client.updateStatus<T>(resource, { ...fresh, status } as T);
  }
}

/** The error logger of a controller's workers: conflicts and vanished objects are routine (debug). */
export function reconcileErrorLogger(log: Logger): (key: string, err: unknown) => void {
  return (key, err) => {
    const routine = isNubisError(err, 'Conflict') || isNubisError(err, 'NotFound') || isNubisError(err, 'AlreadyExists');
    (routine ? log.debug : log.warn)(`${key}: ${messageOf(err)}`);
  };
}

/**
 * Runs `fn` over `count` items in batches of 1, 2, 4... (Kubernetes' slowStartBatch): a batch with a
 * failure stops the rest, so a hopeless create fails once rather than hundreds of times. Returns how
 * many succeeded and the first error.
 */
export async function slowStartBatch(count: number, fn: (i: number) => Promise<void>): Promise<{ done: number; error?: unknown }> {
  let done = 0;
  let batch = 1;
  let index = 0;
  while (index < count) {
    const size = Math.min(batch, count - index);
    const results = await Promise.allSettled(Array.from({ length: size }, (_, j) => fn(index + j)));
    index += size;
    const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
    done += results.filter((r) => r.status === 'fulfilled').length;
    if (failed) return { done, error: failed.reason };
    batch *= 2;
  }
  return { done };
}

/** A controller's main loop: waits for the shared informers to sync, then runs its workers until `signal` aborts. */
export async function runController(
  deps: ControllerDeps,
  queue: WorkQueue,
  signal: AbortSignal,
  workers: number,
  sync: (key: string) => Promise<ReconcileResult>,
  log: Logger,
): Promise<void> {
  await deps.informers.waitForSync(signal).catch(() => undefined);
  if (signal.aborted) return;
  await runWorkers(queue, signal, workers, sync, reconcileErrorLogger(log));
}

/** The object of `kind` in the informer that controls `obj` (same namespace, same uid), if any. */
export function resolveOwner<T extends KubeObject>(informer: Informer<T>, obj: KubeObject, kind: string): T | undefined {
  const ref = obj.metadata.ownerReferences?.find((r) => r.controller);
  if (!ref || ref.kind !== kind) return undefined;
  const owner = informer.cache.getByName(obj.metadata.namespace, ref.name);
  return owner?.metadata.uid === ref.uid ? owner : undefined;
}
