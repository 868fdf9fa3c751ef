/**
 * Authorization: whether a user may do what a request asks. Authorizers form a chain (superuser, node,
 * RBAC, tenancy…): the first that allows or denies decides; when none has an opinion the request is
 * denied. Authorizers read indexes kept in memory; one that may need the store (a graph the store
 * mirror has not caught up with) answers with a promise.
 */
import type { KubeObject } from '../../api/meta.js';
import type { UserInfo } from '../authn/authenticator.js';
import { qualifiedResource } from '../../store/object-store.js';

/** What a request asks, in RBAC's terms (Kubernetes' authorizer.Attributes). */
export interface Attributes {
  user: UserInfo;
  verb: string;
  /** Resource requests. */
  group?: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  /** Non-resource requests (paths such as /healthz or /version); absent for resource requests. */
  path?: string;
}

export type Decision = 'allow' | 'deny' | 'none';

export interface AuthzResult {
  decision: Decision;
  reason?: string;
  /** An allowed list or watch shows only the objects this accepts (a tenant user's scope). */
  visible?: (o: KubeObject) => boolean;
  /** A denial that must look like absence (404), so names of other tenants do not leak. */
  hidden?: boolean;
}

export interface Authorizer {
  readonly name: string;
  authorize(a: Attributes): AuthzResult | Promise<AuthzResult>;
}

export const NO_OPINION: AuthzResult = { decision: 'none' };

export class AuthorizerChain implements Authorizer {
  readonly name = 'chain';

  constructor(private readonly authorizers: Authorizer[]) {}

  async authorize(a: Attributes): Promise<AuthzResult> {
    for (const z of this.authorizers) {
      const r = await z.authorize(a);
      if (r.decision !== 'none') return r;
    }
    return NO_OPINION;
  }

  async allowed(a: Attributes): Promise<boolean> {
    return (await this.authorize(a)).decision === 'allow';
  }
}

export function isResourceRequest(a: Attributes): boolean {
  return a.path === undefined;
}

/** kube-apiserver's wording of a denial. */
export function forbiddenMessage(a: Attributes, reason?: string): string {
  const who = `User "${a.user.name}"`;
  const why = reason ? `: ${reason}` : '';
  if (!isResourceRequest(a)) return `forbidden: ${who} cannot ${a.verb} path "${a.path}"${why}`;
  const res = a.subresource ? `${a.resource}/${a.subresource}` : a.resource ?? '';
  // The error names the group-qualified resource (deployments.apps), without the subresource.
  const qualified = qualifiedResource({ group: a.group ?? '', resource: a.resource ?? '' });
  const named = a.name ? `${qualified} "${a.name}"` : qualified;
  const where = a.namespace ? ` in the namespace "${a.namespace}"` : a.resource === 'namespaces' || !a.namespace ? ' at the cluster scope' : '';
  return `${named} is forbidden: ${who} cannot ${a.verb} resource "${res}" in API group "${a.group ?? ''}"${where}${why}`;
}
