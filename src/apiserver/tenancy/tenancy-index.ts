/**
 * Who belongs to which tenant, in memory: namespaces by their `nubis.dev/tenant` label, users by
 * spec.tenant, tokens by name; mirrored from the store like RBAC's index. And the tenant a request's
 * user acts for, read from the groups the authenticators gave it (`nubis:tenant:<name>`).
 */
import type { KubeObject } from '../../api/meta.js';
import { NUBIS_GROUP, TENANT_LABEL, TENANT_ROLES, type Tenant, type TenantRole, type User, type UserToken } from '../../api/nubis/v1/tenancy.js';
import type { ObjectStore } from '../../store/object-store.js';
import type { UserInfo } from '../authn/authenticator.js';
import { StoreMirror } from '../store-mirror.js';

const TENANT_GROUP = 'nubis:tenant:';

/**
 * The name a tenant user acts under: `nubis:<tenant>:<user>`, apart from every other identity (certificate
 * users, token-file users, `system:*`), so a binding meant for one never reaches the other.
 */
export const tenantUserName = (tenant: string, user: string) => `nubis:${tenant}:${user}`;

/** The User object a request's user is, when it is a tenant user. */
export function userObjectOf(user: UserInfo): string | undefined {
  return user.extra?.['nubis.dev/user']?.[0];
}

/** The groups of a tenant user: the tenant, and one per role it holds. */
export function tenantGroups(tenant: string, roles: readonly TenantRole[]): string[] {
  return [`${TENANT_GROUP}${tenant}`, ...roles.map((r) => `${TENANT_GROUP}${tenant}:${r}`)];
}

/** The group a tenant role is bound to in the tenant's namespaces. */
export const roleGroup = (tenant: string, role: TenantRole) => `${TENANT_GROUP}${tenant}:${role}`;

/** The tenant a user acts for, if any, and the roles it holds there. */
export function tenantOf(user: UserInfo): { tenant: string; roles: Set<TenantRole> } | undefined {
  const base = user.groups.find((g) => g.startsWith(TENANT_GROUP) && !g.slice(TENANT_GROUP.length).includes(':'));
  if (!base) return undefined;
  const tenant = base.slice(TENANT_GROUP.length);
  const roles = new Set<TenantRole>(TENANT_ROLES.filter((r) => user.groups.includes(`${base}:${r}`)));
  return { tenant, roles };
}

export class TenancyIndex {
  private readonly namespaces: StoreMirror;
  private readonly users: StoreMirror;
  private readonly tokens: StoreMirror;
  private readonly tenants: StoreMirror;
  private readonly byTenant = new Map<string, Set<string>>();

  constructor(store: ObjectStore) {
    this.namespaces = new StoreMirror(store, { resource: 'namespaces' });
    this.users = new StoreMirror(store, { group: NUBIS_GROUP, resource: 'users' });
    this.tokens = new StoreMirror(store, { group: NUBIS_GROUP, resource: 'usertokens' });
    this.tenants = new StoreMirror(store, { group: NUBIS_GROUP, resource: 'tenants' });
    this.namespaces.onChange((name, obj, old) => {
      const before = old?.metadata.labels?.[TENANT_LABEL];
      const after = obj?.metadata.labels?.[TENANT_LABEL];
      if (before) this.byTenant.get(before)?.delete(name);
      if (after) {
        let set = this.byTenant.get(after);
        if (!set) this.byTenant.set(after, (set = new Set()));
        set.add(name);
      }
    });
  }

  start(signal: AbortSignal): Promise<void> {
    return Promise.all([this.namespaces, this.users, this.tokens, this.tenants].map((m) => m.start(signal))).then(() => undefined);
  }

  /** Called on every namespace change (the tenant's role bindings follow it). */
  onNamespace(listener: (name: string, obj: KubeObject | undefined) => void): void {
    this.namespaces.onChange((name, obj) => listener(name, obj));
  }

  namespace(name: string): KubeObject | undefined {
    return this.namespaces.objects.get(name);
  }

  /** Every namespace, as stored now. */
  allNamespaces(): KubeObject[] {
    return [...this.namespaces.objects.values()];
  }

  tenantOfNamespace(name: string): string | undefined {
    return this.namespaces.objects.get(name)?.metadata.labels?.[TENANT_LABEL];
  }

  namespacesOf(tenant: string): ReadonlySet<string> {
    return this.byTenant.get(tenant) ?? new Set();
  }

  tenant(name: string): Tenant | undefined {
    return this.tenants.objects.get(name) as Tenant | undefined;
  }

  /** Called on every User change. */
  onUser(listener: (name: string, obj: KubeObject | undefined) => void): void {
    this.users.onChange((name, obj) => listener(name, obj));
  }

  /** Called on every Tenant change. */
  onTenant(listener: (name: string, obj: KubeObject | undefined) => void): void {
    this.tenants.onChange((name, obj) => listener(name, obj));
  }

  /** Every namespace that names a tenant, with it. */
  tenantNamespaces(): Array<[string, string]> {
    return [...this.byTenant].flatMap(([t, set]) => [...set].map((ns): [string, string] => [ns, t]));
  }

  user(name: string): User | undefined {
    return this.users.objects.get(name) as User | undefined;
  }

  allTokens(): UserToken[] {
    return [...this.tokens.objects.values()] as UserToken[];
  }

  /** Resolves once the mirror holds token `name` (a login's token must work at once); 5 s at most. */
  async waitForToken(name: string): Promise<void> {
    for (let i = 0; i < 250 && !this.tokens.objects.has(name); i++) await new Promise((r) => setTimeout(r, 20));
  }

  token(name: string): UserToken | undefined {
    return this.tokens.objects.get(name) as UserToken | undefined;
  }

  /** The tenant a cluster-scoped tenancy object belongs to (a Tenant is its own). */
  tenantOfObject(resource: string, obj: KubeObject): string | undefined {
    if (resource === 'tenants') return obj.metadata.name;
    if (resource === 'users') return (obj as User).spec?.tenant;
    if (resource === 'usertokens') return this.user((obj as UserToken).spec?.user)?.spec?.tenant;
    if (resource === 'namespaces') return obj.metadata.labels?.[TENANT_LABEL];
    return undefined;
  }
}
