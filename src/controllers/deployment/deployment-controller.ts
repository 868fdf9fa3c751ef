/**
 * The Deployment controller: watches Deployments, their ReplicaSets and those ReplicaSets' pods, claims
 * ReplicaSets by selector, and runs one DeploymentSync per change (deployment-sync.ts).
 */
import type { Deployment } from '../../api/apps/v1/deployment.js';
import type { ReplicaSet } from '../../api/apps/v1/replica-set.js';
import type { Pod } from '../../api/core/v1/pod-types.js';
import { selectorMatches } from '../../api/validation.js';
import type { Informer } from '../../client/informer.js';
import { NAMESPACE_INDEX } from '../../client/object-cache.js';
import { logger } from '../../lib/log.js';
import { claimObjects, recheckOwner } from '../claim.js';
import { type Controller, type ControllerDeps, runController, resolveOwner, writeStatus } from '../controller.js';
import { BY_OWNER } from '../informer-set.js';
import { controllerRefOf, keyOf, splitKey } from '../pod-util.js';
import { DEPLOYMENTS, PODS, REPLICASETS } from '../resources.js';
import { type ReconcileResult, WorkQueue } from '../work-queue.js';
import { DeploymentSync } from './deployment-sync.js';

const log = logger('deployment-controller');

export interface DeploymentControllerOptions {
  workers?: number;
}

export class DeploymentController implements Controller {
  readonly name = 'deployment';
  readonly queue = new WorkQueue();
  private readonly deployments: Informer<Deployment>;
  private readonly sets: Informer<ReplicaSet>;
  private readonly pods: Informer<Pod>;

  constructor(
    private readonly deps: ControllerDeps,
    private readonly opts: DeploymentControllerOptions = {},
  ) {
    this.deployments = deps.informers.get<Deployment>(DEPLOYMENTS);
    this.sets = deps.informers.get<ReplicaSet>(REPLICASETS);
    this.pods = deps.informers.get<Pod>(PODS);
    const enqueue = (d: Deployment) => this.queue.add(keyOf(d));
    this.deployments.addHandlers({ add: enqueue, update: (_o, d) => enqueue(d), delete: enqueue });
    this.sets.addHandlers({
      add: (rs) => this.rsChanged(undefined, rs),
      update: (old, rs) => this.rsChanged(old, rs),
      delete: (rs) => this.rsChanged(undefined, rs),
    });
    const podChanged = (p: Pod) => {
      const rs = this.ownerRS(p);
      const d = rs && this.ownerOf(rs);
      if (d) this.queue.add(keyOf(d));
    };
    this.pods.addHandlers({ add: podChanged, update: (_o, p) => podChanged(p), delete: podChanged });
  }

  run(signal: AbortSignal): Promise<void> {
    return runController(this.deps, this.queue, signal, this.opts.workers ?? 2, (key) => this.sync(key), log);
  }

  private ownerRS(pod: Pod): ReplicaSet | undefined {
    return resolveOwner(this.sets, pod, 'ReplicaSet');
  }

  private ownerOf(rs: ReplicaSet): Deployment | undefined {
    return resolveOwner(this.deployments, rs, 'Deployment');
  }

  private rsChanged(old: ReplicaSet | undefined, rs: ReplicaSet): void {
    if (old && old.metadata.resourceVersion === rs.metadata.resourceVersion) return;
    const prev = old && this.ownerOf(old);
    if (prev) this.queue.add(keyOf(prev));
    const d = this.ownerOf(rs);
    if (d) return this.queue.add(keyOf(d));
    if (controllerRefOf(rs)) return;
    for (const x of this.deployments.cache.byIndex(NAMESPACE_INDEX, rs.metadata.namespace ?? '')) {
      if (x.spec?.selector && selectorMatches(x.spec.selector, rs.metadata.labels ?? {})) this.queue.add(keyOf(x));
    }
  }

  async sync(key: string): Promise<ReconcileResult> {
    const d = this.deployments.cache.get(key);
    if (!d) return;
    const sel = d.spec.selector;
    if (!sel || (!Object.keys(sel.matchLabels ?? {}).length && !(sel.matchExpressions ?? []).length)) {
      this.deps.recorder.event(d, 'Warning', 'SelectingAll', 'This deployment is selecting all pods. A non-empty selector is required.');
      if ((d.status?.observedGeneration ?? 0) < (d.metadata.generation ?? 0)) {
        await writeStatus(this.deps.client, DEPLOYMENTS, d, { ...(d.status ?? {}), observedGeneration: d.metadata.generation });
      }
      return;
    }
    const { namespace } = splitKey(key);
    const sets = await claimObjects({
      client: this.deps.client,
      resource: REPLICASETS,
      owner: d,
      selector: sel,
      candidates: this.sets.cache.byIndex(NAMESPACE_INDEX, namespace ?? ''),
      canAdopt: recheckOwner(this.deps.client, DEPLOYMENTS, d),
    });
    const podsOf = (rs: ReplicaSet) => this.pods.cache.byIndex(BY_OWNER, rs.metadata.uid ?? '');
    return new DeploymentSync(this.deps, d, sets, podsOf).run();
  }
}
