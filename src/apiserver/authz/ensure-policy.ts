/**
 * Writes the bootstrap policy at server start: missing roles and bindings are created; existing ones
 * marked for auto-update get back any rule or subject of the defaults they lost (extra rules and
 * subjects a user added stay). Several servers starting together may race: an AlreadyExists or
 * Conflict only means another one did it.
 */
import type { KubeObject } from '../../api/meta.js';
import type { PolicyRule, Role, RoleBinding } from '../../api/rbac/v1/rbac.js';
import { RBAC_GROUP } from '../../api/rbac/v1/rbac.js';
import { deepEqual } from '../../api/validation.js';
import { isNubisError } from '../../lib/errors.js';
import { logger } from '../../lib/log.js';
import type { InternalWriter } from '../internal-writer.js';
import { refOf } from '../object-ops.js';
import { ApiError } from '../status.js';
import { AUTOUPDATE, bootstrapPolicy } from './bootstrap-policy.js';

const log = logger('rbac');

function missingFrom<T>(have: T[] | undefined, want: T[] | undefined): T[] {
  return (want ?? []).filter((w) => !(have ?? []).some((h) => deepEqual(h, w)));
}

/** The stored object with the defaults' rules, subjects and aggregation put back; undefined when complete. */
function reconciled(stored: KubeObject, wanted: KubeObject): KubeObject | undefined {
  if (stored.metadata.annotations?.[AUTOUPDATE] === 'false') return undefined;
  const next = structuredClone(stored) as Role & RoleBinding & { aggregationRule?: unknown };
  const w = wanted as Role & RoleBinding & { aggregationRule?: unknown };
  let changed = false;
  const rules = missingFrom<PolicyRule>(next.rules, w.rules);
  // Aggregated roles get their rules from the aggregation controller, not from here.
  if (rules.length > 0 && !w.aggregationRule) {
    next.rules = [...(next.rules ?? []), ...rules];
    changed = true;
  }
  if (w.aggregationRule && !deepEqual(next.aggregationRule, w.aggregationRule)) {
    next.aggregationRule = w.aggregationRule;
    changed = true;
  }
  const subjects = missingFrom(next.subjects, w.subjects);
  if (subjects.length > 0) {
    next.subjects = [...(next.subjects ?? []), ...subjects];
    changed = true;
  }
  for (const [k, v] of Object.entries(wanted.metadata.labels ?? {})) {
    if (next.metadata.labels?.[k] !== v) {
      next.metadata.labels = { ...next.metadata.labels, [k]: v };
      changed = true;
    }
  }
  return changed ? next : undefined;
}

export async function ensureBootstrapPolicy(writer: InternalWriter): Promise<void> {
  const p = bootstrapPolicy();
  const sets: Array<[string, KubeObject[]]> = [
    ['clusterroles', p.clusterRoles],
    ['clusterrolebindings', p.clusterRoleBindings],
    ['roles', p.roles],
    ['rolebindings', p.roleBindings],
  ];
  for (const [resource, objects] of sets) {
    const t = writer.ops.registry.byResource(RBAC_GROUP, resource)!;
    for (const wanted of objects) {
      const key = { namespace: wanted.metadata.namespace, name: wanted.metadata.name };
      try {
        let stored: KubeObject | undefined;
        try {
          stored = await writer.ops.store.get(refOf(t), key);
        } catch (err) {
          if (!isNubisError(err, 'NotFound')) throw err;
        }
        if (!stored) {
          await writer.create(t, key.namespace, structuredClone(wanted) as unknown as Record<string, unknown>);
          continue;
        }
        const next = reconciled(stored, wanted);
        if (next) await writer.replace(t, stored, next);
      } catch (err) {
        if (err instanceof ApiError && (err.reason === 'AlreadyExists' || err.reason === 'Conflict')) continue;
        log.warn(`bootstrap ${t.kind} ${key.name}: ${(err as Error).message}`);
      }
    }
  }
}
