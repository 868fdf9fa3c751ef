/** Container runs as the pod worker keeps them, and the restart policy's rules over them. */
import type { RuntimeDriver, WorkloadInfo } from '../runtime/driver.js';
import { LABELS } from './container-spec.js';
import type { ContainerRun } from './pod-status.js';

/** A workload as the worker keeps it. */
export function runOf(info: WorkloadInfo): ContainerRun {
  return {
    id: info.id,
    restartCount: Number(info.spec.labels?.[LABELS.restartCount] ?? 0) || 0,
    imageID: info.imageDigest ? `${info.image}@${info.imageDigest}` : info.image,
    state: info.state,
  };
}

/** A run that has not exited. */
export const live = (r: ContainerRun | undefined): boolean => r !== undefined && r.state.status !== 'exited';

/** A pod phase after which nothing runs again. */
export const terminal = (phase: string | undefined): boolean => phase === 'Succeeded' || phase === 'Failed';

/** Whether a container that exited with `exitCode` runs again under the pod's restartPolicy. */
export function shouldRestart(policy: string | undefined, exitCode: number | undefined): boolean {
  if (policy === 'Never') return false;
  if (policy === 'OnFailure') return exitCode !== 0;
  return true;
}

/** A back-off delay as the kubelet writes it: 10s, 1m20s, 5m. */
export function fmtDelay(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ''}` : `${s}s`;
}

/**
 * A workload's info once its state has settled: right after a fast exit the runtime may briefly report
 * "exited" with code -1 (conmon has not written the exit file yet, which takes milliseconds); that is
 * read again, soon at first (5 ms, doubling up to 100 ms), for up to 2 s.
 */
export async function settledInfo(driver: RuntimeDriver, id: string): Promise<WorkloadInfo> {
  let info = await driver.get(id);
  for (let waited = 0, step = 5; waited < 2000 && info.state.status === 'exited' && info.state.exitCode === -1; waited += step, step = Math.min(100, step * 2)) {
    await new Promise((r) => setTimeout(r, step));
    info = await driver.get(id);
  }
  return info;
}

/** The runs of a pod's containers by container name, oldest first: only the latest two are kept. */
export class PodRuns {
  readonly #byName = new Map<string, ContainerRun[]>();

  /** Adds a run found at recovery, in restart order. */
  adopt(name: string, run: ContainerRun): void {
    const list = this.#byName.get(name) ?? [];
    list.push(run);
    list.sort((a, b) => a.restartCount - b.restartCount);
    this.#byName.set(name, list);
  }

  /** A container's latest run (or the one before with `previous`). */
  current(name: string, previous = false): ContainerRun | undefined {
    return this.#byName.get(name)?.at(previous ? -2 : -1);
  }

  /** Adds a container's new run; returns the runs no longer kept (for `logs --previous` one old run stays). */
  push(name: string, run: ContainerRun): ContainerRun[] {
    const list = this.#byName.get(name) ?? [];
    list.push(run);
    this.#byName.set(name, list);
    return list.splice(0, Math.max(0, list.length - 2));
  }

  /** The latest run of each container that has not exited. */
  live(): Array<{ name: string; run: ContainerRun }> {
    return this.#latest().filter(({ run }) => live(run));
  }

  /** The latest run of each container that is running (not paused, created or exited). */
  running(): Array<{ name: string; id: string }> {
    return this.#latest()
      .filter(({ run }) => run.state.status === 'running')
      .map(({ name, run }) => ({ name, id: run.id }));
  }

  /** Every run kept; empties the list when `clear`. */
  all(clear = false): ContainerRun[] {
    const out = [...this.#byName.values()].flat();
    if (clear) this.#byName.clear();
    return out;
  }

  #latest(): Array<{ name: string; run: ContainerRun }> {
    return [...this.#byName].flatMap(([name, list]) => (list.length > 0 ? [{ name, run: list.at(-1)! }] : []));
  }
}
