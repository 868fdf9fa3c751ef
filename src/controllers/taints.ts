/** Toleration matching (Kubernetes' ToleratesTaint), for the controllers that place or evict pods. */
import type { Taint } from '../api/core/v1/node.js';
import type { Toleration } from '../api/core/v1/pod-types.js';

/** An empty effect or key matches any; `Exists` ignores the value; `Equal` (default) compares it. */
export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  if (t.operator === 'Exists') return true;
  return (t.operator ?? 'Equal') === 'Equal' && (t.value ?? '') === (taint.value ?? '');
}
