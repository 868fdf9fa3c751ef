/**
 * One reconcile of one Deployment (Kubernetes' syncDeployment): find or create the ReplicaSet of the
 * current template, scale new and old ReplicaSets as the strategy allows (RollingUpdate within maxSurge
 * and maxUnavailable, Recreate after the old pods are gone), follow scaling while paused, prune old
 * ReplicaSets beyond revisionHistoryLimit, and write status and conditions.
 */
import type { Deployment, DeploymentStatus } from '../../api/apps/v1/deployment.js';
import type { ReplicaSet } from '../../api/apps/v1/replica-set.js';
import type { Pod } from '../../api/core/v1/pod-types.js';
import { isNubisError, messageOf } from '../../lib/errors.js';
import { type ControllerDeps, writeStatus } from '../controller.js';
import { isPodActive, isPodReady, isPodTerminal, newControllerRef, podAvailability } from '../pod-util.js';
import { DEPLOYMENTS, REPLICASETS } from '../resources.js';
import type { ReconcileResult } from '../work-queue.js';
import {
  DESIRED_REPLICAS, MAX_REPLICAS, POD_TEMPLATE_HASH, REASON, REVISION, deploymentComplete, deploymentProgressing, deploymentTimedOut,
  equalIgnoreHash, getCondition, hasProgressDeadline, intAnnotation, isRollingUpdate, maxRevision, maxSurge, maxUnavailable, newCondition,
  removeCondition, revisionOf, setCondition, setNewReplicaSetAnnotations, setReplicasAnnotations, templateHash,
} from './deployment-util.js';

const replicasOf = (rs: ReplicaSet | undefined) => rs?.spec.replicas ?? 0;
const sumReplicas = (sets: ReplicaSet[]) => sets.reduce((n, rs) => n + replicasOf(rs), 0);
const created = (rs: ReplicaSet) => Date.parse(rs.metadata.creationTimestamp ?? '') || 0;
const byCreation = (a: ReplicaSet, b: ReplicaSet) => created(a) - created(b) || a.metadata.name.localeCompare(b.metadata.name);
const active = (sets: ReplicaSet[]) => sets.filter((rs) => replicasOf(rs) > 0);

export class DeploymentSync {
  private d: Deployment;
  private sets: ReplicaSet[];
  /** The soonest a pod becomes available, so the deployment is looked at again then. */
  private wakeMs: number | undefined;

  constructor(
    private readonly deps: ControllerDeps,
    d: Deployment,
    sets: ReplicaSet[],
    private readonly podsOf: (rs: ReplicaSet) => Pod[],
  ) {
    this.d = structuredClone(d);
    this.sets = sets.map((rs) => structuredClone(rs));
  }

  async run(): Promise<ReconcileResult> {
    const d = this.d;
    if (d.metadata.deletionTimestamp) {
      const [newRS, oldRSs] = await this.getAll(false);
      await this.syncStatusOnly(newRS, oldRSs);
      return;
    }
    await this.checkPausedConditions();
    if (d.spec.paused) {
      await this.syncScaling();
      return this.result();
    }
    if (this.isScalingEvent()) {
      await this.syncScaling();
      return this.result();
    }
    if (isRollingUpdate(d)) await this.rolloutRolling();
    else await this.rolloutRecreate();
    return this.result();
  }

  private result(): ReconcileResult {
    const d = this.d;
    let after = this.wakeMs;
    const c = getCondition(d.status, 'Progressing');
    if (hasProgressDeadline(d) && !d.spec.paused && c?.status === 'True' && c.reason !== REASON.newRSAvailable && !deploymentComplete(d, d.status ?? {})) {
      const deadline = Date.parse(c.lastUpdateTime ?? '') + d.spec.progressDeadlineSeconds! * 1000 - Date.now();
      if (Number.isFinite(deadline)) after = Math.min(after ?? Infinity, Math.max(deadline + 1000, 1000));
    }
    return after !== undefined ? { requeueAfterMs: after } : undefined;
  }

  // ---- counting from pods -------------------------------------------------------------------------

  private counts(rs: ReplicaSet): { actual: number; ready: number; available: number } {
    const minReady = this.d.spec.minReadySeconds ?? 0;
    let actual = 0;
    let ready = 0;
    let available = 0;
    const now = Date.now();
    for (const p of this.podsOf(rs)) {
      if (!isPodActive(p)) continue;
      actual++;
      if (isPodReady(p)) ready++;
      const a = podAvailability(p, minReady, now);
      if (a.available) available++;
      else if (a.waitMs !== undefined) this.wakeMs = Math.min(this.wakeMs ?? Infinity, a.waitMs);
    }
    return { actual, ready, available };
  }

  /** Available pods of a ReplicaSet, never more than it is asked to keep (pods being scaled away do not count). */
  private available(rs: ReplicaSet | undefined): number {
    return rs ? Math.min(replicasOf(rs), this.counts(rs).available) : 0;
  }

  // ---- new and old ReplicaSets --------------------------------------------------------------------

  /** [new ReplicaSet or undefined, old ReplicaSets]; syncs the revision annotations on the way. */
  private async getAll(createIfMissing: boolean): Promise<[ReplicaSet | undefined, ReplicaSet[]]> {
    const sorted = [...this.sets].sort(byCreation);
    const existing = sorted.find((rs) => equalIgnoreHash(rs.spec.template, this.d.spec.template));
    const oldRSs = sorted.filter((rs) => rs !== existing);
    const newRS = await this.getNewReplicaSet(existing, oldRSs, createIfMissing);
    return [newRS, oldRSs];
  }

  private async getNewReplicaSet(existing: ReplicaSet | undefined, oldRSs: ReplicaSet[], create: boolean): Promise<ReplicaSet | undefined> {
    const d = this.d;
    const newRevision = maxRevision(oldRSs) + 1;
    if (existing) {
      const copy = structuredClone(existing);
      const annotated = setNewReplicaSetAnnotations(d, copy, newRevision, true);
      const minReady = (copy.spec.minReadySeconds ?? 0) !== (d.spec.minReadySeconds ?? 0);
      let rs = existing;
      if (annotated || minReady) {
        copy.spec.minReadySeconds = d.spec.minReadySeconds ?? 0;
        rs = await this.updateRS(copy);
      }
      await this.setDeploymentRevision(rs.metadata.annotations?.[REVISION]);
      if (hasProgressDeadline(d) && !getCondition(d.status, 'Progressing')) {
        const status = { ...(d.status ?? {}) };
        setCondition(status, newCondition('Progressing', 'True', REASON.foundNewRS, `Found new replica set "${rs.metadata.name}"`));
        await this.writeStatus(status);
      }
      return rs;
    }
    if (!create) return undefined;
    const template = structuredClone(d.spec.template);
    const hash = templateHash(d.spec.template, d.status?.collisionCount);
    template.metadata ??= {};
    template.metadata.labels = { ...(template.metadata.labels ?? {}), [POD_TEMPLATE_HASH]: hash };
    const selector = structuredClone(d.spec.selector);
    selector.matchLabels = { ...(selector.matchLabels ?? {}), [POD_TEMPLATE_HASH]: hash };
    const rs: ReplicaSet = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: `${d.metadata.name}-${hash}`, namespace: d.metadata.namespace, labels: { ...template.metadata.labels }, ownerReferences: [newControllerRef(d)] },
      spec: { replicas: 0, minReadySeconds: d.spec.minReadySeconds ?? 0, selector, template },
    };
    rs.spec.replicas = this.newRSNewReplicas([...oldRSs, rs], rs);
    setNewReplicaSetAnnotations(d, rs, newRevision, false);
    let saved: ReplicaSet;
    try {
      saved = await this.deps.client.create<ReplicaSet>(REPLICASETS, rs);
    } catch (err) {
      if (isNubisError(err, 'AlreadyExists')) {
        const other = await this.deps.client.get<ReplicaSet>(REPLICASETS, rs.metadata.name, { namespace: d.metadata.namespace });
        const ours = other.metadata.ownerReferences?.some((r) => r.controller && r.uid === d.metadata.uid);
        if (ours && equalIgnoreHash(other.spec.template, d.spec.template)) return other;
        await this.writeStatus({ ...(d.status ?? {}), collisionCount: (d.status?.collisionCount ?? 0) + 1 });
        throw err;
      }
      if (hasProgressDeadline(d)) {
        const status = { ...(d.status ?? {}) };
        setCondition(status, newCondition('Progressing', 'False', REASON.failedRSCreate, messageOf(err)));
        await this.writeStatus(status).catch(() => undefined);
      }
      this.deps.recorder.event(d, 'Warning', 'FailedCreate', `Failed to create new replica set "${rs.metadata.name}": ${messageOf(err)}`);
      throw err;
    }
    this.sets.push(saved);
    if (replicasOf(saved) > 0) this.scaledEvent(saved, 0, replicasOf(saved));
    await this.setDeploymentRevision(String(newRevision));
    if (hasProgressDeadline(d)) {
      const status = { ...(d.status ?? {}) };
      setCondition(status, newCondition('Progressing', 'True', REASON.newRSCreated, `Created new replica set "${saved.metadata.name}"`));
      await this.writeStatus(status);
    }
    return saved;
  }

  /** How big the new ReplicaSet may be now: everything for Recreate, within maxSurge for RollingUpdate. */
  private newRSNewReplicas(all: ReplicaSet[], newRS: ReplicaSet): number {
    const replicas = this.d.spec.replicas ?? 1;
    if (!isRollingUpdate(this.d)) return replicas;
    // Pods an old ReplicaSet still has beyond its new size count too, so the total never passes maxSurge.
    const current = all.reduce((n, rs) => n + Math.max(replicasOf(rs), rs.metadata.uid ? this.counts(rs).actual : 0), 0);
    const maxTotal = replicas + maxSurge(this.d);
    if (current >= maxTotal) return replicasOf(newRS);
    return replicasOf(newRS) + Math.min(maxTotal - current, replicas - replicasOf(newRS));
  }

  private async setDeploymentRevision(revision: string | undefined): Promise<void> {
    if (revision === undefined || this.d.metadata.annotations?.[REVISION] === revision) return;
    const saved = await this.deps.client.patch<Deployment>(DEPLOYMENTS, this.d.metadata.name, { metadata: { annotations: { [REVISION]: revision } } }, 'merge', { namespace: this.d.metadata.namespace });
    this.d.metadata = { ...this.d.metadata, annotations: saved.metadata.annotations, resourceVersion: saved.metadata.resourceVersion };
  }

  private async updateRS(rs: ReplicaSet): Promise<ReplicaSet> {
    const saved = await this.deps.client.update<ReplicaSet>(REPLICASETS, rs);
    this.sets = this.sets.map((x) => (x.metadata.uid === saved.metadata.uid ? saved : x));
    return saved;
  }

  private scaledEvent(rs: ReplicaSet, from: number, to: number): void {
    this.deps.recorder.event(this.d, 'Normal', 'ScalingReplicaSet', `Scaled ${to > from ? 'up' : 'down'} replica set ${rs.metadata.name} from ${from} to ${to}`);
  }

  /** Sets a ReplicaSet's size and replicas annotations; true when its size changed. */
  private async scaleRS(rs: ReplicaSet, size: number): Promise<boolean> {
    const d = this.d;
    const copy = structuredClone(rs);
    const resized = replicasOf(rs) !== size;
    const annotated = setReplicasAnnotations(copy, d.spec.replicas ?? 1, (d.spec.replicas ?? 1) + maxSurge(d));
    if (!resized && !annotated) return false;
    copy.spec.replicas = size;
    await this.updateRS(copy);
    if (resized) this.scaledEvent(rs, replicasOf(rs), size);
    return resized;
  }

  private current(rs: ReplicaSet): ReplicaSet {
    return this.sets.find((x) => x.metadata.uid === rs.metadata.uid) ?? rs;
  }

  // ---- rolling update -----------------------------------------------------------------------------

  private async rolloutRolling(): Promise<void> {
    let [newRS, oldRSs] = await this.getAll(true);
    if (newRS && (await this.reconcileNewReplicaSet(newRS, oldRSs))) return this.syncRolloutStatus();
    newRS = newRS && this.current(newRS);
    oldRSs = oldRSs.map((rs) => this.current(rs));
    if (await this.reconcileOldReplicaSets(newRS, oldRSs)) return this.syncRolloutStatus();
    if (deploymentComplete(this.d, this.calculateStatus())) await this.cleanup(oldRSs.map((rs) => this.current(rs)));
    return this.syncRolloutStatus();
  }

  private async reconcileNewReplicaSet(newRS: ReplicaSet, oldRSs: ReplicaSet[]): Promise<boolean> {
    const replicas = this.d.spec.replicas ?? 1;
    if (replicasOf(newRS) === replicas) return false;
    if (replicasOf(newRS) > replicas) return this.scaleRS(newRS, replicas);
    return this.scaleRS(newRS, this.newRSNewReplicas([...oldRSs, newRS], newRS));
  }

  private async reconcileOldReplicaSets(newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): Promise<boolean> {
    const activeOld = active(oldRSs);
    if (sumReplicas(activeOld) === 0) return false;
    const all = newRS ? [...oldRSs, newRS] : oldRSs;
    const minAvailable = (this.d.spec.replicas ?? 1) - maxUnavailable(this.d);
    const newUnavailable = replicasOf(newRS) - this.available(newRS);
    const maxScaledDown = sumReplicas(all) - minAvailable - newUnavailable;
    if (maxScaledDown <= 0) return false;
    // First the old ReplicaSets' pods that are not available: removing them costs no availability.
    let cleaned = 0;
    let budget = maxScaledDown;
    for (const rs of [...activeOld].sort(byCreation)) {
      if (budget <= 0) break;
      const unhealthy = replicasOf(rs) - this.available(rs);
      if (unhealthy <= 0) continue;
      const n = Math.min(budget, unhealthy);
      await this.scaleRS(rs, replicasOf(rs) - n);
      cleaned += n;
      budget -= n;
    }
    // Then available ones, as long as availability stays at or above minAvailable.
    const after = all.map((rs) => this.current(rs));
    let total = after.reduce((n, rs) => n + this.available(rs), 0) - minAvailable;
    let scaled = 0;
    for (const rs of active(oldRSs.map((x) => this.current(x))).sort(byCreation)) {
      if (total <= 0) break;
      const n = Math.min(replicasOf(rs), total);
      await this.scaleRS(rs, replicasOf(rs) - n);
      total -= n;
      scaled += n;
    }
    return cleaned + scaled > 0;
  }

  // ---- recreate -----------------------------------------------------------------------------------

  private async rolloutRecreate(): Promise<void> {
    let [newRS, oldRSs] = await this.getAll(false);
    let scaledDown = false;
    for (const rs of active(oldRSs)) if (await this.scaleRS(rs, 0)) scaledDown = true;
    if (scaledDown) return this.syncRolloutStatus();
    const oldRunning = oldRSs.some((rs) => this.podsOf(rs).some((p) => !isPodTerminal(p)));
    if (oldRunning) return this.syncRolloutStatus();
    if (!newRS) [newRS, oldRSs] = await this.getAll(true);
    if (newRS) await this.scaleRS(this.current(newRS), this.d.spec.replicas ?? 1);
    if (deploymentComplete(this.d, this.calculateStatus())) await this.cleanup(oldRSs.map((rs) => this.current(rs)));
    return this.syncRolloutStatus();
  }

  // ---- scaling (paused, or replicas changed mid-rollout) ------------------------------------------

  private isScalingEvent(): boolean {
    const replicas = this.d.spec.replicas ?? 1;
    return active(this.sets).some((rs) => {
      const desired = intAnnotation(rs, DESIRED_REPLICAS);
      return desired !== undefined && desired !== replicas;
    });
  }

  private async syncScaling(): Promise<void> {
    const [newRS, oldRSs] = await this.getAll(false);
    await this.scale(newRS, oldRSs);
    if (this.d.spec.paused) await this.cleanup(oldRSs.map((rs) => this.current(rs)));
    await this.syncStatusOnly(newRS && this.current(newRS), oldRSs.map((rs) => this.current(rs)));
  }

  private async scale(newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): Promise<void> {
    const d = this.d;
    const replicas = d.spec.replicas ?? 1;
    const only = this.activeOrLatest(newRS, oldRSs);
    if (only) {
      if (replicasOf(only) !== replicas) await this.scaleRS(only, replicas);
      return;
    }
    if (newRS && intAnnotation(newRS, DESIRED_REPLICAS) === replicas && replicasOf(newRS) === replicas && this.available(newRS) === replicas) {
      for (const rs of active(oldRSs)) await this.scaleRS(rs, 0);
      return;
    }
    if (!isRollingUpdate(d)) return;
    const all = active(newRS ? [...oldRSs, newRS] : oldRSs);
    const allowed = replicas > 0 ? replicas + maxSurge(d) : 0;
    const toAdd = allowed - sumReplicas(all);
    if (toAdd === 0) return;
    all.sort((a, b) => replicasOf(b) - replicasOf(a) || (toAdd > 0 ? created(b) - created(a) : created(a) - created(b)));
    const sizes = new Map<string, number>();
    let added = 0;
    for (const rs of all) {
      const proportion = this.proportion(rs, toAdd, added);
      sizes.set(rs.metadata.uid!, replicasOf(rs) + proportion);
      added += proportion;
    }
    const first = all[0]!.metadata.uid!;
    sizes.set(first, Math.max(0, sizes.get(first)! + toAdd - added));
    for (const rs of all) await this.scaleRS(rs, sizes.get(rs.metadata.uid!)!);
  }

  private activeOrLatest(newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): ReplicaSet | undefined {
    if (!newRS && oldRSs.length === 0) return undefined;
    const newestFirst = [...oldRSs].sort((a, b) => byCreation(b, a));
    const all = active(newRS ? [...newestFirst, newRS] : newestFirst);
    if (all.length === 0) return newRS ?? newestFirst[0];
    return all.length === 1 ? all[0] : undefined;
  }

  /** A ReplicaSet's share of a size change, from its size relative to the deployment's size when it was last scaled. */
  private proportion(rs: ReplicaSet, toAdd: number, added: number): number {
    if (replicasOf(rs) === 0 || toAdd === added) return 0;
    const d = this.d;
    const replicas = d.spec.replicas ?? 1;
    let fraction: number;
    if (replicas === 0) fraction = -replicasOf(rs);
    else {
      const annotated = intAnnotation(rs, MAX_REPLICAS) ?? d.status?.replicas ?? 0;
      fraction = annotated > 0 ? Math.round((replicasOf(rs) * (replicas + maxSurge(d))) / annotated) - replicasOf(rs) : 0;
    }
    const allowed = toAdd - added;
    return toAdd > 0 ? Math.min(fraction, allowed) : Math.max(fraction, allowed);
  }

  // ---- history ------------------------------------------------------------------------------------

  /** Deletes the oldest idle ReplicaSets beyond revisionHistoryLimit. */
  private async cleanup(oldRSs: ReplicaSet[]): Promise<void> {
    const limit = this.d.spec.revisionHistoryLimit;
    if (limit === undefined) return;
    const cleanable = oldRSs.filter((rs) => !rs.metadata.deletionTimestamp);
    let diff = cleanable.length - limit;
    if (diff <= 0) return;
    for (const rs of [...cleanable].sort((a, b) => revisionOf(a) - revisionOf(b) || byCreation(a, b))) {
      if (diff <= 0) break;
      if (replicasOf(rs) !== 0 || (rs.status?.replicas ?? 0) !== 0 || this.counts(rs).actual !== 0) continue;
      if ((rs.metadata.generation ?? 0) > (rs.status?.observedGeneration ?? 0)) continue;
      diff--;
      try {
        await this.deps.client.delete(REPLICASETS, rs.metadata.name, { namespace: rs.metadata.namespace, preconditions: { uid: rs.metadata.uid } });
      } catch (err) {
        if (!isNubisError(err, 'NotFound') && !isNubisError(err, 'Conflict')) throw err;
      }
    }
  }

  // ---- status -------------------------------------------------------------------------------------

  private checkPausedConditions = async (): Promise<void> => {
    const d = this.d;
    if (!hasProgressDeadline(d)) return;
    const c = getCondition(d.status, 'Progressing');
    if (c?.reason === REASON.timedOut) return;
    const pausedCond = c?.reason === REASON.paused;
    const status = structuredClone(d.status ?? {});
    if (d.spec.paused && !pausedCond) setCondition(status, newCondition('Progressing', 'Unknown', REASON.paused, 'Deployment is paused'));
    else if (!d.spec.paused && pausedCond) setCondition(status, newCondition('Progressing', 'Unknown', REASON.resumed, 'Deployment is resumed'));
    else return;
    await this.writeStatus(status);
  };

  private calculateStatus(): DeploymentStatus {
    const d = this.d;
    const newRS = this.sets.find((rs) => equalIgnoreHash(rs.spec.template, d.spec.template));
    let replicas = 0;
    let ready = 0;
    let available = 0;
    let updated = 0;
    for (const rs of this.sets) {
      const c = this.counts(rs);
      replicas += c.actual;
      ready += c.ready;
      available += c.available;
      if (rs === newRS) updated = c.actual;
    }
    const total = sumReplicas(this.sets);
    const status: DeploymentStatus = structuredClone(d.status ?? {});
    Object.assign(status, {
      observedGeneration: d.metadata.generation,
      replicas,
      updatedReplicas: updated,
      readyReplicas: ready,
      availableReplicas: available,
      unavailableReplicas: Math.max(0, total - available),
    });
    if (available >= (d.spec.replicas ?? 1) - maxUnavailable(d)) {
      setCondition(status, newCondition('Available', 'True', REASON.minAvailable, 'Deployment has minimum availability.'));
    } else {
      setCondition(status, newCondition('Available', 'False', REASON.minUnavailable, 'Deployment does not have minimum availability.'));
    }
    return status;
  }

  private async syncStatusOnly(_newRS?: ReplicaSet, _oldRSs?: ReplicaSet[]): Promise<void> {
    await this.writeStatus(this.calculateStatus());
  }

  private async syncRolloutStatus(): Promise<void> {
    const d = this.d;
    const newRS = this.sets.find((rs) => equalIgnoreHash(rs.spec.template, d.spec.template));
    const status = this.calculateStatus();
    if (!hasProgressDeadline(d)) removeCondition(status, 'Progressing');
    const cur = getCondition(d.status, 'Progressing');
    const complete = status.replicas === status.updatedReplicas && cur?.reason === REASON.newRSAvailable;
    if (hasProgressDeadline(d) && !complete) {
      const name = newRS ? `ReplicaSet "${newRS.metadata.name}"` : `Deployment "${d.metadata.name}"`;
      if (deploymentComplete(d, status)) {
        setCondition(status, newCondition('Progressing', 'True', REASON.newRSAvailable, `${name} has successfully progressed.`));
      } else if (deploymentProgressing(d, status)) {
        const c = newCondition('Progressing', 'True', REASON.rsUpdated, `${name} is progressing.`);
        if (cur?.status === 'True') c.lastTransitionTime = cur.lastTransitionTime;
        status.conditions = [...(status.conditions ?? []).filter((x) => x.type !== 'Progressing'), c];
      } else if (deploymentTimedOut(d, status)) {
        setCondition(status, newCondition('Progressing', 'False', REASON.timedOut, `${name} has timed out progressing.`));
        if (cur?.reason !== REASON.timedOut) this.deps.recorder.event(d, 'Warning', REASON.timedOut, `${name} has timed out progressing.`);
      }
    }
    const failure = this.sets.map((rs) => rs.status as { conditions?: Array<{ type: string; status: string; reason?: string; message?: string }> } | undefined)
      .flatMap((s) => s?.conditions ?? []).find((c) => c.type === 'ReplicaFailure' && c.status === 'True');
    if (failure) setCondition(status, newCondition('ReplicaFailure', 'True', failure.reason ?? 'FailedCreate', failure.message ?? ''));
    else removeCondition(status, 'ReplicaFailure');
    await this.writeStatus(status);
  }

  private async writeStatus(status: DeploymentStatus): Promise<void> {
    const saved = await writeStatus(this.deps.client, DEPLOYMENTS, this.d, status);
    this.d = { ...this.d, status: saved.status, metadata: { ...this.d.metadata, resourceVersion: saved.metadata.resourceVersion } };
  }
}
