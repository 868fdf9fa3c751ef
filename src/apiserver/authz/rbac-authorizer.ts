/**
 * RBAC: Roles and ClusterRoles granted by RoleBindings and ClusterRoleBindings, read from an index
 * that store mirrors keep current. Bindings are indexed by subject (user, group, service account), so a
 * decision costs what the requesting user is bound to, not how many bindings exist.
 */
import type { KubeObject } from '../../api/meta.js';
import type { ClusterRole, PolicyRule, Role, RoleBinding, Subject } from '../../api/rbac/v1/rbac.js';
import { RBAC_GROUP } from '../../api/rbac/v1/rbac.js';
import type { ObjectStore } from '../../store/object-store.js';
import type { UserInfo } from '../authn/authenticator.js';
import { StoreMirror } from '../store-mirror.js';
import type { Attributes, Authorizer, AuthzResult } from './authorizer.js';
import { NO_OPINION } from './authorizer.js';
import { ruleAllows } from './policy-rules.js';

const SA_PREFIX = 'system:serviceaccount:';

/** The index keys a subject is found under. */
function subjectKey(s: Subject, bindingNamespace?: string): string | undefined {
  if (s.kind === 'User') return `u:${s.name}`;
  if (s.kind === 'Group') return `g:${s.name}`;
  if (s.kind === 'ServiceAccount') return `u:${SA_PREFIX}${s.namespace || bindingNamespace || ''}:${s.name}`;
  return undefined;
}

function userKeys(user: UserInfo): string[] {
  return [`u:${user.name}`, ...user.groups.map((g) => `g:${g}`)];
}

interface BindingEntry {
  /** '' for a ClusterRoleBinding. */
  namespace: string;
  name: string;
  roleRef: RoleBinding['roleRef'];
}

/** Where a rule came from, for SelfSubjectRulesReview and `reason`. */
export interface GrantedRules {
  binding: string;
  rules: PolicyRule[];
}

export class RbacAuthorizer implements Authorizer {
  readonly name = 'rbac';
  private readonly mirrors: StoreMirror[];
  private readonly bySubject = new Map<string, Map<string, BindingEntry>>();
  private readonly roles: StoreMirror;
  /** The ClusterRoles as stored (role aggregation follows them). */
  readonly clusterRoles: StoreMirror;

  constructor(store: ObjectStore) {
    const m = (resource: string) => new StoreMirror(store, { group: RBAC_GROUP, resource });
    this.roles = m('roles');
    this.clusterRoles = m('clusterroles');
    const rb = m('rolebindings');
    const crb = m('clusterrolebindings');
    rb.onChange((key, obj, old) => this.indexBinding(`rb:${key}`, obj, old));
    crb.onChange((key, obj, old) => this.indexBinding(`crb:${key}`, obj, old));
    this.mirrors = [this.roles, this.clusterRoles, rb, crb];
  }

  /** Resolves once every index holds the store's current objects. */
  async start(signal: AbortSignal): Promise<void> {
    await Promise.all(this.mirrors.map((m) => m.start(signal)));
  }

  private indexBinding(id: string, obj: KubeObject | undefined, old: KubeObject | undefined): void {
    const keysOf = (o: KubeObject | undefined) => ((o as RoleBinding | undefined)?.subjects ?? []).map((s) => subjectKey(s, o!.metadata.namespace)).filter((k): k is string => !!k);
    for (const k of keysOf(old)) this.bySubject.get(k)?.delete(id);
    if (!obj) return;
    const b = obj as RoleBinding;
    const entry: BindingEntry = { namespace: obj.metadata.namespace ?? '', name: obj.metadata.name, roleRef: b.roleRef };
    for (const k of keysOf(obj)) {
      let m = this.bySubject.get(k);
      if (!m) this.bySubject.set(k, (m = new Map()));
      m.set(id, entry);
    }
  }

  private rulesOf(entry: BindingEntry): PolicyRule[] {
    const ref = entry.roleRef;
    if (!ref) return [];
    if (ref.kind === 'ClusterRole') return (this.clusterRoles.objects.get(ref.name) as ClusterRole | undefined)?.rules ?? [];
    if (ref.kind === 'Role' && entry.namespace) return (this.roles.objects.get(`${entry.namespace}/${ref.name}`) as Role | undefined)?.rules ?? [];
    return [];
  }

  /** The bindings that apply to `user` in `namespace` (cluster-wide ones always). */
  private *bindingsFor(user: UserInfo, namespace: string | undefined): Generator<BindingEntry> {
    for (const k of userKeys(user)) {
      for (const e of this.bySubject.get(k)?.values() ?? []) {
        if (e.namespace === '' || e.namespace === namespace) yield e;
      }
    }
  }

  authorize(a: Attributes): AuthzResult {
    // A namespace's own object is also reachable through bindings inside it (get/update namespace "x").
    const ns = a.namespace ?? (a.resource === 'namespaces' && !a.group ? a.name : undefined);
    for (const b of this.bindingsFor(a.user, a.path === undefined ? ns : undefined)) {
      if (this.rulesOf(b).some((r) => ruleAllows(r, a))) {
        const kind = b.namespace ? `RoleBinding "${b.name}" of ${b.roleRef.kind} "${b.roleRef.name}" to` : `ClusterRoleBinding "${b.name}" of ClusterRole "${b.roleRef.name}" to`;
        return { decision: 'allow', reason: `RBAC: allowed by ${kind} ${a.user.name}` };
      }
    }
    return NO_OPINION;
  }

  /** Every rule granted to `user` in `namespace` (cluster-wide ones included), by binding. */
  rulesFor(user: UserInfo, namespace: string | undefined): GrantedRules[] {
    const out: GrantedRules[] = [];
    for (const b of this.bindingsFor(user, namespace)) out.push({ binding: `${b.namespace ? `${b.namespace}/` : ''}${b.name}`, rules: this.rulesOf(b) });
    return out;
  }

  /** A ClusterRole's or Role's rules (for bind and escalate checks); undefined when it does not exist. */
  roleRules(kind: string, namespace: string | undefined, name: string): PolicyRule[] | undefined {
    if (kind === 'ClusterRole') return (this.clusterRoles.objects.get(name) as ClusterRole | undefined)?.rules ?? (this.clusterRoles.objects.has(name) ? [] : undefined);
    const role = this.roles.objects.get(`${namespace}/${name}`) as Role | undefined;
    return role ? (role.rules ?? []) : undefined;
  }
}
