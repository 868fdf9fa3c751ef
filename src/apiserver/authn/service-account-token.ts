/**
 * ServiceAccount tokens (JWTs this cluster signed): the user `system:serviceaccount:<ns>:<name>` in
 * `system:serviceaccounts` and `system:serviceaccounts:<ns>`, while the account, and the pod, secret or
 * node the token is bound to, still exist with the uids the token names. An account in a tenant's
 * namespace acts for that tenant (its group `nubis:tenant:<t>`, no tenant role): it sees nothing of
 * other tenants, and what RBAC grants it in its own namespaces.
 */
import { serviceAccountUser } from '../../api/core/v1/service-account.js';
import type { KubeObject } from '../../api/meta.js';
import { isNubisError } from '../../lib/errors.js';
import type { ObjectStore } from '../../store/object-store.js';
import { SERVICE_ACCOUNT_ISSUER, ServiceAccountTokens, type TokenClaims } from '../service-account-tokens.js';
import { isInternalUser } from '../internal-writer.js';
import { tenantGroups, type TenancyIndex } from '../tenancy/tenancy-index.js';
import type { Authenticator, AuthnResult, Credentials, UserInfo } from './authenticator.js';

export const SERVICE_ACCOUNTS_GROUP = 'system:serviceaccounts';

const RESOURCE: Record<string, string> = { Pod: 'pods', Secret: 'secrets', Node: 'nodes' };

export class ServiceAccountTokenAuthenticator implements Authenticator {
  readonly name = 'service-account-token';

  constructor(
    private readonly tokens: ServiceAccountTokens,
    private readonly store: ObjectStore,
    private readonly tenancy: TenancyIndex,
    /** The audiences the API server accepts (Kubernetes' default: the issuer). */
    private readonly audiences: string[] = [SERVICE_ACCOUNT_ISSUER],
  ) {}

  async authenticate(creds: Credentials): Promise<AuthnResult> {
    if (!creds.token || !ServiceAccountTokens.looksLikeJwt(creds.token)) return undefined;
    const claims = await this.tokens.verify(creds.token, this.audiences);
    if (typeof claims === 'string') return { invalid: claims };
    if (isInternalUser(serviceAccountUser(claims.namespace, claims.serviceAccount.name))) return { invalid: 'the API server\'s own identities have no tokens' };
    const sa = await this.get('serviceaccounts', claims.namespace, claims.serviceAccount.name);
    if (!sa || sa.metadata.uid !== claims.serviceAccount.uid) return { invalid: `service account ${claims.namespace}/${claims.serviceAccount.name} is gone or was made again` };
    if (claims.bound) {
      const kind = claims.bound.kind;
      const o = await this.get(RESOURCE[kind]!, kind === 'Node' ? undefined : claims.namespace, claims.bound.name);
      const ended = o?.metadata.deletionTimestamp && Date.parse(o.metadata.deletionTimestamp) <= Date.now();
      if (!o || o.metadata.uid !== claims.bound.uid || ended) return { invalid: `the ${kind.toLowerCase()} this token is bound to is gone` };
    }
    return { user: this.userOf(claims) };
  }

  private userOf(c: TokenClaims): UserInfo {
    const groups = [SERVICE_ACCOUNTS_GROUP, `${SERVICE_ACCOUNTS_GROUP}:${c.namespace}`];
    const extra: Record<string, string[]> = { 'authentication.kubernetes.io/credential-id': [`JTI=${c.id}`] };
    if (c.bound?.kind === 'Pod') {
      extra['authentication.kubernetes.io/pod-name'] = [c.bound.name];
      extra['authentication.kubernetes.io/pod-uid'] = [c.bound.uid];
    }
    if (c.node) {
      extra['authentication.kubernetes.io/node-name'] = [c.node.name];
      extra['authentication.kubernetes.io/node-uid'] = [c.node.uid];
    }
    const tenant = this.tenancy.tenantOfNamespace(c.namespace);
    if (tenant) {
      groups.push(...tenantGroups(tenant, []));
      extra['nubis.dev/tenant'] = [tenant];
    }
    return { name: serviceAccountUser(c.namespace, c.serviceAccount.name), uid: c.serviceAccount.uid, groups, extra };
  }

  private async get(resource: string, namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
    try {
      return await this.store.get({ group: '', resource }, { namespace, name });
    } catch (err) {
      if (isNubisError(err, 'NotFound')) return undefined;
      throw err;
    }
  }
}
