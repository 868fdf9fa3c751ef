/**
 * The ReplicaSet controller: keeps `spec.replicas` active pods for each ReplicaSet (creating from the
 * template in slow-start batches, deleting the best candidates first), adopts orphans its selector
 * matches and releases pods it no longer matches, and reports replicas, fullyLabeled, ready and available
 * counts. Expectations keep it from acting twice on a cache that has not caught up with its own writes.
 */
import type { ReplicaSet } from '../../api/apps/v1/replica-set.js';
import type { Pod } from '../../api/core/v1/pod-types.js';
import { selectorMatches } from '../../api/validation.js';
import { NAMESPACE_INDEX } from '../../client/object-cache.js';
import type { Informer } from '../../client/informer.js';
import { isNubisError, messageOf } from '../../lib/errors.js';
import { logger } from '../../lib/log.js';
import { claimObjects, recheckOwner } from '../claim.js';
import { type Controller, type ControllerDeps, runController, resolveOwner, slowStartBatch, writeStatus } from '../controller.js';
import { Expectations } from '../expectations.js';
import { compareForDeletion, controllerRefOf, isPodActive, isPodReady, keyOf, podAvailability, podFromTemplate, splitKey } from '../pod-util.js';
import { PODS, REPLICASETS } from '../resources.js';
import { type ReconcileResult, WorkQueue } from '../work-queue.js';

const log = logger('replicaset-controller');

export interface ReplicaSetControllerOptions {
  workers?: number;
  /** Most pods created or deleted in one sync (Kubernetes' burstReplicas, 500). */
  burstReplicas?: number;
}

type RsStatus = NonNullable<ReplicaSet['status']> & { conditions?: Array<{ type: string; status: string; reason?: string; message?: string; lastTransitionTime?: string }> };

export class ReplicaSetController implements Controller {
  readonly name = 'replicaset';
  readonly queue = new WorkQueue();
  readonly expectations = new Expectations();
  private readonly sets: Informer<ReplicaSet>;
  private readonly pods: Informer<Pod>;

  constructor(
    private readonly deps: ControllerDeps,
    private readonly opts: ReplicaSetControllerOptions = {},
  ) {
    this.sets = deps.informers.get<ReplicaSet>(REPLICASETS);
    this.pods = deps.informers.get<Pod>(PODS);
    this.sets.addHandlers({
      add: (rs) => this.queue.add(keyOf(rs)),
      update: (_old, rs) => this.queue.add(keyOf(rs)),
      delete: (rs) => {
        this.expectations.delete(keyOf(rs));
        this.queue.add(keyOf(rs));
      },
    });
    this.pods.addHandlers({ add: (p) => this.podAdded(p), update: (o, p) => this.podUpdated(o, p), delete: (p) => this.podDeleted(p) });
  }

  run(signal: AbortSignal): Promise<void> {
    return runController(this.deps, this.queue, signal, this.opts.workers ?? 2, (key) => this.sync(key), log);
  }

  private ownerOf(pod: Pod): ReplicaSet | undefined {
    return resolveOwner(this.sets, pod, 'ReplicaSet');
  }

  private enqueueMatching(pod: Pod): void {
    for (const rs of this.sets.cache.byIndex(NAMESPACE_INDEX, pod.metadata.namespace ?? '')) {
      if (rs.spec?.selector && selectorMatches(rs.spec.selector, pod.metadata.labels ?? {})) this.queue.add(keyOf(rs));
    }
  }

  private podAdded(pod: Pod): void {
    if (pod.metadata.deletionTimestamp) return this.podDeleted(pod);
    const rs = this.ownerOf(pod);
    if (rs) {
      this.expectations.creationObserved(keyOf(rs));
      this.queue.add(keyOf(rs));
    } else if (!controllerRefOf(pod)) this.enqueueMatching(pod);
  }

  private podUpdated(old: Pod, pod: Pod): void {
    if (old.metadata.resourceVersion === pod.metadata.resourceVersion) return;
    if (pod.metadata.deletionTimestamp && !old.metadata.deletionTimestamp) {
      this.podDeleted(pod);
      return;
    }
    const oldRef = controllerRefOf(old);
    const ref = controllerRefOf(pod);
    if (oldRef && oldRef.uid !== ref?.uid) {
      const prev = this.ownerOf(old);
      if (prev) this.queue.add(keyOf(prev));
    }
    const rs = this.ownerOf(pod);
    if (rs) {
      this.queue.add(keyOf(rs));
      const minReady = rs.spec.minReadySeconds ?? 0;
      if (minReady > 0 && !isPodReady(old) && isPodReady(pod)) this.queue.addAfter(keyOf(rs), minReady * 1000 + 10);
    } else if (!ref) this.enqueueMatching(pod);
  }

  private podDeleted(pod: Pod): void {
    const rs = this.ownerOf(pod);
    if (!rs) return;
    this.expectations.deletionObserved(keyOf(rs), keyOf(pod));
    this.queue.add(keyOf(rs));
  }

  /** One reconcile of the ReplicaSet at `key`. */
  async sync(key: string): Promise<ReconcileResult> {
    const rs = this.sets.cache.get(key);
    if (!rs) {
      this.expectations.delete(key);
      return;
    }
    const { namespace } = splitKey(key);
    const needsSync = this.expectations.satisfied(key);
    const candidates = this.pods.cache.byIndex(NAMESPACE_INDEX, namespace ?? '').filter(isPodActive);
    const pods = await claimObjects({
      client: this.deps.client,
      resource: PODS,
      owner: rs,
      selector: rs.spec.selector,
      candidates,
      canAdopt: recheckOwner(this.deps.client, REPLICASETS, rs),
    });
    let failure: string | undefined;
    if (needsSync && !rs.metadata.deletionTimestamp) failure = await this.manageReplicas(rs, pods);
    return this.updateStatus(rs, pods, failure);
  }

  /** Creates or deletes pods toward spec.replicas; answers the message of a failed create or delete. */
  private async manageReplicas(rs: ReplicaSet, pods: Pod[]): Promise<string | undefined> {
    const key = keyOf(rs);
    const burst = this.opts.burstReplicas ?? 500;
    const diff = pods.length - (rs.spec.replicas ?? 1);
    if (diff < 0) {
      const count = Math.min(-diff, burst);
      this.expectations.expectCreations(key, count);
      const { done, error } = await slowStartBatch(count, async () => {
        const created = await this.deps.client.create<Pod>(PODS, podFromTemplate(rs.spec.template!, rs));
        this.deps.recorder.event(rs, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata.name}`);
      });
      for (let i = done; i < count; i++) this.expectations.creationObserved(key);
      if (error) {
        this.deps.recorder.event(rs, 'Warning', 'FailedCreate', `Error creating: ${messageOf(error)}`);
        return messageOf(error);
      }
    } else if (diff > 0) {
      const victims = [...pods].sort(compareForDeletion).slice(0, Math.min(diff, burst));
      this.expectations.expectDeletions(key, victims.map(keyOf));
      let failed: unknown;
      await Promise.all(
        victims.map(async (p) => {
          try {
            await this.deps.client.delete(PODS, p.metadata.name, { namespace: p.metadata.namespace, preconditions: { uid: p.metadata.uid } });
            this.deps.recorder.event(rs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata.name}`);
          } catch (err) {
            this.expectations.deletionObserved(key, keyOf(p));
            if (isNubisError(err, 'NotFound') || isNubisError(err, 'Conflict')) return;
            failed ??= err;
            this.deps.recorder.event(rs, 'Warning', 'FailedDelete', `Error deleting: ${messageOf(err)}`);
          }
        }),
      );
      if (failed) return messageOf(failed);
    }
    return undefined;
  }

  private async updateStatus(rs: ReplicaSet, pods: Pod[], failure: string | undefined): Promise<ReconcileResult> {
    const minReady = rs.spec.minReadySeconds ?? 0;
    const templateLabels = rs.spec.template?.metadata?.labels ?? {};
    let ready = 0;
    let available = 0;
    let fullyLabeled = 0;
    let waitMs: number | undefined;
    const now = Date.now();
    for (const p of pods) {
      if (Object.entries(templateLabels).every(([k, v]) => p.metadata.labels?.[k] === v)) fullyLabeled++;
      if (isPodReady(p)) ready++;
      const a = podAvailability(p, minReady, now);
      if (a.available) available++;
      else if (a.waitMs !== undefined) waitMs = Math.min(waitMs ?? Infinity, a.waitMs);
    }
    const prev = (rs.status ?? {}) as RsStatus;
    const status: RsStatus = {
      replicas: pods.length,
      fullyLabeledReplicas: fullyLabeled,
      readyReplicas: ready,
      availableReplicas: available,
      observedGeneration: rs.metadata.generation,
    };
    const oldFailure = prev.conditions?.find((c) => c.type === 'ReplicaFailure');
    if (failure) {
      const same = oldFailure?.status === 'True';
      status.conditions = [{ type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: failure, lastTransitionTime: same ? oldFailure!.lastTransitionTime : new Date().toISOString() }];
    }
    for (const k of Object.keys(status) as Array<keyof RsStatus>) if (status[k] === undefined) delete status[k];
    await writeStatus(this.deps.client, REPLICASETS, rs, status);
    return waitMs !== undefined ? { requeueAfterMs: waitMs } : undefined;
  }
}
