import type { FieldError } from '../../resource-type.js';
import { check, configMapKey, deepEqual, fieldErr } from '../../validation.js';

/** Shared rules of ConfigMap and Secret payloads: key syntax, 1 MiB total, `immutable`. */

export const MAX_DATA_SIZE = 1024 * 1024;

/** Checks keys of several data maps (their keys may not repeat across maps); returns the total size in bytes. */
export function validateDataKeys(maps: Array<[string, Record<string, unknown> | undefined, (v: unknown) => number]>, errors: FieldError[]): number {
  const seen = new Set<string>();
  let size = 0;
  for (const [field, data, sizeOf] of maps) {
    for (const [k, v] of Object.entries(data ?? {})) {
      check(errors, field, k, configMapKey(k));
      if (seen.has(k)) errors.push(fieldErr.invalid(field, k, 'duplicate of key present in another data map'));
      seen.add(k);
      size += sizeOf(v);
    }
  }
  return size;
}

/** Once `immutable: true`, the payload and the flag itself never change. */
export function validateImmutableData(
  obj: { immutable?: boolean } & Record<string, unknown>,
  old: ({ immutable?: boolean } & Record<string, unknown>) | undefined,
  fields: string[],
  errors: FieldError[],
): void {
  if (!old?.immutable) return;
  if (!obj.immutable) errors.push(fieldErr.forbidden('immutable', 'field is immutable when `immutable` is set'));
  for (const f of fields) {
    if (!deepEqual(obj[f] ?? {}, old[f] ?? {})) errors.push(fieldErr.forbidden(f, 'field is immutable when `immutable` is set'));
  }
}
