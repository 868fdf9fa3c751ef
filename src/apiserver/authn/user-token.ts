/**
 * Tokens of tenant users (nubis.dev/v1 UserToken): `nubis-<token name>.<secret>`; the UserToken keeps
 * the secret's sha256. The user gets its tenant and role groups; an application credential's roles
 * replace the user's (a subset of them: roles the user has lost since are dropped).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { impliedRoles } from '../../api/nubis/v1/tenancy.js';
import type { TenancyIndex } from '../tenancy/tenancy-index.js';
import { tenantGroups, tenantUserName } from '../tenancy/tenancy-index.js';
import type { Authenticator, AuthnResult, Credentials } from './authenticator.js';

const TOKEN = /^nubis-(ut-[a-z0-9]{12})\.([A-Za-z0-9_-]{43})$/;

/** When the credential a request came with expires (tokens it makes may not outlive it). */
export const CREDENTIAL_EXPIRES = 'nubis.dev/credential-expires';
/** Set when the credential holds fewer roles than its user (an application credential). */
export const CREDENTIAL_RESTRICTED = 'nubis.dev/credential-restricted';

export function userTokenString(name: string, secret: string): string {
  return `nubis-${name}.${secret}`;
}

export function secretHash(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export class UserTokenAuthenticator implements Authenticator {
  readonly name = 'user-token';

  constructor(private readonly index: TenancyIndex) {}

  authenticate(creds: Credentials): AuthnResult {
    const m = creds.token ? TOKEN.exec(creds.token) : null;
    if (!m) return undefined;
    const token = this.index.token(m[1]!);
    if (!token) return { invalid: 'the token is not known or was revoked' };
    const want = Buffer.from(token.spec.secretHash, 'hex');
    const got = Buffer.from(secretHash(m[2]!), 'hex');
    if (want.length !== got.length || !timingSafeEqual(want, got)) return { invalid: 'the token is not known or was revoked' };
    if (token.spec.expirationTimestamp && Date.parse(token.spec.expirationTimestamp) <= Date.now()) return { invalid: 'the token has expired' };
    const user = this.index.user(token.spec.user);
    // A token belongs to the user it was made for, not to a later user of the same name.
    const owner = token.metadata.ownerReferences?.find((o) => o.kind === 'User')?.uid;
    if (!user || user.spec.disabled || token.metadata.deletionTimestamp || !owner || owner !== user.metadata.uid) return { invalid: 'the user of this token is gone or disabled' };
    const own = impliedRoles(user.spec.roles ?? []);
    const roles = token.spec.roles ? impliedRoles(token.spec.roles.filter((r) => own.includes(r))) : own;
    const extra: Record<string, string[]> = { 'nubis.dev/tenant': [user.spec.tenant], 'nubis.dev/user': [user.metadata.name], 'authentication.kubernetes.io/credential-id': [`usertoken:${token.metadata.name}`] };
    if (token.spec.expirationTimestamp) extra[CREDENTIAL_EXPIRES] = [token.spec.expirationTimestamp];
    if (roles.length < own.length) extra[CREDENTIAL_RESTRICTED] = ['true'];
    return { user: { name: tenantUserName(user.spec.tenant, user.metadata.name), uid: user.metadata.uid, groups: tenantGroups(user.spec.tenant, roles), extra } };
  }
}
