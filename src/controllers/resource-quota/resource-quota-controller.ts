/**
 * The ResourceQuota controller: keeps each quota's status up to date (hard as the spec says, used as the
 * namespace's objects use now), so deleted and finished objects give their share back. It recounts a
 * quota when it is created or its limits change, when a pod or Service of its namespace goes or stops
 * counting, and every `resyncMs` (other kinds are not watched: their deletions show at the next resync).
 *
 * Admission charges requests to status.used before their objects are stored (apiserver/admission/
 * resource-quota.ts); a recount must not undo a charge. So it reads the quota first, then lists, and
 * writes the result conditionally on the quota's resourceVersion: a charge made meanwhile changed that,
 * the write fails with Conflict and the quota is counted again. A charge made just before the read
 * may belong to an object not stored yet when listed; so a count lower than the recorded usage is only
 * written when a second count `settleMs` later, with no charge in between, agrees (by then the charged
 * object is stored, or its write failed and the charge rightly goes).
 */
import { resourceList, type ResourceList } from '../../api/core/v1/pod-resources.js';
import type { Pod } from '../../api/core/v1/pod-types.js';
import { countUsage, formatResourceList } from '../../api/core/v1/quota-usage.js';
import type { ResourceQuota, ResourceQuotaStatus } from '../../api/core/v1/resource-quota.js';
import type { Service } from '../../api/core/v1/service.js';
import type { KubeObject } from '../../api/meta.js';
import { builtinResources } from '../../api/registry.js';
import { deepEqual } from '../../api/validation.js';
import { infoOf } from '../../client/discovery.js';
import type { Informer } from '../../client/informer.js';
import { isNubisError } from '../../lib/errors.js';
import { logger } from '../../lib/log.js';
import { type Controller, type ControllerDeps, runController } from '../controller.js';
import { keyOf, splitKey } from '../pod-util.js';
import { PODS, RESOURCEQUOTAS, SERVICES } from '../resources.js';
import { type ReconcileResult, WorkQueue } from '../work-queue.js';

const log = logger('resourcequota-controller');

export interface ResourceQuotaControllerOptions {
  /** How often every quota is recounted (default 30 s). */
  resyncMs?: number;
  /** How long a lower count waits to be confirmed (default 2 s; far longer than a write takes from charge to store). */
  settleMs?: number;
}

const ended = (p: Pod) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';

export class ResourceQuotaController implements Controller {
  readonly name = 'resourcequota';
  readonly queue = new WorkQueue();
  private readonly quotas: Informer<ResourceQuota>;
  private readonly registry = builtinResources();
  /** Quotas whose lower count waits for confirmation: the resourceVersion it was counted against, and when. */
  private readonly settling = new Map<string, { rv: string | undefined; at: number }>();

  constructor(
    private readonly deps: ControllerDeps,
    private readonly options: ResourceQuotaControllerOptions = {},
  ) {
    this.quotas = deps.informers.get<ResourceQuota>(RESOURCEQUOTAS);
    const enqueue = (q: ResourceQuota) => this.queue.add(keyOf(q));
    this.quotas.addHandlers({
      add: enqueue,
      // Status-only changes are admission's charges: nothing to recount.
      update: (old, q) => {
        if (!deepEqual(old.spec, q.spec) || !deepEqual(q.status?.hard ?? {}, formatResourceList(resourceList(q.spec?.hard)))) enqueue(q);
      },
    });
    deps.informers.get<Pod>(PODS).addHandlers({
      update: (old, p) => {
        if (ended(p) && !ended(old)) this.recount(p.metadata.namespace);
        // A pod being deleted counts until its grace period ends.
        else if (p.metadata.deletionTimestamp && !old.metadata.deletionTimestamp) this.recount(p.metadata.namespace, (p.metadata.deletionGracePeriodSeconds ?? 0) * 1000 + 1000);
      },
      delete: (p) => this.recount(p.metadata.namespace),
    });
    deps.informers.get<Service>(SERVICES).addHandlers({
      update: (old, s) => {
        if (old.spec?.type !== s.spec?.type || old.spec?.ports?.length !== s.spec?.ports?.length) this.recount(s.metadata.namespace);
      },
      delete: (s) => this.recount(s.metadata.namespace),
    });
  }

  /** Recounts the quotas of a namespace (after `afterMs`). */
  private recount(namespace: string | undefined, afterMs = 0): void {
    for (const q of this.quotas.cache.list()) if (q.metadata.namespace === namespace) this.queue.addAfter(keyOf(q), afterMs);
  }

  async run(signal: AbortSignal): Promise<void> {
    const every = this.options.resyncMs ?? 30_000;
    const timer = setInterval(() => {
      for (const q of this.quotas.cache.list()) this.queue.add(keyOf(q));
    }, every);
    timer.unref();
    try {
      await runController(this.deps, this.queue, signal, 2, (key) => this.sync(key), log);
    } finally {
      clearInterval(timer);
    }
  }

  async sync(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    let quota: ResourceQuota;
    try {
      quota = await this.deps.client.get<ResourceQuota>(RESOURCEQUOTAS, name, { namespace });
    } catch (err) {
      if (!isNubisError(err, 'NotFound')) throw err;
      this.settling.delete(key);
      return;
    }
    const used = await this.usage(quota);
    const status: ResourceQuotaStatus = { hard: formatResourceList(resourceList(quota.spec?.hard)), used: formatResourceList(used) };
    if (deepEqual(quota.status ?? {}, status)) {
      this.settling.delete(key);
      return;
    }
    const wait = this.unsettled(key, quota, used);
    if (wait > 0) return { requeueAfterMs: wait };
    // Conditional on the resourceVersion read before counting: a Conflict (a charge landed) is retried.
    await this.deps.client.updateStatus<ResourceQuota>(RESOURCEQUOTAS, { ...quota, status });
  }

  /**
   * How long a count must still wait before it is written: 0 unless it lowers the recorded usage and no
   * count of the same quota version was made `settleMs` ago.
   */
  private unsettled(key: string, quota: ResourceQuota, used: ResourceList): number {
    const recorded = resourceList(quota.status?.used);
    if (!Object.entries(used).some(([k, v]) => recorded[k] && v.cmp(recorded[k]) < 0)) {
      this.settling.delete(key);
      return 0;
    }
    const first = this.settling.get(key);
    const since = first && first.rv === quota.metadata.resourceVersion ? first.at : Date.now();
    const wait = since + (this.options.settleMs ?? 2000) - Date.now();
    if (wait > 0) this.settling.set(key, { rv: quota.metadata.resourceVersion, at: since });
    else this.settling.delete(key);
    return wait;
  }

  /** What the quota's namespace uses now of each resource the quota limits. */
  usage(quota: ResourceQuota): Promise<ResourceList> {
    return countUsage(quota.spec, Object.keys(quota.spec?.hard ?? {}), async (gr) => {
      const t = this.registry.byResource(gr.group, gr.resource);
      return t ? (await this.deps.client.listAll<KubeObject>(infoOf(t), { namespace: quota.metadata.namespace })).items : [];
    });
  }
}
