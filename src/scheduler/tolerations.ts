import type { Taint } from '../api/core/v1/node.js';
import type { Toleration } from '../api/core/v1/pod-types.js';

/**
 * Kubernetes' toleration matching: an empty effect matches every effect, an empty key with `Exists`
 * matches every taint, `Exists` ignores the value, `Equal` (the default) compares it.
 */
export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  if (t.operator === 'Exists') return true;
  if (t.operator === undefined || t.operator === 'Equal') return (t.value ?? '') === (taint.value ?? '');
  return false;
}

/** Whether any toleration in the list tolerates the taint. */
export function toleratedBy(tolerations: readonly Toleration[], taint: Taint): boolean {
  for (const t of tolerations) if (tolerates(t, taint)) return true;
  return false;
}
