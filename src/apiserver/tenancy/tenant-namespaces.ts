/**
 * A tenant's roles in its namespaces: every namespace labelled `nubis.dev/tenant=<t>` gets three
 * RoleBindings (nubis:tenant-admin → ClusterRole admin, nubis:tenant-member → edit, nubis:tenant-reader
 * → view) for the tenant's role groups, kept as they should be when the label changes; the Tenant's
 * status lists its namespaces. Runs in the API server beside the index it reads, as its own identity.
 */
import { RBAC_GROUP, type RoleBinding } from '../../api/rbac/v1/rbac.js';
import type { KubeObject } from '../../api/meta.js';
import { TENANT_LABEL, type Tenant, type TenantRole } from '../../api/nubis/v1/tenancy.js';
import { deepEqual } from '../../api/validation.js';
import { isNubisError } from '../../lib/errors.js';
import { DirtyKeys } from '../../lib/dirty-keys.js';
import { logger } from '../../lib/log.js';
import type { InternalWriter } from '../internal-writer.js';
import { refOf } from '../object-ops.js';
import { ApiError } from '../status.js';
import { roleGroup, type TenancyIndex } from './tenancy-index.js';

const log = logger('tenancy');

export const TENANT_BINDINGS: Array<[string, TenantRole, string]> = [
  ['nubis:tenant-admin', 'admin', 'admin'],
  ['nubis:tenant-member', 'member', 'edit'],
  ['nubis:tenant-reader', 'reader', 'view'],
];

function binding(namespace: string, name: string, tenant: string, role: TenantRole, clusterRole: string): RoleBinding {
  return {
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: 'RoleBinding',
    metadata: { name, namespace, labels: { [TENANT_LABEL]: tenant } },
    roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: clusterRole },
    subjects: [{ kind: 'Group', apiGroup: RBAC_GROUP, name: roleGroup(tenant, role) }],
  };
}

export class TenantNamespaces {
  private readonly namespaces = new DirtyKeys((ns) => this.syncNamespace(ns).catch((err: unknown) => this.report(`namespace ${ns}`, err)));
  private readonly tenants = new DirtyKeys((t) => this.syncTenantStatus(t).catch((err: unknown) => this.report(`tenant ${t}`, err)));

  constructor(
    private readonly index: TenancyIndex,
    private readonly writer: InternalWriter,
  ) {
    index.onNamespace((name, obj) => {
      this.namespaces.mark(name);
      const t = obj?.metadata.labels?.[TENANT_LABEL];
      if (t) this.tenants.mark(t);
    });
    index.onTenant((name) => this.tenants.mark(name));
  }

  /** Brings every tenant namespace and Tenant up to date once (at start; changes follow by themselves). */
  async syncAll(): Promise<void> {
    for (const [ns, t] of this.index.tenantNamespaces()) {
      this.namespaces.mark(ns);
      this.tenants.mark(t);
    }
    await Promise.all([this.namespaces.idle(), this.tenants.idle()]);
  }

  private report(what: string, err: unknown): void {
    if (err instanceof ApiError && (err.reason === 'Conflict' || err.reason === 'NotFound' || err.reason === 'AlreadyExists')) return;
    log.warn(`${what}: ${(err as Error).message}`);
  }

  private async syncNamespace(ns: string): Promise<void> {
    const tenant = this.index.tenantOfNamespace(ns);
    const t = this.writer.ops.registry.byResource(RBAC_GROUP, 'rolebindings')!;
    for (const [name, role, clusterRole] of TENANT_BINDINGS) {
      let current: KubeObject | undefined;
      try {
        current = await this.writer.ops.store.get(refOf(t), { namespace: ns, name });
      } catch (err) {
        if (!isNubisError(err, 'NotFound')) throw err;
      }
      if (!tenant) {
        if (current) await this.writer.delete(t, ns, name, {});
        continue;
      }
      const want = binding(ns, name, tenant, role, clusterRole);
      if (!current) {
        await this.writer.create(t, ns, want as unknown as Record<string, unknown>);
      } else if (!deepEqual((current as RoleBinding).subjects, want.subjects) || (current as RoleBinding).roleRef.name !== clusterRole) {
        // roleRef is immutable: a binding that points elsewhere is made again.
        await this.writer.delete(t, ns, name, {});
        await this.writer.create(t, ns, want as unknown as Record<string, unknown>);
      }
    }
  }

  private async syncTenantStatus(name: string): Promise<void> {
    const tenant = this.index.tenant(name);
    if (!tenant) return;
    const namespaces = [...this.index.namespacesOf(name)].sort();
    if (deepEqual(tenant.status?.namespaces ?? [], namespaces)) return;
    const t = this.writer.ops.registry.byResource('nubis.dev', 'tenants')!;
    await this.writer.replace(t, tenant, { ...tenant, status: { ...tenant.status, namespaces } } as Tenant, 'status');
  }
}
