/**
 * How the API server's own loops (garbage collector, namespace lifecycle, bootstrap objects) write: as
 * a named identity, authorized and admitted like any request, through ObjectOps. Nothing they do
 * bypasses the pipeline, and RBAC shows what each may do.
 */
import type { KubeObject } from '../api/meta.js';
import type { ResourceType } from '../api/registry.js';
import type { UserInfo } from './authn/authenticator.js';
import { forbiddenMessage, type Attributes, type Authorizer } from './authz/authorizer.js';
import { isControlPlaneUser, kubeSystemAccount } from './authz/control-plane-policy.js';
import type { DeleteOptions, ObjectOps, Subresource } from './object-ops.js';
import { ApiError } from './status.js';

function systemAccount(name: string): UserInfo {
  const account = kubeSystemAccount(name);
  return { ...account, groups: [...account.groups, 'system:authenticated'] };
}

/** The identities the API server's own loops act as. */
export const SYSTEM_USERS = {
  apiserver: { name: 'system:apiserver', groups: ['system:masters', 'system:authenticated'] },
  garbageCollector: systemAccount('generic-garbage-collector'),
  roleAggregator: systemAccount('clusterrole-aggregation-controller'),
  certificateController: systemAccount('certificate-controller'),
  tenantController: systemAccount('tenant-controller'),
  serviceAccountController: systemAccount('service-account-controller'),
} satisfies Record<string, UserInfo>;

/**
 * Whether `user` is one of the API server's own loops or of the control plane's (they act with
 * credentials of their own): no ServiceAccount token may ever be made for them.
 */
export function isInternalUser(user: string): boolean {
  return isControlPlaneUser(user) || Object.values(SYSTEM_USERS).some((u) => u.name === user);
}

export class InternalWriter {
  constructor(
    readonly ops: ObjectOps,
    private readonly authorizer: Authorizer,
    readonly user: UserInfo,
  ) {}

  private async authorize(verb: string, t: ResourceType, namespace: string | undefined, name: string | undefined, subresource?: string): Promise<void> {
    const a: Attributes = { user: this.user, verb, group: t.group, resource: t.resource, subresource, namespace: t.namespaced ? namespace : undefined, name };
    const d = await this.authorizer.authorize(a);
    if (d.decision !== 'allow') throw new ApiError('Forbidden', forbiddenMessage(a, d.reason));
  }

  async create(t: ResourceType, namespace: string | undefined, body: Record<string, unknown>): Promise<KubeObject> {
    await this.authorize('create', t, namespace, undefined);
    return this.ops.create(t, namespace, body, { user: this.user });
  }

  async replace(t: ResourceType, old: KubeObject, next: KubeObject, subresource?: Subresource): Promise<KubeObject> {
    await this.authorize('update', t, old.metadata.namespace, old.metadata.name, subresource);
    return this.ops.replace(t, old, next, { user: this.user, subresource });
  }

  async delete(t: ResourceType, namespace: string | undefined, name: string, opts: Omit<DeleteOptions, 'user'>): Promise<KubeObject> {
    await this.authorize('delete', t, namespace, name);
    return this.ops.delete(t, namespace, name, { ...opts, user: this.user });
  }
}
