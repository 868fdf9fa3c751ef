import type { Container } from '../api/core/v1/pod-types.js';
import { ProbeWorker, type ProbeKind, type ProbeRunner, type ProbeTarget } from './probes.js';

interface ProbeSet {
  runId: string;
  workers: Partial<Record<ProbeKind, ProbeWorker>>;
}

export interface ContainerProbesOptions {
  runner: ProbeRunner;
  /** Milliseconds per probe second (1000; tests shorten). */
  msPerSecond: number;
  /** A probe's result flipped (the pod worker reports, and records Unhealthy when it failed). */
  onChange: (container: string, worker: ProbeWorker) => void;
}

/**
 * The startup, liveness and readiness probes of one pod's containers: one set of workers per container
 * run. Liveness runs once startup has passed; a failed liveness is remembered until the worker restarts
 * the container.
 */
export class ContainerProbes {
  readonly #sets = new Map<string, ProbeSet>();
  readonly #livenessFailed = new Set<string>();

  constructor(private readonly o: ContainerProbesOptions) {}

  has(name: string): boolean {
    return this.#sets.has(name);
  }

  livenessFailed(name: string): boolean {
    return this.#livenessFailed.has(name);
  }

  /**
   * Starts the probes of container `c`'s run `runId`; `reported` is what the pod status last said of it
   * (a recovered container keeps its readiness, so a restarted agent does not flap it).
   */
  start(c: Container, runId: string, reported: { started?: boolean; ready?: boolean } | undefined, target: () => ProbeTarget): void {
    this.stop(c.name);
    const set: ProbeSet = { runId, workers: {} };
    const startedOk = () => !set.workers.startup || set.workers.startup.result;
    const make = (kind: ProbeKind, initial: boolean, gate: () => boolean) => {
      const probe = kind === 'liveness' ? c.livenessProbe : kind === 'readiness' ? c.readinessProbe : c.startupProbe;
      if (!probe) return;
      set.workers[kind] = new ProbeWorker(
        kind,
        probe,
        () => this.o.runner(probe, probe.timeoutSeconds ?? 1, target()),
        (w) => {
          if (w.kind === 'liveness' && !w.result) this.#livenessFailed.add(c.name);
          this.o.onChange(c.name, w);
        },
        gate,
        initial,
        this.o.msPerSecond,
      );
    };
    make('startup', Boolean(reported?.started), () => true);
    make('liveness', true, startedOk);
    make('readiness', Boolean(reported?.ready), startedOk);
    this.#sets.set(c.name, set);
    for (const w of Object.values(set.workers)) w.start();
  }

  /** Stops a container's probes and forgets a liveness failure. */
  stop(name: string): void {
    this.#livenessFailed.delete(name);
    const set = this.#sets.get(name);
    if (!set) return;
    for (const w of Object.values(set.workers)) w.stop();
    this.#sets.delete(name);
  }

  stopAll(): void {
    for (const name of [...this.#sets.keys()]) this.stop(name);
  }

  /** Readiness and startup of run `runId` of `c`: a probe's result, or true when it has no such probe. */
  results(c: Container, runId: string | undefined): { ready: boolean; started: boolean } {
    const set = runId !== undefined && this.#sets.get(c.name)?.runId === runId ? this.#sets.get(c.name) : undefined;
    const result = (k: 'readiness' | 'startup') => (set?.workers[k] ? set.workers[k]!.result : (k === 'readiness' ? c.readinessProbe : c.startupProbe) === undefined);
    return { ready: result('readiness'), started: result('startup') };
  }
}
