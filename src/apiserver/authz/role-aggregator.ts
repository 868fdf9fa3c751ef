/**
 * ClusterRole aggregation: a ClusterRole with an aggregationRule holds the rules of every ClusterRole
 * its selectors match (admin ⊃ edit ⊃ view are built this way, and a new kind joins them by labelling
 * a role `rbac.authorization.k8s.io/aggregate-to-edit: "true"`). Runs in the API server, beside the
 * index it reads, so RBAC's defaults work even without the controllers; writes as its own identity.
 */
import type { ClusterRole, PolicyRule } from '../../api/rbac/v1/rbac.js';
import { RBAC_GROUP } from '../../api/rbac/v1/rbac.js';
import { deepEqual, selectorMatches } from '../../api/validation.js';
import { logger } from '../../lib/log.js';
import type { InternalWriter } from '../internal-writer.js';
import type { StoreMirror } from '../store-mirror.js';
import { ApiError } from '../status.js';

const log = logger('rbac');

/** The rules an aggregated role should hold: the union of its sources' rules, in a stable order. */
export function aggregatedRules(role: ClusterRole, all: Iterable<ClusterRole>): PolicyRule[] {
  const selectors = role.aggregationRule?.clusterRoleSelectors ?? [];
  const out: PolicyRule[] = [];
  const sources = [...all].filter((r) => r.metadata.name !== role.metadata.name && selectors.some((s) => selectorMatches(s, r.metadata.labels ?? {})));
  sources.sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0));
  for (const src of sources) for (const rule of src.rules ?? []) if (!out.some((o) => deepEqual(o, rule))) out.push(rule);
  return out;
}

export class RoleAggregator {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private again = false;

  constructor(
    private readonly roles: StoreMirror,
    private readonly writer: InternalWriter,
  ) {
    roles.onChange(() => this.trigger());
  }

  trigger(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.run();
    }, 20);
    this.timer.unref?.();
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  /** Brings every aggregated role up to date (loops while its own writes change sources). */
  async run(): Promise<void> {
    this.running = true;
    try {
      const t = this.writer.ops.registry.byResource(RBAC_GROUP, 'clusterroles')!;
      const all = [...this.roles.objects.values()] as ClusterRole[];
      for (const role of all) {
        if (!role.aggregationRule) continue;
        const rules = aggregatedRules(role, all);
        if (deepEqual(role.rules ?? [], rules)) continue;
        try {
          await this.writer.replace(t, role, { ...role, rules });
        } catch (err) {
          // A conflict means the mirror brings a newer version, which triggers another pass.
          if (!(err instanceof ApiError && (err.reason === 'Conflict' || err.reason === 'NotFound'))) log.warn(`aggregating ClusterRole ${role.metadata.name}: ${(err as Error).message}`);
        }
      }
    } finally {
      this.running = false;
      if (this.again) {
        this.again = false;
        this.trigger();
      }
    }
  }
}
