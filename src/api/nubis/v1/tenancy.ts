/**
 * nubis.dev/v1 tenancy, Keystone's model in Kubernetes' shape:
 *
 * - Tenant: owns namespaces (labelled `nubis.dev/tenant=<name>`), users and their roles, and decides what
 *   its pods may do beyond the defaults (host namespaces, hostPath, privileged, hostPorts, NodePorts) and
 *   which RuntimeClass they must run under.
 * - User: belongs to one tenant with roles admin ⊃ member ⊃ reader (RBAC admin, edit, view in each of the
 *   tenant's namespaces). Passwords are set through the `password` subresource and kept hashed outside
 *   the object.
 * - UserToken: a bearer token of a user (the secret is shown once, only its hash is kept); deleting it
 *   revokes it. With `roles` it is an application credential: a subset of the user's roles.
 * - Login: a user name and password exchanged for a UserToken; answered, never stored.
 */
import { POD_SECURITY_LEVELS } from '../../core/v1/pod-security.js';
import { defineType, field } from '../../define.js';
import type { KubeObject } from '../../meta.js';
import { kindSchema } from '../../meta-schema.js';
import type { FieldError, ResourceType } from '../../resource-type.js';
import { bool, int, map, obj, quantity, str, stringList, time } from '../../schema.js';
import { age, ageColumn, column, nameColumn } from '../../table.js';
import { parseQuantity } from '../../quantity.js';
import { dns1123Label, fieldErr, immutable } from '../../validation.js';

export const NUBIS_GROUP = 'nubis.dev';
export const TENANT_LABEL = 'nubis.dev/tenant';
export const TENANT_ROLES = ['admin', 'member', 'reader'] as const;
export type TenantRole = (typeof TENANT_ROLES)[number];

/** The roles a set of roles amounts to: admin holds member's and reader's, member reader's. */
export function impliedRoles(roles: readonly TenantRole[]): TenantRole[] {
  const rank = roles.reduce<number>((least, r) => (TENANT_ROLES.indexOf(r) >= 0 ? Math.min(least, TENANT_ROLES.indexOf(r)) : least), TENANT_ROLES.length);
  return TENANT_ROLES.slice(rank);
}

/** What a tenant's pods and Services may use beyond the defaults (all off unless set). */
export interface TenantAllowances {
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  hostPath?: boolean;
  privileged?: boolean;
  hostPorts?: boolean;
  nodePorts?: boolean;
}

export interface Tenant extends KubeObject {
  spec?: {
    displayName?: string;
    description?: string;
    /** Every pod of the tenant runs under this RuntimeClass (set when absent, refused when different). */
    runtimeClassName?: string;
    allow?: TenantAllowances;
    /** The least Pod Security Standard enforced in every namespace of the tenant (its labels may only be stricter). */
    podSecurity?: 'privileged' | 'baseline' | 'restricted';
    /** Limits across all the tenant's namespaces, as ResourceQuota's `hard`. */
    quota?: Record<string, string | number>;
  };
  status?: { namespaces?: string[]; used?: Record<string, string> };
}

export interface User extends KubeObject {
  spec: { tenant: string; roles?: TenantRole[]; displayName?: string; email?: string; disabled?: boolean };
}

export interface UserToken extends KubeObject {
  spec: {
    user: string;
    /** sha256 of the secret part, hex. */
    secretHash: string;
    expirationTimestamp?: string;
    /** An application credential's roles (a subset of the user's); absent: the user's own. */
    roles?: TenantRole[];
    description?: string;
  };
}

export interface Login extends KubeObject {
  spec: { username: string; password: string; expirationSeconds?: number; description?: string };
  status?: { token: string; expirationTimestamp: string; tenant: string; user: string };
}

/** What a tenant quota may limit, across all the tenant's namespaces. */
export const TENANT_QUOTA_KEYS = ['namespaces', 'pods', 'services', 'services.nodeports', 'configmaps', 'secrets', 'persistentvolumeclaims', 'requests.cpu', 'requests.memory', 'limits.cpu', 'limits.memory'];

const ALLOWANCES = ['hostNetwork', 'hostPID', 'hostIPC', 'hostPath', 'privileged', 'hostPorts', 'nodePorts'] as const;

function validateRoles(roles: unknown, path: string): FieldError[] {
  if (roles === undefined) return [];
  if (!Array.isArray(roles)) return [fieldErr.invalid(path, roles, 'must be a list of roles')];
  return roles.flatMap((r, i) => (TENANT_ROLES.includes(r as TenantRole) ? [] : [fieldErr.notSupported(`${path}[${i}]`, r, [...TENANT_ROLES])]));
}

function validateTenant(o: KubeObject): FieldError[] {
  const spec = (o as Tenant).spec;
  const errors: FieldError[] = [];
  if (spec === undefined) return errors;
  if (typeof spec !== 'object' || spec === null) return [fieldErr.invalid('spec', spec, 'must be an object')];
  for (const f of ['displayName', 'description', 'runtimeClassName'] as const) {
    if (spec[f] !== undefined && typeof spec[f] !== 'string') errors.push(fieldErr.invalid(`spec.${f}`, spec[f], 'must be a string'));
  }
  const allow = spec.allow as Record<string, unknown> | undefined;
  if (allow !== undefined) {
    if (typeof allow !== 'object' || allow === null) errors.push(fieldErr.invalid('spec.allow', allow, 'must be an object'));
    else for (const [k, v] of Object.entries(allow)) {
      if (!(ALLOWANCES as readonly string[]).includes(k)) errors.push(fieldErr.notSupported(`spec.allow.${k}`, k, [...ALLOWANCES]));
      else if (typeof v !== 'boolean') errors.push(fieldErr.invalid(`spec.allow.${k}`, v, 'must be true or false'));
    }
  }
  if (spec.podSecurity !== undefined && !(POD_SECURITY_LEVELS as readonly unknown[]).includes(spec.podSecurity)) errors.push(fieldErr.notSupported('spec.podSecurity', spec.podSecurity, [...POD_SECURITY_LEVELS]));
  if (spec.quota !== undefined && (typeof spec.quota !== 'object' || spec.quota === null || Array.isArray(spec.quota))) errors.push(fieldErr.invalid('spec.quota', spec.quota, 'must be a map of resource names to quantities'));
  else {
    for (const [k, v] of Object.entries(spec.quota ?? {})) {
      if (!TENANT_QUOTA_KEYS.includes(k)) errors.push(fieldErr.notSupported(`spec.quota[${k}]`, k, TENANT_QUOTA_KEYS));
      else if ((parseQuantity(v) ?? -1) < 0) errors.push(fieldErr.invalid(`spec.quota[${k}]`, v, 'must be a non-negative quantity'));
    }
  }
  return errors;
}

function validateUser(o: KubeObject, old?: KubeObject): FieldError[] {
  const spec = (o as User).spec as User['spec'] | undefined;
  if (!spec || typeof spec !== 'object') return [fieldErr.required('spec')];
  const errors: FieldError[] = [];
  if (typeof spec.tenant !== 'string' || spec.tenant === '') errors.push(fieldErr.required('spec.tenant'));
  else for (const m of dns1123Label(spec.tenant)) errors.push(fieldErr.invalid('spec.tenant', spec.tenant, m));
  errors.push(...validateRoles(spec.roles, 'spec.roles'));
  if (spec.disabled !== undefined && typeof spec.disabled !== 'boolean') errors.push(fieldErr.invalid('spec.disabled', spec.disabled, 'must be true or false'));
  if (old) immutable(errors, 'spec.tenant', spec.tenant, (old as User).spec?.tenant, 'a user stays in its tenant');
  return errors;
}

function validateUserToken(o: KubeObject, old?: KubeObject): FieldError[] {
  const spec = (o as UserToken).spec as UserToken['spec'] | undefined;
  if (!spec || typeof spec !== 'object') return [fieldErr.required('spec')];
  const errors: FieldError[] = [];
  if (typeof spec.user !== 'string' || spec.user === '') errors.push(fieldErr.required('spec.user'));
  if (typeof spec.secretHash !== 'string' || !/^[0-9a-f]{64}$/.test(spec.secretHash)) errors.push(fieldErr.invalid('spec.secretHash', '<hash>', 'must be the hex sha256 of the token secret'));
  if (spec.expirationTimestamp !== undefined && Number.isNaN(Date.parse(spec.expirationTimestamp))) errors.push(fieldErr.invalid('spec.expirationTimestamp', spec.expirationTimestamp, 'must be an RFC 3339 time'));
  errors.push(...validateRoles(spec.roles, 'spec.roles'));
  if (old) {
    const was = (old as UserToken).spec;
    for (const f of ['user', 'secretHash', 'roles'] as const) immutable(errors, `spec.${f}`, spec[f], was[f]);
  }
  return errors;
}

function validateLogin(o: KubeObject): FieldError[] {
  const spec = (o as Login).spec as Login['spec'] | undefined;
  if (!spec || typeof spec !== 'object') return [fieldErr.required('spec')];
  const errors: FieldError[] = [];
  if (typeof spec.username !== 'string' || spec.username === '') errors.push(fieldErr.required('spec.username'));
  if (typeof spec.password !== 'string' || spec.password === '') errors.push(fieldErr.required('spec.password'));
  if (spec.expirationSeconds !== undefined && (!Number.isInteger(spec.expirationSeconds) || spec.expirationSeconds < 600 || spec.expirationSeconds > 90 * 86_400)) {
    errors.push(fieldErr.invalid('spec.expirationSeconds', spec.expirationSeconds, 'must be between 600 (10 minutes) and 7776000 (90 days)'));
  }
  return errors;
}

export function tenantType(): ResourceType {
  return defineType({
    group: NUBIS_GROUP,
    version: 'v1',
    kind: 'Tenant',
    resource: 'tenants',
    singular: 'tenant',
    namespaced: false,
    subresources: ['status'],
    hasStatus: true,
    nameRule: 'label',
    schema: kindSchema('A Tenant owns namespaces, users and quotas, isolated from other tenants in the API, the network and DNS.', {
      spec: obj({
        displayName: str(),
        description: str(),
        runtimeClassName: str('Every pod of the tenant runs under this RuntimeClass.'),
        allow: obj(Object.fromEntries(ALLOWANCES.map((a) => [a, bool(`Whether the tenant's pods may use ${a}.`)]))),
        podSecurity: str('The least Pod Security Standard enforced in every namespace of the tenant.', [...POD_SECURITY_LEVELS]),
        quota: map(quantity(), 'Limits across all the tenant\'s namespaces, as ResourceQuota hard limits.'),
      }),
      status: obj({ namespaces: stringList(), used: map(quantity()) }),
    }),
    validateSpec: validateTenant,
    table: {
      columns: [nameColumn(), column('Namespaces', 'How many namespaces the tenant owns', { type: 'integer' }), column('Runtime', 'The RuntimeClass its pods run under'), ageColumn()],
      cells: (o, now) => [o.metadata.name, (o as Tenant).status?.namespaces?.length ?? 0, (o as Tenant).spec?.runtimeClassName ?? '', age(o, now)],
    },
  });
}

export function userType(): ResourceType {
  return defineType({
    group: NUBIS_GROUP,
    version: 'v1',
    kind: 'User',
    resource: 'users',
    singular: 'user',
    namespaced: false,
    subresources: ['password'],
    hasStatus: false,
    schema: kindSchema('A User of one tenant, with tenant roles admin, member or reader.', {
      spec: obj({ tenant: str(), roles: stringList('Tenant roles: admin, member, reader.'), displayName: str(), email: str(), disabled: bool() }),
    }),
    defaults(o) {
      const spec = (o as User).spec;
      if (spec && typeof spec === 'object' && spec.roles === undefined) spec.roles = ['member'];
    },
    validateSpec: validateUser,
    fields: { 'spec.tenant': field('spec.tenant') },
    table: {
      columns: [nameColumn(), column('Tenant', 'The tenant of the user'), column('Roles', 'Tenant roles'), ageColumn()],
      cells: (o, now) => [o.metadata.name, (o as User).spec?.tenant ?? '', ((o as User).spec?.roles ?? []).join(','), age(o, now)],
    },
  });
}

export function userTokenType(): ResourceType {
  return defineType({
    group: NUBIS_GROUP,
    version: 'v1',
    kind: 'UserToken',
    resource: 'usertokens',
    singular: 'usertoken',
    namespaced: false,
    subresources: [],
    hasStatus: false,
    schema: kindSchema('A bearer token of a user (only the hash of its secret is kept); delete it to revoke it.', {
      spec: obj({ user: str(), secretHash: str(), expirationTimestamp: time(), roles: stringList(), description: str() }),
    }),
    validateSpec: validateUserToken,
    fields: { 'spec.user': field('spec.user') },
    table: {
      columns: [nameColumn(), column('User', 'Whose token'), column('Expires', 'When it stops working'), column('Roles', 'Roles of an application credential'), ageColumn()],
      cells: (o, now) => {
        const t = o as UserToken;
        return [o.metadata.name, t.spec?.user ?? '', t.spec?.expirationTimestamp ?? '<never>', (t.spec?.roles ?? []).join(','), age(o, now)];
      },
    },
  });
}

export function loginType(): ResourceType {
  return {
    ...defineType({
      group: NUBIS_GROUP,
      version: 'v1',
      kind: 'Login',
      resource: 'logins',
      singular: 'login',
      namespaced: false,
      verbs: ['create'],
      subresources: [],
      hasStatus: false,
      schema: kindSchema('A user name and password exchanged for a token; never stored.', {
        spec: obj({ username: str(), password: str(), expirationSeconds: int(), description: str() }),
        status: obj({ token: str(), expirationTimestamp: time(), tenant: str(), user: str() }),
      }),
      validateSpec: validateLogin,
      table: { columns: [], cells: () => [] }, // never listed
    }),
    ephemeral: true,
  };
}

/** The kinds of nubis.dev/v1, listed explicitly. */
export function nubisV1(): ResourceType[] {
  return [tenantType(), userType(), userTokenType(), loginType()];
}
