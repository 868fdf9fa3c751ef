/**
 * One pod on this node, reconciled level-triggered: every sync compares the pod object (desired) with the
 * pod's workloads (actual) and takes the next steps — volumes, the sandbox (pinned namespaces and the pod
 * network: pod-sandbox.ts), init containers in order,
 * then the app containers, restarts per restartPolicy with back-off, probes — and reports the status when
 * it changed. Syncs of one pod never overlap; a kick during a sync runs one more sync after it.
 *
 * A pod marked for deletion (or gone from the API) is terminated: preStop hooks, the stop signal, the
 * grace period, SIGKILL; then every workload, volume, cgroup and directory of the pod is removed and the
 * pod object is deleted for good (gracePeriodSeconds=0), as the kubelet finalizes deletion.
 */
import path from 'node:path';
import type { Container, Pod, PodStatus } from '../api/core/v1/pod-types.js';
import type { EventType, Recorder } from '../client/event-recorder.js';
import type { RestClient } from '../client/rest-client.js';
import { removeCgroupTree } from '../host/cgroups.js';
import { isNubisError } from '../lib/errors.js';
import { trace } from '../lib/trace.js';
import { logger } from '../lib/log.js';
import type { WorkloadInfo, WorkloadSpec } from '../runtime/driver.js';
import type { RuntimeRegistry } from '../runtime/registry.js';
import type { SandboxDriver } from '../runtime/sandbox.js';
import type { Backoff } from './backoff.js';
import { containerSpec, LABELS, podCgroupParent, sandboxResources } from './container-spec.js';
import { containerSecurity, createFailure } from './container-security.js';
import { applyFsGroup } from './fs-group.js';
import { podRejection, type PodRejection } from './pod-admission.js';
import { resolveEnv, type DownwardContext, type ObjectSource } from './env.js';
import { ImagePullError, type ImagePuller } from './image-puller.js';
import type { NetworkPlugin } from './network-plugin.js';
import { PodSandbox } from './pod-sandbox.js';
import { writePodResolvConf } from './pod-dns.js';
import { fmtDelay, live, PodRuns, runOf, settledInfo, shouldRestart, terminal } from './container-runs.js';
import type { ContainerRun, ContainerView } from './pod-status.js';
import { PodStatusReporter } from './pod-status-reporter.js';
import { ContainerProbes } from './container-probes.js';
import type { ProbeRunner, ProbeTarget } from './probes.js';
import { PODS } from './resources.js';
import { checkSubPaths, type PodVolumes, type PreparedVolume } from './volumes.js';

const log = logger('agent');

/** What every pod worker shares. */
export interface WorkerDeps {
  /** The drivers of this machine; a pod's is picked by its RuntimeClass handler. */
  runtimes: RuntimeRegistry;
  /** The RuntimeClass handler of a pod (the default one without runtimeClassName); fails for a missing class. */
  handlerOf(pod: Pod): Promise<string>;
  client: RestClient;
  puller: ImagePuller;
  volumes: PodVolumes;
  objects: ObjectSource;
  network: NetworkPlugin;
  probeRunner: ProbeRunner;
  /** Container restarts (CrashLoopBackOff). */
  backoff: Backoff;
  /** Image pulls (ImagePullBackOff) and other start failures. */
  pullBackoff: Backoff;
  hostIP: string;
  allocatable(): DownwardContext['allocatable'];
  /** Milliseconds per probe second (1000; tests shorten). */
  probeMsPerSecond: number;
  /** How often configMap and secret volumes are refreshed. */
  volumeRefreshMs: number;
  /** Events about pods (Created, Started, Killing, BackOff, Failed...); none when absent. */
  recorder?: Recorder;
  /** The cluster DNS resolv.conf of a pod in `namespace` (dnsPolicy ClusterFirst), when there is one. */
  resolvConf?: (namespace: string) => string | undefined;
  /** Where Localhost seccomp profiles live. */
  seccompDir: string;
}

/** The pod a worker is for, known even when the object is gone. */
export interface PodIdentity {
  uid: string;
  namespace: string;
  name: string;
}

export class PodWorker {
  #pod: Pod | undefined;
  #gone = false;
  /** The pod's driver and sandbox, once picked (by the pod's handler, or by the workloads found at recovery). */
  #driver: SandboxDriver | undefined;
  #sandbox: PodSandbox | undefined;
  readonly #runs = new PodRuns();
  readonly #waiting = new Map<string, { reason: string; message?: string }>();
  readonly #probes: ContainerProbes;
  #volumes: Map<string, PreparedVolume> | undefined;
  #volumesAt = 0;
  #resolvFile: string | null | undefined;
  readonly #status: PodStatusReporter;
  #stoppedAll = false;
  #busy = false;
  #pollAgain = false;
  #dirty = false;
  #finished = false;
  #timer: NodeJS.Timeout | undefined;
  #timerDue = 0;
  /** Resolves when the worker has removed everything of its pod. */
  readonly done: Promise<void>;
  #resolveDone!: () => void;

  constructor(
    readonly id: PodIdentity,
    private readonly deps: WorkerDeps,
  ) {
    this.done = new Promise((r) => (this.#resolveDone = r));
    this.#status = new PodStatusReporter(deps.client);
    this.#probes = new ContainerProbes({
      runner: deps.probeRunner,
      msPerSecond: deps.probeMsPerSecond,
      onChange: (_name, w) => {
        if (!w.result) this.#event('Warning', 'Unhealthy', `${w.kind[0]!.toUpperCase()}${w.kind.slice(1)} probe failed: ${w.lastMessage ?? 'no reason given'}`);
        this.kick();
      },
    });
  }

  get pod(): Pod | undefined {
    return this.#pod;
  }

  get finished(): boolean {
    return this.#finished;
  }

  /** The newest pod object from the API. */
  update(pod: Pod): void {
    this.#pod = pod;
    this.#status.started(pod);
    this.kick();
  }

  /** The pod object was deleted from the API: terminate and clean up. */
  gone(): void {
    this.#gone = true;
    this.kick();
  }

  /** The pod's driver, once picked. */
  get driver(): SandboxDriver | undefined {
    return this.#driver;
  }

  /** Takes over workloads a previous agent made with `driver` (recovery), without touching them. */
  adopt(infos: WorkloadInfo[], driver: SandboxDriver): void {
    this.#use(driver);
    for (const info of infos) {
      const labels = info.spec.labels ?? {};
      const run = runOf(info);
      this.#watchExit(run);
      if (labels[LABELS.role] === 'sandbox') {
        this.#sandbox!.adoptInfra(run);
        continue;
      }
      this.#runs.adopt(labels[LABELS.container] ?? '', run);
    }
  }

  /** The container ID of a container's latest run (or the one before with `previous`). */
  containerId(name: string, previous = false): string | undefined {
    return this.#runs.current(name, previous)?.id;
  }

  /** Why a container has no run to show logs of or exec into, if the agent knows. */
  waitingReason(name: string): string | undefined {
    return this.#waiting.get(name)?.reason;
  }

  /** Running containers (for stats). */
  runningContainers(): Array<{ name: string; id: string }> {
    return this.#runs.running();
  }

  kick(): void {
    this.#dirty = true;
    if (!this.#busy && !this.#finished) void this.#loop();
  }

  /** Stops timers and probes without touching workloads (the agent is stopping). */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#finished = true;
    this.#probes.stopAll();
  }

  /** Looks for runs that exited since the last look (cheap: no runtime call unless one did). */
  async poll(): Promise<void> {
    if (this.#busy) this.#pollAgain = true; // looked at once the sync in progress ends
    if (this.#finished || this.#busy) return;
    const check = this.#runs.live().map(({ run }) => run);
    let changed = false;
    for (const run of check) {
      const exited = this.#d.hasExited ? await this.#d.hasExited(run.id) : true;
      if (exited === false) continue;
      if (await this.#refresh(run)) changed = true;
    }
    if (changed) this.kick();
  }

  /** Re-reads a run's state; true when it changed. */
  async #refresh(run: ContainerRun): Promise<boolean> {
    try {
      const info = await settledInfo(this.#d, run.id);
      const changed = info.state.status !== run.state.status;
      run.state = info.state;
      return changed;
    } catch (err) {
      if (!isNubisError(err, 'NotFound')) throw err;
      log.debug(`run ${run.id} is gone: ${(err as Error).message}`);
      run.state = { status: 'exited', exitCode: -1, oomKilled: false, startedAt: run.state.startedAt, finishedAt: new Date() };
      return true;
    }
  }

  /**
   * Asks for a sync within `ms`. The earliest request wins: a later, longer wait (a back-off) must not
   * push back a sooner one (a volume refresh), or the sooner work would silently starve.
   */
  #schedule(ms: number): void {
    const due = Date.now() + Math.max(10, ms);
    if (this.#timer !== undefined && this.#timerDue <= due) return;
    clearTimeout(this.#timer);
    this.#timerDue = due;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.kick();
    }, due - Date.now());
    this.#timer.unref();
  }

  async #loop(): Promise<void> {
    this.#busy = true;
    try {
      while (this.#dirty && !this.#finished) {
        this.#dirty = false;
        try {
          await this.#sync();
        } catch (err) {
          log.warn(`pod ${this.id.namespace}/${this.id.name}: sync failed: ${(err as Error).message}`);
          this.#schedule(2000);
        }
      }
    } finally {
      this.#busy = false;
    }
    if (this.#pollAgain) {
      this.#pollAgain = false;
      void this.poll().catch((err: unknown) => log.debug(`poll ${this.id.name}: ${(err as Error).message}`));
    }
  }

  /** A live run's exit triggers a poll at once (the exit watch), not at the next tick. */
  #watchExit(run: ContainerRun): void {
    if (live(run)) this.#d.watchExit(run.id, () => void this.poll().catch((err: unknown) => log.debug(`poll ${this.id.name}: ${(err as Error).message}`)));
  }

  #downward(): DownwardContext {
    return { hostIP: this.deps.hostIP, podIP: this.#sandbox?.podIP, allocatable: this.deps.allocatable() };
  }

  /** The pod's driver; only called where the pod has runs, which it has only once a driver is picked. */
  get #d(): SandboxDriver {
    if (!this.#driver) throw new Error(`pod ${this.id.namespace}/${this.id.name} has no runtime driver yet`);
    return this.#driver;
  }

  #use(driver: SandboxDriver): void {
    if (this.#driver) return;
    this.#driver = driver;
    this.#sandbox = new PodSandbox({ podUid: this.id.uid, namespace: this.id.namespace, name: this.id.name }, { driver, network: this.deps.network });
  }

  /** Picks the pod's driver by its RuntimeClass handler; false (the pod waits, with an event) when there is none. */
  async #pickDriver(pod: Pod): Promise<boolean> {
    if (this.#driver) return true;
    try {
      this.#use(this.deps.runtimes.forHandler(await this.deps.handlerOf(pod)));
      return true;
    } catch (err) {
      return this.#waitAll('ContainerCreating', `Failed to create pod sandbox: ${(err as Error).message}`, 10_000, 'FailedCreatePodSandBox');
    }
  }

  #probeTarget(c: Container, run: ContainerRun): ProbeTarget {
    const fromNode = this.#d.sandboxCapabilities.kernel === 'guest';
    return { driver: this.#d, containerId: run.id, netns: this.#sandbox?.info?.networkNamespace, fromNode, podIP: this.#sandbox?.podIP || undefined, container: c };
  }

  async #sync(): Promise<void> {
    const pod = this.#pod;
    if (this.#gone || !pod || pod.metadata.deletionTimestamp) return this.#terminate();
    this.#status.started();
    if (terminal(pod.status?.phase) || terminal(this.#status.last?.phase)) {
      await this.#stopAll();
      await this.#report();
      return;
    }
    trace(`pod ${this.id.name}: sync`);
    const rejection = podRejection(pod);
    if (rejection) return this.#reject(pod, rejection);
    if (!(await this.#pickDriver(pod))) return;
    if (!(await this.#ensureVolumes(pod))) return;
    trace(`pod ${this.id.name}: volumes`);
    if (!(await this.#ensureSandbox())) return;
    trace(`pod ${this.id.name}: sandbox`);
    if (await this.#syncInit(pod)) await this.#syncApps(pod);
    trace(`pod ${this.id.name}: apps`);
    const status = await this.#report();
    trace(`pod ${this.id.name}: reported ${status?.phase}`);
    if (terminal(status?.phase)) await this.#stopAll();
  }

  async #ensureVolumes(pod: Pod): Promise<boolean> {
    const age = Date.now() - this.#volumesAt;
    if (this.#volumes && age < this.deps.volumeRefreshMs) {
      // still fresh (a timer may fire a millisecond early): keep the next refresh scheduled
      this.#schedule(this.deps.volumeRefreshMs - age);
      return true;
    }
    try {
      this.#volumes = await this.deps.volumes.setUp(pod, this.#downward());
      this.#volumesAt = Date.now();
      this.#schedule(this.deps.volumeRefreshMs);
      return true;
    } catch (err) {
      if (this.#volumes) {
        log.warn(`pod ${this.id.namespace}/${this.id.name}: volume refresh failed: ${(err as Error).message}`);
        return true;
      }
      return this.#waitAll('ContainerCreating', `MountVolume.SetUp failed: ${(err as Error).message}`, 2000, 'FailedMount');
    }
  }

  /** An Event about this pod (as `kubectl describe pod` lists them). */
  #event(type: EventType, reason: string, message: string): void {
    if (this.#pod && this.deps.recorder) this.deps.recorder.event({ ...this.#pod, apiVersion: 'v1', kind: 'Pod' }, type, reason, message);
  }

  /** Marks every container not yet run as waiting, reports (with a Warning event), and retries later; false. */
  async #waitAll(reason: string, message: string, retryMs: number, event?: string): Promise<false> {
    if (event) this.#event('Warning', event, message);
    for (const c of [...(this.#pod!.spec.initContainers ?? []), ...this.#pod!.spec.containers]) {
      if (!live(this.#runs.current(c.name))) this.#waiting.set(c.name, { reason, message });
    }
    await this.#report();
    this.#schedule(retryMs);
    return false;
  }

  /** Fails a pod this node refuses (pod-admission.ts), with an event, as the kubelet rejects a pod. */
  async #reject(pod: Pod, r: PodRejection): Promise<void> {
    this.#event('Warning', r.reason, r.message);
    await this.#status.set(pod, { phase: 'Failed', reason: r.reason, message: `Pod was rejected: ${r.message}` });
    this.#dirty = true;
  }

  /** The pod's sandbox and network (pod-sandbox.ts); containers left in a lost one are stopped. */
  async #ensureSandbox(): Promise<boolean> {
    try {
      const made = await this.#sandbox!.ensure(async () => {
        const orphaned = this.#runs.live();
        await Promise.all(orphaned.map(({ run }) => this.#d.stop(run.id, { timeoutSeconds: 0 }).catch(() => {})));
        for (const { run } of orphaned) await this.#refresh(run);
        return orphaned.length;
      }, { userNamespace: this.#pod?.spec.hostUsers === false, resources: this.#pod ? sandboxResources(this.#pod) : undefined, limits: this.#pod ? sandboxResources(this.#pod, { overhead: true }) : undefined });
      if (made === 'made') {
        const about = await this.#d.describeSandbox?.(this.id.uid).catch(() => undefined);
        if (about) this.#event('Normal', 'SandboxCreated', `Pod sandbox: ${about}`);
      }
      return true;
    } catch (err) {
      return this.#waitAll('ContainerCreating', (err as Error).message, 5000, 'FailedCreatePodSandBox');
    }
  }

  /** The pod's resolv.conf on the host (written once; all its containers mount it), or null for the image's. */
  async #resolvConf(pod: Pod): Promise<string | null> {
    if (this.#resolvFile !== undefined) return this.#resolvFile;
    const file = await writePodResolvConf(path.join(this.deps.volumes.podDir(this.id.uid), 'resolv.conf'), pod, this.deps.resolvConf?.(pod.metadata.namespace ?? 'default'));
    if (file === undefined) return null; // not cached: the cluster DNS may be known at the next start
    return (this.#resolvFile = file);
  }

  /** Runs init containers in order; true once all completed. */
  async #syncInit(pod: Pod): Promise<boolean> {
    for (const c of pod.spec.initContainers ?? []) {
      const cur = this.#runs.current(c.name);
      if (live(cur)) return false;
      if (cur && cur.state.exitCode === 0) continue;
      if (cur) {
        log.debug(`pod ${this.id.namespace}/${this.id.name}: init container ${c.name} exited with ${cur.state.exitCode}`);
        if (shouldRestart(pod.spec.restartPolicy === 'Never' ? 'Never' : 'OnFailure', cur.state.exitCode)) await this.#restart(pod, c, 'init', cur);
        return false;
      }
      await this.#start(pod, c, 'init', 0);
      return false;
    }
    return true;
  }

  async #syncApps(pod: Pod): Promise<void> {
    for (const c of pod.spec.containers) {
      const cur = this.#runs.current(c.name);
      if (live(cur)) {
        if (this.#probes.livenessFailed(c.name)) await this.#killUnhealthy(pod, c, cur!);
        else if (!this.#probes.has(c.name)) this.#startProbes(c, cur!);
        continue;
      }
      if (cur) {
        if (shouldRestart(pod.spec.restartPolicy, cur.state.exitCode)) await this.#restart(pod, c, 'app', cur);
        continue;
      }
      await this.#start(pod, c, 'app', 0);
    }
  }

  async #killUnhealthy(pod: Pod, c: Container, run: ContainerRun): Promise<void> {
    this.#probes.stop(c.name);
    const grace = c.livenessProbe?.terminationGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30;
    log.info(`pod ${this.id.namespace}/${this.id.name}: container ${c.name} failed liveness probe, will be restarted`);
    await this.#stopRun(c, run, grace);
    await this.#refresh(run);
    this.#dirty = true;
  }

  async #restart(pod: Pod, c: Container, role: 'init' | 'app', cur: ContainerRun): Promise<void> {
    const key = `${this.id.uid}/${c.name}`;
    const wait = this.deps.backoff.remaining(key, { startedAt: cur.state.startedAt?.getTime(), finishedAt: cur.state.finishedAt?.getTime() });
    if (wait > 0) {
      const delay = fmtDelay(this.deps.backoff.currentDelay(key));
      if (this.#waiting.get(c.name)?.reason !== 'CrashLoopBackOff') this.#event('Warning', 'BackOff', `Back-off restarting failed container ${c.name} in pod ${this.id.name}_${this.id.namespace}(${this.id.uid})`);
      this.#waiting.set(c.name, {
        reason: 'CrashLoopBackOff',
        message: `back-off ${delay} restarting failed container=${c.name} pod=${this.id.name}_${this.id.namespace}(${this.id.uid})`,
      });
      this.#schedule(wait);
      return;
    }
    this.deps.backoff.restarted(key);
    await this.#start(pod, c, role, cur.restartCount + 1);
  }

  /** Pulls, resolves env, creates and starts one run of a container; failures leave it waiting with a reason. */
  async #start(pod: Pod, c: Container, role: 'init' | 'app', restartCount: number): Promise<void> {
    const driver = this.#d;
    const pullKey = `pull:${this.id.uid}/${c.name}`;
    const retry = (reason: string, message: string) => {
      this.deps.pullBackoff.restarted(pullKey);
      this.#waiting.set(c.name, { reason, message });
      this.#event('Warning', 'Failed', `Error: ${reason}: ${message}`);
      this.#schedule(this.deps.pullBackoff.remaining(pullKey, {}));
    };
    const wait = this.deps.pullBackoff.remaining(pullKey, {});
    if (wait > 0) {
      const w = this.#waiting.get(c.name);
      if (w?.reason === 'ErrImagePull') this.#waiting.set(c.name, { reason: 'ImagePullBackOff', message: `Back-off pulling image "${c.image}"` });
      this.#schedule(wait);
      return;
    }
    if (!this.#waiting.has(c.name)) this.#waiting.set(c.name, { reason: 'ContainerCreating' });
    try {
      await this.deps.puller.ensure(c.image ?? '', c.imagePullPolicy);
    } catch (err) {
      if (err instanceof ImagePullError) return retry(err.reason, err.message);
      throw err;
    }
    let spec;
    try {
      spec = await this.#workloadSpec(pod, c, role, restartCount);
    } catch (err) {
      return retry('CreateContainerConfigError', (err as Error).message);
    }
    let info: WorkloadInfo;
    try {
      info = await driver.create(spec);
    } catch (err) {
      if (await this.#sandbox!.lost()) {
        // Its pinned namespaces were unmounted under it: the next sync makes the sandbox again.
        log.warn(`pod ${this.id.namespace}/${this.id.name}: its sandbox is gone (${(err as Error).message})`);
        this.#dirty = true;
        return;
      }
      return retry(isNubisError(err, 'Invalid') ? 'CreateContainerConfigError' : 'CreateContainerError', createFailure(err, pod, c));
    }
    try {
      await driver.start(info.id);
    } catch (err) {
      await driver.remove(info.id, { force: true }).catch(() => {});
      return retry('RunContainerError', (err as Error).message);
    }
    this.deps.pullBackoff.forget(pullKey);
    const run = runOf(await settledInfo(driver, info.id));
    this.#watchExit(run);
    for (const old of this.#runs.push(c.name, run)) await driver.remove(old.id, { force: true }).catch(() => {});
    this.#waiting.delete(c.name);
    this.#event('Normal', 'Created', `Created container ${c.name}`);
    this.#event('Normal', 'Started', `Started container ${c.name}`);
    if (role === 'app') this.#startProbes(c, run);
  }

  /** The workload of a container: env, identity and confinement, volumes (fsGroup), the pod's resolv.conf. */
  async #workloadSpec(pod: Pod, c: Container, role: 'init' | 'app', restartCount: number): Promise<WorkloadSpec> {
    const env = await resolveEnv(pod, c, this.deps.objects, this.#downward());
    const identity = await containerSecurity({ pod, container: c, idMapping: this.#sandbox?.idMapping, seccompDir: this.deps.seccompDir });
    await applyFsGroup(pod, this.#volumes ?? new Map(), this.#sandbox?.idMapping);
    await checkSubPaths(c.volumeMounts ?? [], this.#volumes ?? new Map());
    const spec = containerSpec({ pod, container: c, role, restartCount, env, volumes: this.#volumes ?? new Map(), sandbox: this.id.uid, identity });
    const resolv = await this.#resolvConf(pod);
    if (resolv) spec.mounts = [...(spec.mounts ?? []), { source: resolv, destination: '/etc/resolv.conf', readOnly: true }];
    return spec;
  }

  #startProbes(c: Container, run: ContainerRun): void {
    const reported = this.#pod?.status?.containerStatuses?.find((st) => st.name === c.name && st.containerID === `nubis://${run.id}`);
    this.#probes.start(c, run.id, reported, () => this.#probeTarget(c, run));
  }

  #view(c: Container): ContainerView {
    const cur = this.#runs.current(c.name);
    const { ready, started } = this.#probes.results(c, cur?.id);
    return {
      name: c.name,
      image: c.image ?? '',
      current: cur,
      previous: this.#runs.current(c.name, true),
      waiting: live(cur) ? undefined : this.#waiting.get(c.name),
      ready,
      started,
    };
  }

  /** Computes the status and patches it when it changed; undefined when the pod object is gone. */
  async #report(): Promise<PodStatus | undefined> {
    const pod = this.#pod;
    if (!pod || this.#gone) return undefined;
    return this.#status.report(pod, {
      init: (pod.spec.initContainers ?? []).map((c) => this.#view(c)),
      containers: pod.spec.containers.map((c) => this.#view(c)),
      sandboxReady: this.#sandbox?.info !== undefined,
      hostIP: this.deps.hostIP,
      podIP: this.#sandbox?.podIP || undefined,
    });
  }

  /** Stops one run: the preStop hook (exec or HTTP), then the stop signal, then SIGKILL after the grace period. */
  async #stopRun(c: Container | undefined, run: ContainerRun, graceSeconds: number): Promise<void> {
    const deadline = Date.now() + graceSeconds * 1000;
    const preStop = c?.lifecycle?.preStop;
    if (preStop && run.state.status === 'running' && graceSeconds > 0) {
      await this.deps.probeRunner(preStop, graceSeconds, this.#probeTarget(c!, run));
    }
    const left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    if (c && run.state.status === 'running') this.#event('Normal', 'Killing', `Stopping container ${c.name}`);
    await this.#d.stop(run.id, { timeoutSeconds: left }).catch((err: unknown) => {
      if (!isNubisError(err, 'Conflict') && !isNubisError(err, 'NotFound')) throw err;
    });
  }

  /** Stops every live run with the grace period (probes first) and reads their end. */
  async #stopLive(grace: number): Promise<void> {
    this.#probes.stopAll();
    const containers = [...(this.#pod?.spec.initContainers ?? []), ...(this.#pod?.spec.containers ?? [])];
    const running = this.#runs.live();
    if (running.length > 0) log.info(`pod ${this.id.namespace}/${this.id.name}: stopping ${running.length} container(s), grace period ${grace}s`);
    await Promise.all(running.map(({ name, run }) => this.#stopRun(containers.find((c) => c.name === name), run, grace)));
    for (const { run } of running) await this.#refresh(run);
  }

  /** A completed pod: nothing runs any more (containers are kept for their logs until the pod goes). */
  async #stopAll(): Promise<void> {
    if (this.#stoppedAll) return;
    await this.#stopLive(this.#pod?.spec.terminationGracePeriodSeconds ?? 30);
    // The sandbox goes (and the pod's address with it), whether this agent made it or an earlier one did.
    await this.#sandbox?.remove().catch((err: unknown) => log.warn(`sandbox of ${this.id.name}: ${(err as Error).message}`));
    this.#stoppedAll = true;
  }

  async #terminate(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const pod = this.#pod;
    await this.#stopLive(pod?.metadata.deletionGracePeriodSeconds ?? pod?.spec.terminationGracePeriodSeconds ?? 30);
    if (pod && !this.#gone) await this.#report().catch(() => undefined);
    await this.#removeAll();
    if (pod && !this.#gone && pod.metadata.deletionTimestamp) {
      await this.deps.client.delete(PODS, pod.metadata.name, { namespace: this.id.namespace, gracePeriodSeconds: 0, preconditions: { uid: this.id.uid } }).catch((err: unknown) => {
        if (!isNubisError(err, 'NotFound') && !isNubisError(err, 'Conflict')) throw err;
      });
    }
    this.#finished = true;
    this.#resolveDone();
  }

  /** Removes every workload, the network, the volumes and the cgroup of the pod. */
  async #removeAll(): Promise<void> {
    const driver = this.#driver;
    await this.#sandbox?.remove();
    for (const { id } of this.#runs.all(true)) {
      driver?.unwatchExit(id);
      await driver?.remove(id, { force: true }).catch((err: unknown) => {
        if (!isNubisError(err, 'NotFound')) throw err;
      });
    }
    await this.deps.volumes.tearDown(this.id.uid);
    await removeCgroupTree(podCgroupParent(this.id.uid)).catch((err: unknown) => log.warn(`cgroup of pod ${this.id.name}: ${(err as Error).message}`));
    this.deps.backoff.forgetPrefix(`${this.id.uid}/`);
    this.deps.pullBackoff.forgetPrefix(`pull:${this.id.uid}/`);
  }
}
