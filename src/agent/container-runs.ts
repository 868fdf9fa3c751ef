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
