/**
 * Toleration lists as Kubernetes' admission merges them (pkg/util/tolerations): when two lists are
 * joined, a toleration that another already covers is dropped, so the result says each thing once.
 */
import { deepEqual } from '../../validation.js';
import type { Toleration } from './pod-types.js';

/** Whether `ss` tolerates everything `t` tolerates (Kubernetes' isSuperset). */
export function toleratesSuperset(ss: Toleration, t: Toleration): boolean {
  if (deepEqual(ss, t)) return true;
  // An empty key with Exists matches every key.
  if ((t.key ?? '') !== (ss.key ?? '') && (ss.key || ss.operator !== 'Exists')) return false;
  // An empty effect matches every effect.
  if ((t.effect ?? '') !== (ss.effect ?? '') && ss.effect) return false;
  if (ss.effect === 'NoExecute' && ss.tolerationSeconds !== undefined) {
    if (t.tolerationSeconds === undefined || t.tolerationSeconds > ss.tolerationSeconds) return false;
  }
  if (ss.operator === 'Exists') return true;
  // An empty operator means Equal.
  return (t.operator ?? 'Equal') === 'Equal' && (t.value ?? '') === (ss.value ?? '');
}

/** `first` then `second`, without the tolerations another one of them already covers (MergeTolerations). */
export function mergeTolerations(first: readonly Toleration[], second: readonly Toleration[]): Toleration[] {
  const all = [...first, ...second];
  const merged: Toleration[] = [];
  all.forEach((t, i) => {
    if (merged.some((kept) => toleratesSuperset(kept, t))) return;
    // Of two equal ones the first is kept; a strictly wider one later on replaces this one.
    if (all.slice(i + 1).some((later) => !deepEqual(later, t) && toleratesSuperset(later, t))) return;
    merged.push(t);
  });
  return merged;
}
