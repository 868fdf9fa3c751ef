/** Container runs as the pod worker keeps them, and the restart policy's rules over them. */
import type { WorkloadInfo } from '../runtime/driver.js';
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
