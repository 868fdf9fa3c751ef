/**
 * RBAC's guard against privilege escalation: a Role or ClusterRole may only be written by someone who
 * holds every permission it grants (or may `escalate` on it), and a binding only by someone who holds
 * every permission of the role it binds (or may `bind` it). So a tenant admin who may write roles in
 * its namespaces cannot mint rights it was not given.
 */
import type { ClusterRole, PolicyRule, Role, RoleBinding } from '../../api/rbac/v1/rbac.js';
import { RBAC_GROUP } from '../../api/rbac/v1/rbac.js';
import type { Authorizer } from '../authz/authorizer.js';
import { describeRule, uncovered } from '../authz/policy-rules.js';
import type { RbacAuthorizer } from '../authz/rbac-authorizer.js';
import { ApiError } from '../status.js';
import { forbiddenBy, type AdmissionPlugin, type AdmissionRequest } from './admission.js';

export class RbacEscalation implements AdmissionPlugin {
  readonly name = 'RBACEscalation';

  constructor(
    private readonly authorizer: Authorizer,
    private readonly rbac: RbacAuthorizer,
    /** Rules a user holds outside RBAC's bindings (a tenant's roles in its namespaces). */
    private readonly otherRules: (user: AdmissionRequest['user'], namespace: string | undefined) => PolicyRule[] = () => [],
  ) {}

  private async may(r: AdmissionRequest, verb: string, resource: string, name: string): Promise<boolean> {
    const d = await this.authorizer.authorize({ user: r.user, verb, group: RBAC_GROUP, resource, namespace: r.namespace, name });
    return d.decision === 'allow';
  }

  private check(r: AdmissionRequest, wanted: PolicyRule[], what: string): void {
    const owned = [...this.rbac.rulesFor(r.user, r.namespace).flatMap((g) => g.rules), ...this.otherRules(r.user, r.namespace)];
    const missing = uncovered(owned, wanted);
    if (missing.length === 0) return;
    const shown = missing.slice(0, 10).map(describeRule).join(', ');
    const more = missing.length > 10 ? ` and ${missing.length - 10} more` : '';
    throw new ApiError('Forbidden', forbiddenBy(r, `user "${r.user.name}" is attempting to grant RBAC permissions not currently held: ${shown}${more} (${what})`), {
      name: r.name,
      group: RBAC_GROUP,
      kind: r.type.resource,
    });
  }

  async validate(r: AdmissionRequest): Promise<void> {
    if (r.type.group !== RBAC_GROUP || (r.operation !== 'CREATE' && r.operation !== 'UPDATE') || !r.object) return;
    const res = r.type.resource;
    if (res === 'roles' || res === 'clusterroles') {
      if (await this.may(r, 'escalate', res, r.name)) return;
      if ((r.object as ClusterRole).aggregationRule) {
        throw new ApiError('Forbidden', forbiddenBy(r, `user "${r.user.name}" may not write an aggregated ClusterRole without the escalate verb`), { name: r.name, group: RBAC_GROUP, kind: res });
      }
      this.check(r, (r.object as Role).rules ?? [], `writing ${r.type.kind} "${r.name}"`);
      return;
    }
    if (res === 'rolebindings' || res === 'clusterrolebindings') {
      const ref = (r.object as RoleBinding).roleRef;
      const roleResource = ref.kind === 'ClusterRole' ? 'clusterroles' : 'roles';
      if (await this.may(r, 'bind', roleResource, ref.name)) return;
      const rules = this.rbac.roleRules(ref.kind, r.namespace, ref.name);
      if (!rules) throw new ApiError('Forbidden', forbiddenBy(r, `${ref.kind} "${ref.name}" not found, and user "${r.user.name}" may not bind it without the bind verb`), { name: r.name, group: RBAC_GROUP, kind: res });
      this.check(r, rules, `binding ${ref.kind} "${ref.name}"`);
    }
  }
}
