/**
 * Tenancy in admission:
 *
 * - what a tenant user writes stays in its tenant: a namespace it creates carries its tenant label
 *   (which only cluster administrators change), a user it creates belongs to its tenant, a token it
 *   makes is its own with no role it lacks;
 * - pods and Services in a tenant's namespaces, whoever writes them (controllers too), use host
 *   namespaces, hostPath, privileged containers, hostPorts and NodePorts only where the Tenant allows
 *   them, and run under the Tenant's RuntimeClass when it names one; virtual machines (kubevirt.io VMs
 *   and VMIs) use disk images of the node (hostDisk) only where it allows hostPath.
 */
import type { Pod } from '../../api/core/v1/pod-types.js';
import { hostDiskFields, KUBEVIRT_GROUP } from '../../api/kubevirt/v1/vmi-types.js';
import type { KubeObject } from '../../api/meta.js';
import { NUBIS_GROUP, TENANT_LABEL, type Tenant, type TenantAllowances, type User, type UserToken } from '../../api/nubis/v1/tenancy.js';
import { addResources, resourceList, type ResourceList } from '../../api/core/v1/pod-resources.js';
import { exceededQuota, mask, missingCompute, quotaUsage, subtractNonNegative, sumUsage } from '../../api/core/v1/quota-usage.js';
import { Quantity } from '../../api/quantity.js';
import type { ObjectStore } from '../../store/object-store.js';
import { forbiddenBy, type AdmissionPlugin, type AdmissionRequest } from '../admission/admission.js';
import { ApiError } from '../status.js';
import { CREDENTIAL_EXPIRES } from '../authn/user-token.js';
import { tenantOf, userObjectOf, type TenancyIndex } from './tenancy-index.js';

/** What a pod uses that its tenant must allow, by allowance. */
export function podNeeds(pod: Pod): Array<[keyof TenantAllowances, string]> {
  const spec = pod.spec ?? ({} as Pod['spec']);
  const out: Array<[keyof TenantAllowances, string]> = [];
  if (spec.hostNetwork) out.push(['hostNetwork', 'spec.hostNetwork']);
  if (spec.hostPID) out.push(['hostPID', 'spec.hostPID']);
  if (spec.hostIPC) out.push(['hostIPC', 'spec.hostIPC']);
  for (const [i, v] of (spec.volumes ?? []).entries()) if (v?.hostPath) out.push(['hostPath', `spec.volumes[${i}].hostPath`]);
  const lists = [['containers', spec.containers], ['initContainers', spec.initContainers], ['ephemeralContainers', spec.ephemeralContainers]] as const;
  for (const [field, list] of lists) {
    for (const [i, c] of (list ?? []).entries()) {
      if (c?.securityContext?.privileged) out.push(['privileged', `spec.${field}[${i}].securityContext.privileged`]);
      for (const [j, p] of (c?.ports ?? []).entries()) if (p?.hostPort) out.push(['hostPorts', `spec.${field}[${i}].ports[${j}].hostPort`]);
    }
  }
  return out;
}

export class TenantAdmission implements AdmissionPlugin {
  readonly name = 'TenantIsolation';

  constructor(
    private readonly index: TenancyIndex,
    private readonly store: ObjectStore,
  ) {}

  /**
   * A tenant's quota, across all its namespaces, counted as ResourceQuotas count (api/core/v1/quota-usage.ts):
   * what is in use is counted from the store at the write (two writes racing at the very limit may both
   * pass; the next one is refused).
   */
  private async checkQuota(r: AdmissionRequest, tenant: Tenant, namespaces: string[], wanted: ResourceList): Promise<void> {
    const hard = resourceList(tenant.spec?.quota);
    const name = `tenant ${tenant.metadata.name}`;
    if (r.type.group === '' && r.type.resource === 'pods' && r.operation === 'CREATE' && r.object) {
      const missing = missingCompute(r.object as Pod, Object.keys(hard));
      if (missing) this.refuse(r, `failed quota: ${name}: ${missing}`);
    }
    const requested = mask(wanted, Object.keys(hard));
    const keys = Object.keys(requested).filter((k) => !requested[k]!.isZero());
    if (keys.length === 0) return;
    let used: ResourceList = {};
    if (r.type.resource === 'namespaces') used = { namespaces: Quantity.of(namespaces.length) };
    else {
      for (const ns of namespaces) {
        const { items } = await this.store.list({ group: r.type.group, resource: r.type.resource }, { namespace: ns });
        used = addResources(used, sumUsage(r.type, items, keys));
      }
    }
    const over = exceededQuota(name, mask(requested, keys), used, hard);
    if (over) this.refuse(r, over);
  }

  private refuse(r: AdmissionRequest, why: string): never {
    throw new ApiError('Forbidden', forbiddenBy(r, why), { name: r.name, group: r.type.group, kind: r.type.resource });
  }

  mutate(r: AdmissionRequest): void {
    const scope = tenantOf(r.user);
    const t = r.type;
    const obj = r.object;
    if (!obj || r.operation === 'DELETE') return;
    if (scope && t.group === '' && t.resource === 'namespaces' && r.operation === 'CREATE' && obj.metadata.labels?.[TENANT_LABEL] === undefined) {
      // A tenant user's new namespace is its tenant's (one naming another tenant is refused below).
      obj.metadata.labels = { ...obj.metadata.labels, [TENANT_LABEL]: scope.tenant };
    }
    if (t.group === NUBIS_GROUP && t.resource === 'usertokens' && r.operation === 'CREATE') this.mutateToken(r, obj as UserToken, scope);
    if (scope && t.group === NUBIS_GROUP && t.resource === 'users' && r.operation === 'CREATE') {
      const u = obj as User;
      if (typeof u.spec === 'object' && u.spec !== null && u.spec.tenant === undefined) u.spec.tenant = scope.tenant;
    }
    if (t.group === '' && t.resource === 'pods' && r.operation === 'CREATE') {
      const runtime = this.tenantOfNamespace(r.namespace)?.spec?.runtimeClassName;
      const spec = (obj as Pod).spec;
      if (runtime && spec && typeof spec === 'object' && !spec.runtimeClassName) spec.runtimeClassName = runtime;
    }
  }

  /**
   * A new token is owned by its user (so it dies with that user, and a later user of the same name
   * cannot use it); one a tenant user makes holds that credential's roles and expiry at most.
   */
  private mutateToken(r: AdmissionRequest, token: UserToken, scope: { roles: Set<string> } | undefined): void {
    if (typeof token.spec !== 'object' || token.spec === null) return;
    const user = this.index.user(token.spec.user);
    if (!user?.metadata.uid) this.refuse(r, `user "${String(token.spec.user)}" does not exist`);
    token.metadata.ownerReferences = [{ apiVersion: `${NUBIS_GROUP}/v1`, kind: 'User', name: user.metadata.name, uid: user.metadata.uid }];
    if (!scope) return;
    if (token.spec.roles === undefined) token.spec.roles = [...scope.roles] as UserToken['spec']['roles'];
    const limit = r.user.extra?.[CREDENTIAL_EXPIRES]?.[0];
    if (limit) {
      if (token.spec.expirationTimestamp === undefined) token.spec.expirationTimestamp = limit;
      else if (Date.parse(token.spec.expirationTimestamp) > Date.parse(limit)) this.refuse(r, `a token may not outlive the credential that makes it (${limit})`);
    }
  }

  private tenantOfNamespace(ns: string | undefined): Tenant | undefined {
    const name = ns ? this.index.tenantOfNamespace(ns) : undefined;
    return name ? (this.index.tenant(name) ?? { apiVersion: `${NUBIS_GROUP}/v1`, kind: 'Tenant', metadata: { name } }) : undefined;
  }

  async validate(r: AdmissionRequest): Promise<void> {
    const t = r.type;
    const scope = tenantOf(r.user);
    if (scope) this.validateTenantUser(r, scope);
    if (r.operation !== 'CREATE' && r.operation !== 'UPDATE') return;
    if (r.operation === 'CREATE' && t.group === '' && t.resource === 'namespaces' && r.object) {
      const name = r.object.metadata.labels?.[TENANT_LABEL];
      const owner = name ? this.index.tenant(name) : undefined;
      if (owner) await this.checkQuota(r, owner, [...this.index.namespacesOf(name!)], { namespaces: Quantity.of(1) });
    }
    const tenant = t.namespaced ? this.tenantOfNamespace(r.namespace) : undefined;
    if (!tenant || !r.object) return;
    // An update is charged what it adds (a Service turned NodePort, say).
    const now = quotaUsage(t, r.object);
    const before = r.operation === 'UPDATE' && r.oldObject ? quotaUsage(t, r.oldObject) : {};
    await this.checkQuota(r, tenant, [...this.index.namespacesOf(tenant.metadata.name)], subtractNonNegative(now, before));
    const allow = tenant.spec?.allow ?? {};
    if (t.group === '' && t.resource === 'pods' && r.operation === 'CREATE') {
      for (const [what, field] of podNeeds(r.object as Pod)) {
        if (!allow[what]) this.refuse(r, `tenant "${tenant.metadata.name}" does not allow ${what} (${field}); a cluster administrator may set spec.allow.${what} on the Tenant`);
      }
      const runtime = tenant.spec?.runtimeClassName;
      const asked = (r.object as Pod).spec?.runtimeClassName;
      if (runtime && asked !== runtime) this.refuse(r, `tenant "${tenant.metadata.name}" runs every pod under RuntimeClass "${runtime}", not "${asked ?? ''}"`);
    }
    if (t.group === KUBEVIRT_GROUP && !r.subresource) {
      const field = hostDiskFields(t.resource, r.object)[0];
      if (field && !allow.hostPath) this.refuse(r, `tenant "${tenant.metadata.name}" does not allow hostPath (${field}); a cluster administrator may set spec.allow.hostPath on the Tenant`);
    }
    if (t.group === '' && t.resource === 'services') {
      const type = (r.object.spec as { type?: string } | undefined)?.type;
      if ((type === 'NodePort' || type === 'LoadBalancer') && !allow.nodePorts) this.refuse(r, `tenant "${tenant.metadata.name}" does not allow NodePorts (spec.type ${type}); a cluster administrator may set spec.allow.nodePorts on the Tenant`);
    }
  }

  private validateTenantUser(r: AdmissionRequest, scope: { tenant: string; roles: Set<string> }): void {
    const t = r.type;
    const obj = r.object as KubeObject | undefined;
    if (t.group === '' && t.resource === 'namespaces' && obj) {
      if (obj.metadata.labels?.[TENANT_LABEL] !== scope.tenant) this.refuse(r, `the ${TENANT_LABEL} label is set by the cluster`);
    }
    if (t.group === NUBIS_GROUP && t.resource === 'users' && obj) {
      if ((obj as User).spec?.tenant !== scope.tenant) this.refuse(r, `users of tenant "${scope.tenant}" may only manage users of their tenant`);
    }
    if (t.group === NUBIS_GROUP && t.resource === 'usertokens' && obj && r.operation === 'CREATE') {
      const token = obj as UserToken;
      if (token.spec?.user !== userObjectOf(r.user)) this.refuse(r, 'a user makes tokens for itself only');
      const extra = (token.spec.roles ?? []).filter((role) => !scope.roles.has(role));
      if (extra.length > 0) this.refuse(r, `an application credential may not hold roles its user lacks: ${extra.join(', ')}`);
    }
  }
}
