/**
 * The Job controller: runs pods until `completions` succeed (or, without completions, until one
 * succeeds), at most `parallelism` at a time; counts failed pods (and container restarts under
 * restartPolicy OnFailure) against `backoffLimit`, waiting an exponential backoff before replacing a
 * failed pod; fails the Job past the limit or past activeDeadlineSeconds, deleting its active pods;
 * suspends and resumes; writes active/ready/succeeded/failed, startTime, completionTime and the
 * conditions (Complete, Failed, SuccessCriteriaMet, FailureTarget, Suspended); and deletes finished
 * Jobs after ttlSecondsAfterFinished.
 *
 * Pods are counted as they are found (Kubernetes also tracks them with a finalizer so that counts
 * survive pods being deleted by hand; Nubis does not yet).
 */
import type { Job, JobStatus } from '../../api/batch/v1/job.js';
import type { Pod } from '../../api/core/v1/pod-types.js';
import type { Informer } from '../../client/informer.js';
import { NAMESPACE_INDEX } from '../../client/object-cache.js';
import { isNubisError, messageOf } from '../../lib/errors.js';
import { logger } from '../../lib/log.js';
import { claimObjects, recheckOwner } from '../claim.js';
import { type Controller, type ControllerDeps, runController, resolveOwner, slowStartBatch, writeStatus } from '../controller.js';
import { Expectations } from '../expectations.js';
import { compareForDeletion, isPodActive, isPodReady, keyOf, podFromTemplate, splitKey } from '../pod-util.js';
import { JOBS, PODS } from '../resources.js';
import { type ReconcileResult, WorkQueue } from '../work-queue.js';

const log = logger('job-controller');

export interface JobControllerOptions {
  workers?: number;
  /** Delay before replacing the first failed pod; doubles per failure (default 10 s, as Kubernetes). */
  backoffBaseMs?: number;
  /** Longest such delay (default 6 min). */
  backoffMaxMs?: number;
}

type Condition = NonNullable<JobStatus['conditions']>[number];
const stamp = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

export function isJobFinished(job: Job): boolean {
  return job.status?.conditions?.some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True') ?? false;
}

function setCondition(status: JobStatus, type: string, value: 'True' | 'False', reason: string, message: string): void {
  const cur = status.conditions?.find((c) => c.type === type);
  if (cur && cur.status === value && cur.reason === reason) return;
  const now = stamp();
  const c: Condition = { type, status: value, reason, message, lastProbeTime: now, lastTransitionTime: cur?.status === value ? cur.lastTransitionTime : now };
  status.conditions = [...(status.conditions ?? []).filter((x) => x.type !== type), c];
}

export class JobController implements Controller {
  readonly name = 'job';
  readonly queue = new WorkQueue();
  readonly expectations = new Expectations();
  private readonly jobs: Informer<Job>;
  private readonly pods: Informer<Pod>;
  /** When each job's failure count last rose (local clock), for the backoff. */
  private readonly lastFailure = new Map<string, { failed: number; at: number }>();

  constructor(
    private readonly deps: ControllerDeps,
    private readonly opts: JobControllerOptions = {},
  ) {
    this.jobs = deps.informers.get<Job>(JOBS);
    this.pods = deps.informers.get<Pod>(PODS);
    const enqueue = (j: Job) => this.queue.add(keyOf(j));
    this.jobs.addHandlers({ add: enqueue, update: (_o, j) => enqueue(j), delete: (j) => { this.expectations.delete(keyOf(j)); this.lastFailure.delete(keyOf(j)); enqueue(j); } });
    this.pods.addHandlers({
      add: (p) => {
        const j = this.ownerOf(p);
        if (!j) return;
        this.expectations.creationObserved(keyOf(j));
        enqueue(j);
      },
      update: (o, p) => {
        const j = this.ownerOf(p);
        if (!j || o.metadata.resourceVersion === p.metadata.resourceVersion) return;
        if (p.metadata.deletionTimestamp && !o.metadata.deletionTimestamp) this.expectations.deletionObserved(keyOf(j), keyOf(p));
        enqueue(j);
      },
      delete: (p) => {
        const j = this.ownerOf(p);
        if (!j) return;
        this.expectations.deletionObserved(keyOf(j), keyOf(p));
        enqueue(j);
      },
    });
  }

  run(signal: AbortSignal): Promise<void> {
    return runController(this.deps, this.queue, signal, this.opts.workers ?? 2, (key) => this.sync(key), log);
  }

  private ownerOf(pod: Pod): Job | undefined {
    return resolveOwner(this.jobs, pod, 'Job');
  }

  async sync(key: string): Promise<ReconcileResult> {
    const job = this.jobs.cache.get(key);
    if (!job) {
      this.expectations.delete(key);
      return;
    }
    if (isJobFinished(job)) return this.afterFinish(job);
    const { namespace } = splitKey(key);
    // The server generates the selector from the uid; should a Job arrive without one, use the same labels.
    const uid = job.metadata.uid ?? '';
    const selector = job.spec.selector ?? { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
    const pods = await claimObjects({
      client: this.deps.client,
      resource: PODS,
      owner: job,
      selector,
      candidates: this.pods.cache.byIndex(NAMESPACE_INDEX, namespace ?? ''),
      canAdopt: recheckOwner(this.deps.client, JOBS, job),
    });
    const spec = job.spec;
    const active = pods.filter(isPodActive);
    const succeeded = pods.filter((p) => p.status?.phase === 'Succeeded').length;
    let failed = pods.filter((p) => p.status?.phase === 'Failed').length;
    if (spec.template.spec.restartPolicy === 'OnFailure') {
      failed += active.reduce((n, p) => n + (p.status?.containerStatuses ?? []).reduce((m, c) => m + (c.restartCount ?? 0), 0), 0);
    }
    const now = Date.now();
    const prevFailure = this.lastFailure.get(key);
    if (!prevFailure) this.lastFailure.set(key, { failed, at: failed > 0 ? now : 0 });
    else if (failed > prevFailure.failed) this.lastFailure.set(key, { failed, at: now });

    const status: JobStatus = structuredClone(job.status ?? {});
    const suspended = spec.suspend === true;
    if (!status.startTime && !suspended) status.startTime = stamp();
    let wait: number | undefined;

    let failure: [string, string] | undefined;
    if (failed > (spec.backoffLimit ?? 6)) failure = ['BackoffLimitExceeded', 'Job has reached the specified backoff limit'];
    else if (spec.activeDeadlineSeconds && status.startTime && !suspended) {
      const left = Date.parse(status.startTime) + spec.activeDeadlineSeconds * 1000 - now;
      if (left <= 0) failure = ['DeadlineExceeded', 'Job was active longer than specified deadline'];
      else wait = left + 10;
    }
    const completions = spec.completions;
    const complete = !failure && (completions !== undefined ? succeeded >= completions : succeeded > 0 && active.length === 0);
    const needsSync = this.expectations.satisfied(key);

    if (failure) {
      await this.deletePods(job, active);
      setCondition(status, 'FailureTarget', 'True', failure[0], failure[1]);
      setCondition(status, 'Failed', 'True', failure[0], failure[1]);
      this.deps.recorder.event(job, 'Warning', failure[0], failure[1]);
    } else if (complete) {
      await this.deletePods(job, active);
      setCondition(status, 'SuccessCriteriaMet', 'True', 'CompletionsReached', 'Reached expected number of succeeded pods');
      setCondition(status, 'Complete', 'True', 'CompletionsReached', 'Reached expected number of succeeded pods');
      status.completionTime = stamp();
      this.deps.recorder.event(job, 'Normal', 'Completed', 'Job completed');
    } else if (needsSync) {
      const parallelism = spec.parallelism ?? 1;
      let want = completions === undefined ? (succeeded > 0 ? 0 : parallelism) : Math.min(parallelism, completions - succeeded);
      if (suspended) want = 0;
      if (active.length > want) {
        await this.deletePods(job, [...active].sort(compareForDeletion).slice(0, active.length - want));
      } else if (active.length < want) {
        const backoff = this.backoffLeft(key, failed, now);
        if (backoff > 0) wait = Math.min(wait ?? Infinity, backoff);
        else await this.createPods(job, want - active.length);
      }
    }
    if (suspended && !failure && !complete) setCondition(status, 'Suspended', 'True', 'JobSuspended', 'Job suspended');
    else if (!suspended && status.conditions?.some((c) => c.type === 'Suspended' && c.status === 'True')) {
      setCondition(status, 'Suspended', 'False', 'JobResumed', 'Job resumed');
      status.startTime = stamp();
    }
    const remaining = failure || complete ? [] : active;
    Object.assign(status, { active: remaining.length, ready: remaining.filter(isPodReady).length, succeeded, failed, terminating: pods.filter((p) => p.metadata.deletionTimestamp && isTerminating(p)).length });
    for (const k of ['succeeded', 'failed', 'terminating'] as const) if (!status[k]) delete status[k];
    if (!status.active) delete status.active;
    await writeStatus(this.deps.client, JOBS, job, status);
    return wait !== undefined ? { requeueAfterMs: wait } : undefined;
  }

  private backoffLeft(key: string, failed: number, now: number): number {
    if (failed === 0) return 0;
    const base = this.opts.backoffBaseMs ?? 10_000;
    const delay = Math.min(this.opts.backoffMaxMs ?? 360_000, base * 2 ** (failed - 1));
    const at = this.lastFailure.get(key)?.at ?? 0;
    return Math.max(0, at + delay - now);
  }

  private async createPods(job: Job, count: number): Promise<void> {
    const key = keyOf(job);
    this.expectations.expectCreations(key, count);
    const { done, error } = await slowStartBatch(count, async () => {
      const labels = job.spec.selector ? {} : jobLabels(job);
      const created = await this.deps.client.create<Pod>(PODS, podFromTemplate(job.spec.template, job, { labels }));
      this.deps.recorder.event(job, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata.name}`);
    });
    for (let i = done; i < count; i++) this.expectations.creationObserved(key);
    if (error) {
      this.deps.recorder.event(job, 'Warning', 'FailedCreate', `Error creating: ${messageOf(error)}`);
      throw error;
    }
  }

  private async deletePods(job: Job, pods: Pod[]): Promise<void> {
    const key = keyOf(job);
    this.expectations.expectDeletions(key, pods.map(keyOf));
    await Promise.all(
      pods.map(async (p) => {
        try {
          await this.deps.client.delete(PODS, p.metadata.name, { namespace: p.metadata.namespace, preconditions: { uid: p.metadata.uid } });
          this.deps.recorder.event(job, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata.name}`);
        } catch (err) {
          this.expectations.deletionObserved(key, keyOf(p));
          if (!isNubisError(err, 'NotFound') && !isNubisError(err, 'Conflict')) throw err;
        }
      }),
    );
  }

  /** A finished Job: deleted (with its pods) once ttlSecondsAfterFinished passed. */
  private async afterFinish(job: Job): Promise<ReconcileResult> {
    const ttl = job.spec.ttlSecondsAfterFinished;
    if (ttl === undefined || job.metadata.deletionTimestamp) return;
    const finished = job.status?.completionTime ?? job.status?.conditions?.find((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True')?.lastTransitionTime;
    const at = Date.parse(finished ?? '') + ttl * 1000;
    const left = Number.isFinite(at) ? at - Date.now() : 0;
    if (left > 0) return { requeueAfterMs: left + 10 };
    try {
      await this.deps.client.delete(JOBS, job.metadata.name, { namespace: job.metadata.namespace, propagationPolicy: 'Background', preconditions: { uid: job.metadata.uid } });
    } catch (err) {
      if (!isNubisError(err, 'NotFound') && !isNubisError(err, 'Conflict')) throw err;
    }
    return undefined;
  }
}

/** The labels Kubernetes puts on a Job's pods when it generates the selector. */
function jobLabels(job: Job): Record<string, string> {
  const uid = job.metadata.uid ?? '';
  const name = job.metadata.name;
  return { 'batch.kubernetes.io/controller-uid': uid, 'batch.kubernetes.io/job-name': name, 'controller-uid': uid, 'job-name': name };
}

function isTerminating(p: Pod): boolean {
  return p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed';
}
