/**
 * Tenant isolation in the API. For a user acting for a tenant:
 *
 * - inside a namespace of another tenant (or of no tenant) nothing exists: the request is denied as
 *   absent (404, or an empty list or watch), so the names of others do not leak;
 * - inside its own namespaces RBAC decides (the tenant's roles are bound there);
 * - across all namespaces a list or watch shows the tenant's namespaces where RBAC lets it list;
 * - of the cluster-scoped kinds it sees its own Namespaces, Tenant, Users and UserTokens; its admins
 *   create namespaces and manage the tenant's users (admission pins what they write to the tenant);
 *   every other cluster-scoped kind is RBAC's (and so forbidden by default).
 */
import type { KubeObject } from '../../api/meta.js';
import { NUBIS_GROUP, type UserToken } from '../../api/nubis/v1/tenancy.js';
import type { Attributes, Authorizer, AuthzResult } from '../authz/authorizer.js';
import { NO_OPINION } from '../authz/authorizer.js';
import type { PolicyRule } from '../../api/rbac/v1/rbac.js';
import { ruleAllows } from '../authz/policy-rules.js';
import { CREDENTIAL_RESTRICTED } from '../authn/user-token.js';
import { tenantOf, userObjectOf, type TenancyIndex } from './tenancy-index.js';
import { TENANT_BINDINGS } from './tenant-namespaces.js';

const READ = new Set(['get', 'list', 'watch']);
const WRITE = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);
const hidden: AuthzResult = { decision: 'deny', hidden: true, reason: 'not found' };

export class TenancyAuthorizer implements Authorizer {
  readonly name = 'tenancy';

  constructor(
    private readonly index: TenancyIndex,
    /** The authorizer the tenant's own namespaces are judged by (RBAC). */
    private readonly rbac: Authorizer,
    /** Whether a resource is namespaced (cluster-wide lists of those are scoped, not refused). */
    private readonly namespaced: (group: string, resource: string) => boolean,
    /** The rules of a role (RBAC's index). */
    private readonly roleRules: (kind: string, namespace: string | undefined, name: string) => PolicyRule[] | undefined,
  ) {}

  async authorize(a: Attributes): Promise<AuthzResult> {
    const scope = tenantOf(a.user);
    if (!scope || a.path !== undefined) return NO_OPINION;
    const { tenant, roles } = scope;
    const group = a.group ?? '';
    const res = a.resource ?? '';
    const admin = roles.has('admin');
    // A member or reader sees its own tokens only; an admin all of the tenant's.
    const self = userObjectOf(a.user);
    const mine = (o: KubeObject) => this.index.tenantOfObject(res, o) === tenant && (res !== 'usertokens' || admin || (o as UserToken).spec?.user === self);
    const listing = a.verb === 'list' || a.verb === 'watch';

    if (group === '' && res === 'namespaces') {
      if (a.verb === 'create' && !a.name) return admin ? { decision: 'allow', reason: `tenant ${tenant} admins create its namespaces` } : NO_OPINION;
      if (!a.name) return listing ? { decision: 'allow', reason: `tenant ${tenant} sees its namespaces`, visible: mine } : NO_OPINION;
      if (this.index.tenantOfNamespace(a.name) !== tenant) return hidden;
      if (!a.subresource && READ.has(a.verb)) return { decision: 'allow', reason: `a namespace of tenant ${tenant}` };
      if (admin && (a.verb === 'delete' || ((a.verb === 'update' || a.verb === 'patch') && !a.subresource))) return { decision: 'allow', reason: `tenant ${tenant} admins manage its namespaces` };
      return NO_OPINION;
    }
    if (a.namespace !== undefined) {
      if (this.index.tenantOfNamespace(a.namespace) !== tenant) return listing ? { decision: 'allow', reason: 'nothing to see', visible: () => false } : hidden;
      return this.byTenantRole(a, roles);
    }
    if (group === NUBIS_GROUP && (res === 'tenants' || res === 'users' || res === 'usertokens')) return this.tenancyObject(a, tenant, admin, mine);
    if (listing && !a.name && this.namespaced(group, res)) {
      // Across all namespaces: those of the tenant where its roles let it list.
      const allowed = new Set<string>();
      for (const ns of this.index.namespacesOf(tenant)) {
        const inside = { ...a, namespace: ns };
        if (this.byTenantRole(inside, roles).decision === 'allow' || (await this.rbac.authorize(inside)).decision === 'allow') allowed.add(ns);
      }
      if (allowed.size === 0 && this.index.namespacesOf(tenant).size > 0) return NO_OPINION;
      // Judged again at each object, so a watch follows namespaces that leave or join the tenant.
      const visible = (o: KubeObject) => {
        const ns = o.metadata.namespace ?? '';
        return this.index.tenantOfNamespace(ns) === tenant && (allowed.has(ns) || this.byTenantRole({ ...a, namespace: ns }, roles).decision === 'allow');
      };
      return { decision: 'allow', reason: `tenant ${tenant}'s namespaces`, visible };
    }
    return NO_OPINION;
  }

  /** The rules a tenant user's roles grant in `namespace` (one of its tenant's), for escalation checks. */
  rulesFor(user: Attributes['user'], namespace: string | undefined): PolicyRule[] {
    const scope = tenantOf(user);
    if (!scope || !namespace || this.index.tenantOfNamespace(namespace) !== scope.tenant) return [];
    return TENANT_BINDINGS.filter(([, role]) => scope.roles.has(role)).flatMap(([, , clusterRole]) => this.roleRules('ClusterRole', undefined, clusterRole) ?? []);
  }

  /**
   * In the tenant's own namespaces its roles hold at once, by the ClusterRoles the tenant's RoleBindings
   * name (those bindings appear a moment after a namespace does); anything else is RBAC's.
   */
  private byTenantRole(a: Attributes, roles: Set<string>): AuthzResult {
    for (const [, role, clusterRole] of TENANT_BINDINGS) {
      if (roles.has(role) && (this.roleRules('ClusterRole', undefined, clusterRole) ?? []).some((r) => ruleAllows(r, a))) return { decision: 'allow', reason: `tenant role ${role} (ClusterRole ${clusterRole})` };
    }
    return NO_OPINION;
  }

  private tenancyObject(a: Attributes, tenant: string, admin: boolean, mine: (o: KubeObject) => boolean): AuthzResult {
    const res = a.resource!;
    if (!a.name) {
      if (a.verb === 'list' || a.verb === 'watch') return { decision: 'allow', reason: `tenant ${tenant}'s ${res}`, visible: mine };
      // Admission pins a new user to this tenant and a new token to its own user.
      // A tenant's service accounts have no User, so no tokens of their own.
      if (a.verb === 'create' && ((res === 'users' && admin) || (res === 'usertokens' && userObjectOf(a.user)))) return { decision: 'allow', reason: `tenant ${tenant} ${res === 'users' ? 'admins manage its users' : 'users make their tokens'}` };
      return NO_OPINION;
    }
    const owner =
      res === 'tenants' ? a.name : res === 'users' ? this.index.user(a.name)?.spec.tenant : this.index.user(this.index.token(a.name)?.spec.user ?? '')?.spec.tenant;
    if (owner !== tenant) return hidden;
    const self = userObjectOf(a.user);
    if (res === 'usertokens' && !admin && this.index.token(a.name)?.spec.user !== self) return hidden;
    if (READ.has(a.verb) && !a.subresource) return { decision: 'allow', reason: `tenant ${tenant}'s own` };
    if (res === 'users') {
      // Not with an application credential: it would buy back the roles it was made without.
      const full = !a.user.extra?.[CREDENTIAL_RESTRICTED];
      if (a.subresource === 'password' && full && (a.name === self || admin) && (a.verb === 'update' || a.verb === 'create')) return { decision: 'allow', reason: 'a user sets its own password; tenant admins set their users\'' };
      if (admin && !a.subresource && WRITE.has(a.verb)) return { decision: 'allow', reason: `tenant ${tenant} admins manage its users` };
    }
    if (res === 'usertokens' && !a.subresource && a.verb === 'delete' && (admin || this.index.token(a.name)?.spec.user === self)) return { decision: 'allow', reason: 'tokens are revoked by their user or a tenant admin' };
    return NO_OPINION;
  }
}
