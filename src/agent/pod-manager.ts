/**
 * The pods of this node: an informer on the pods bound to it (field selector spec.nodeName), one
 * PodWorker per pod uid, and recovery. At start the workloads the runtime already has are grouped by
 * their pod labels and handed to the workers of their pods, which adopt them without restarting anything;
 * once the informer has synced, workloads and volume dirs of pods that no longer exist are removed.
 * Exits are reported by the exit watch (deps.exits) as they happen; a ticker also polls for exited
 * containers, as the fallback (cheap per container: the driver's hasExited).
 */
import type { Pod } from '../api/core/v1/pod-types.js';
import { Informer } from '../client/informer.js';
import type { RestClient } from '../client/rest-client.js';
import { logger } from '../lib/log.js';
import type { WorkloadInfo } from '../runtime/driver.js';
import type { SandboxDriver } from '../runtime/sandbox.js';
import { LABELS } from './container-spec.js';
import { PodWorker, type PodIdentity, type WorkerDeps } from './pod-worker.js';
import { PODS } from './resources.js';

const log = logger('agent');

export class PodManager {
  readonly informer: Informer<Pod>;
  readonly #workers = new Map<string, PodWorker>();
  #ticker: NodeJS.Timeout | undefined;
  #polling = false;
  #recoveredNow!: () => void;
  /** Resolves once the workloads of an earlier agent are taken over (requests about pods wait for it). */
  readonly recovered = new Promise<void>((r) => (this.#recoveredNow = r));

  constructor(
    client: RestClient,
    private readonly nodeName: string,
    private readonly deps: WorkerDeps,
    private readonly exitPollMs: number,
  ) {
    this.informer = new Informer<Pod>(client, PODS, { fieldSelector: `spec.nodeName=${nodeName}` });
  }

  /** Every worker (pods known from the API and pods being cleaned up). */
  workers(): PodWorker[] {
    return [...this.#workers.values()];
  }

  /** The worker of a pod by namespace and name (the newest uid when several). */
  find(namespace: string, name: string): PodWorker | undefined {
    let found: PodWorker | undefined;
    for (const w of this.#workers.values()) if (w.id.namespace === namespace && w.id.name === name && !w.finished && (!found || w.pod)) found = w;
    return found;
  }

  #worker(id: PodIdentity): PodWorker {
    let w = this.#workers.get(id.uid);
    if (!w) {
      w = new PodWorker(id, this.deps);
      this.#workers.set(id.uid, w);
      void w.done.then(() => {
        if (this.#workers.get(id.uid) === w) this.#workers.delete(id.uid);
      });
    }
    return w;
  }

  /** Recovers existing workloads, then runs the informer until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    try {
      const byPod = new Map<string, { id: PodIdentity; infos: WorkloadInfo[]; driver: SandboxDriver }>();
      for (const driver of this.deps.runtimes.drivers()) {
        for (const info of await driver.list()) {
          const l = info.spec.labels ?? {};
          const uid = l[LABELS.podUid];
          if (!uid) continue; // not a pod's workload (e.g. nubis ctr run)
          const entry = byPod.get(uid) ?? { id: { uid, namespace: l[LABELS.podNamespace] ?? 'default', name: l[LABELS.podName] ?? '' }, infos: [], driver };
          if (entry.driver !== driver) {
            log.warn(`pod ${entry.id.namespace}/${entry.id.name} has workloads under two drivers: ${info.id} (${driver.name}) is removed`);
            await driver.remove(info.id, { force: true }).catch(() => {});
            continue;
          }
          entry.infos.push(info);
          byPod.set(uid, entry);
        }
      }
      for (const { id, infos, driver } of byPod.values()) this.#worker(id).adopt(infos, driver);
      if (byPod.size > 0) log.info(`recovered the workloads of ${byPod.size} pod(s)`);
    } finally {
      this.#recoveredNow();
    }

    this.informer.addHandlers({
      add: (pod) => this.#onPod(pod),
      update: (_old, pod) => this.#onPod(pod),
      delete: (pod) => this.#workers.get(pod.metadata.uid ?? '')?.gone(),
    });
    const informing = this.informer.run(signal);
    this.#ticker = setInterval(() => void this.#poll(), this.exitPollMs);
    this.#ticker.unref();
    try {
      await this.informer.waitForSync(signal);
      await this.#removeOrphans();
    } catch (err) {
      if (!signal.aborted) throw err;
    }
    await informing;
    clearInterval(this.#ticker);
    for (const w of this.#workers.values()) w.stop();
    this.deps.runtimes.close();
  }

  #onPod(pod: Pod): void {
    const uid = pod.metadata.uid;
    if (!uid || pod.spec.nodeName !== this.nodeName) return;
    this.#worker({ uid, namespace: pod.metadata.namespace ?? 'default', name: pod.metadata.name }).update(pod);
  }

  /** Workers whose pod is not in the synced cache, and volume dirs of unknown pods, are cleaned up. */
  async #removeOrphans(): Promise<void> {
    const known = new Set(this.informer.cache.list().map((p) => p.metadata.uid));
    for (const w of this.#workers.values()) {
      if (!known.has(w.id.uid)) {
        log.info(`pod ${w.id.namespace}/${w.id.name} (${w.id.uid}) no longer exists: removing its containers`);
        w.gone();
      }
    }
    for (const driver of this.deps.runtimes.drivers()) {
      for (const uid of await driver.sandboxIds()) {
        if (known.has(uid) || this.#workers.has(uid)) continue;
        log.info(`removing the sandbox of pod ${uid}, which no longer exists`);
        await driver.removeSandbox(uid).catch((err: unknown) => log.warn(`sandbox of pod ${uid}: ${(err as Error).message}`));
      }
    }
    for (const uid of await this.deps.volumes.podUids()) {
      if (!known.has(uid) && !this.#workers.has(uid)) await this.deps.volumes.tearDown(uid);
    }
  }

  async #poll(): Promise<void> {
    if (this.#polling) return;
    this.#polling = true;
    try {
      for (const w of this.#workers.values()) await w.poll().catch((err: unknown) => log.debug(`poll ${w.id.name}: ${(err as Error).message}`));
    } finally {
      this.#polling = false;
    }
  }
}
