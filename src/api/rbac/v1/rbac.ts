/**
 * rbac.authorization.k8s.io/v1: Role, ClusterRole, RoleBinding and ClusterRoleBinding, with Kubernetes'
 * validation (verbs required; non-resource URLs only in cluster roles; roleRef immutable; subjects of a
 * known kind) and defaults (User and Group subjects in the RBAC group).
 */
import { defineType } from '../../define.js';
import type { KubeObject, LabelSelectorSpec } from '../../meta.js';
import { kindSchema, labelSelectorSchema } from '../../meta-schema.js';
import type { FieldError, ResourceType } from '../../resource-type.js';
import { list, obj, str, stringList } from '../../schema.js';
import { age, ageColumn, column, nameColumn, wide } from '../../table.js';
import { fieldErr, immutable, validateLabelSelector } from '../../validation.js';

export const RBAC_GROUP = 'rbac.authorization.k8s.io';

export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export interface Subject {
  kind: 'User' | 'Group' | 'ServiceAccount';
  name: string;
  apiGroup?: string;
  namespace?: string;
}

export interface RoleRef {
  apiGroup: string;
  kind: 'Role' | 'ClusterRole';
  name: string;
}

export interface Role extends KubeObject {
  rules?: PolicyRule[];
}

export interface ClusterRole extends Role {
  aggregationRule?: { clusterRoleSelectors?: LabelSelectorSpec[] };
}

export interface RoleBinding extends KubeObject {
  subjects?: Subject[];
  roleRef: RoleRef;
}

const ruleSchema = obj({
  verbs: stringList('Verbs is a list of Verbs that apply to ALL the ResourceKinds contained in this rule. \'*\' represents all verbs.'),
  apiGroups: stringList('APIGroups is the name of the APIGroup that contains the resources.'),
  resources: stringList('Resources is a list of resources this rule applies to. \'*\' represents all resources.'),
  resourceNames: stringList('ResourceNames is an optional white list of names that the rule applies to.'),
  nonResourceURLs: stringList('NonResourceURLs is a set of partial urls that a user should have access to.'),
});
const subjectSchema = obj({ kind: str(), name: str(), apiGroup: str(), namespace: str() });
const roleRefSchema = obj({ apiGroup: str(), kind: str(), name: str() });

function isStringList(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === 'string');
}

function validateRules(rules: unknown, clusterScoped: boolean): FieldError[] {
  const errors: FieldError[] = [];
  if (rules === undefined || rules === null) return errors;
  if (!Array.isArray(rules)) return [fieldErr.invalid('rules', rules, 'must be a list of PolicyRules')];
  rules.forEach((r: unknown, i) => {
    const p = `rules[${i}]`;
    if (typeof r !== 'object' || r === null || Array.isArray(r)) {
      errors.push(fieldErr.invalid(p, r, 'must be a PolicyRule object'));
      return;
    }
    const rule = r as Record<string, unknown>;
    for (const f of ['verbs', 'apiGroups', 'resources', 'resourceNames', 'nonResourceURLs']) {
      if (rule[f] !== undefined && !isStringList(rule[f])) errors.push(fieldErr.invalid(`${p}.${f}`, rule[f], 'must be a list of strings'));
    }
    const len = (f: string) => (isStringList(rule[f]) ? (rule[f] as string[]).length : 0);
    if (len('verbs') === 0) errors.push(fieldErr.required(`${p}.verbs`, 'verbs must contain at least one value'));
    if (len('nonResourceURLs') > 0) {
      if (!clusterScoped) errors.push(fieldErr.invalid(`${p}.nonResourceURLs`, rule.nonResourceURLs, 'namespaced rules cannot apply to non-resource URLs'));
      else if (len('apiGroups') > 0 || len('resources') > 0) errors.push(fieldErr.invalid(`${p}.nonResourceURLs`, rule.nonResourceURLs, 'rules cannot apply to both regular resources and non-resource URLs'));
      for (const [j, u] of ((rule.nonResourceURLs as string[] | undefined) ?? []).entries()) {
        if (!u.startsWith('/') && u !== '*') errors.push(fieldErr.invalid(`${p}.nonResourceURLs[${j}]`, u, 'must start with "/" or be "*"'));
        else if (u.slice(0, -1).includes('*')) errors.push(fieldErr.invalid(`${p}.nonResourceURLs[${j}]`, u, '"*" may only end a URL'));
      }
      return;
    }
    if (len('apiGroups') === 0) errors.push(fieldErr.required(`${p}.apiGroups`, 'resource rules must supply at least one api group'));
    if (len('resources') === 0) errors.push(fieldErr.required(`${p}.resources`, 'resource rules must supply at least one resource'));
  });
  return errors;
}

function validateSubjects(subjects: unknown, namespaced: boolean): FieldError[] {
  const errors: FieldError[] = [];
  if (subjects === undefined || subjects === null) return errors;
  if (!Array.isArray(subjects)) return [fieldErr.invalid('subjects', subjects, 'must be a list of Subjects')];
  subjects.forEach((s: unknown, i) => {
    const p = `subjects[${i}]`;
    if (typeof s !== 'object' || s === null || Array.isArray(s)) {
      errors.push(fieldErr.invalid(p, s, 'must be a Subject object'));
      return;
    }
    const sub = s as Record<string, unknown>;
    if (typeof sub.name !== 'string' || sub.name === '') errors.push(fieldErr.required(`${p}.name`));
    switch (sub.kind) {
      case 'User':
      case 'Group':
        if (sub.apiGroup !== RBAC_GROUP) errors.push(fieldErr.notSupported(`${p}.apiGroup`, sub.apiGroup, [RBAC_GROUP]));
        if (sub.kind === 'Group' && sub.name === '') errors.push(fieldErr.required(`${p}.name`));
        break;
      case 'ServiceAccount':
        if (sub.apiGroup !== undefined && sub.apiGroup !== '') errors.push(fieldErr.notSupported(`${p}.apiGroup`, sub.apiGroup, ['']));
        if (!namespaced && (typeof sub.namespace !== 'string' || sub.namespace === '')) errors.push(fieldErr.required(`${p}.namespace`));
        break;
      default:
        errors.push(fieldErr.notSupported(`${p}.kind`, sub.kind, ['ServiceAccount', 'User', 'Group']));
    }
  });
  return errors;
}

function validateBinding(o: KubeObject, old: KubeObject | undefined, namespaced: boolean): FieldError[] {
  const b = o as RoleBinding;
  const errors: FieldError[] = [];
  const ref = b.roleRef as unknown;
  if (typeof ref !== 'object' || ref === null || Array.isArray(ref)) {
    errors.push(fieldErr.required('roleRef'));
  } else {
    if (b.roleRef.apiGroup !== RBAC_GROUP) errors.push(fieldErr.notSupported('roleRef.apiGroup', b.roleRef.apiGroup, [RBAC_GROUP]));
    const kinds = namespaced ? ['Role', 'ClusterRole'] : ['ClusterRole'];
    if (!kinds.includes(b.roleRef.kind)) errors.push(fieldErr.notSupported('roleRef.kind', b.roleRef.kind, kinds));
    if (typeof b.roleRef.name !== 'string' || b.roleRef.name === '') errors.push(fieldErr.required('roleRef.name'));
  }
  errors.push(...validateSubjects(b.subjects, namespaced));
  if (old) immutable(errors, 'roleRef', b.roleRef, (old as RoleBinding).roleRef, 'cannot change roleRef');
  return errors;
}

function defaultSubjects(o: KubeObject, namespace?: string): void {
  const b = o as RoleBinding;
  if (!Array.isArray(b.subjects)) return;
  for (const s of b.subjects) {
    if (typeof s !== 'object' || s === null) continue;
    if ((s.kind === 'User' || s.kind === 'Group') && s.apiGroup === undefined) s.apiGroup = RBAC_GROUP;
    if (s.kind === 'ServiceAccount' && s.apiGroup === undefined) s.apiGroup = '';
    if (s.kind === 'ServiceAccount' && !s.namespace && namespace) s.namespace = namespace;
  }
  if (b.roleRef && typeof b.roleRef === 'object' && b.roleRef.apiGroup === undefined) b.roleRef.apiGroup = RBAC_GROUP;
}

const createdAtColumn = () => column('Created At', 'The time the role was created', { type: 'date' });

function roleType(kind: 'Role' | 'ClusterRole'): ResourceType {
  const cluster = kind === 'ClusterRole';
  return defineType({
    group: RBAC_GROUP,
    version: 'v1',
    kind,
    resource: cluster ? 'clusterroles' : 'roles',
    singular: kind.toLowerCase(),
    namespaced: !cluster,
    subresources: [],
    hasStatus: false,
    nameRule: 'path-segment',
    schema: kindSchema(`${kind} is a logical grouping of PolicyRules that can be referenced as a unit by a ${cluster ? 'RoleBinding or ClusterRoleBinding' : 'RoleBinding'}.`, {
      rules: list(ruleSchema, { description: 'Rules holds all the PolicyRules for this role', listType: 'atomic' }),
      ...(cluster ? { aggregationRule: obj({ clusterRoleSelectors: list(labelSelectorSchema, { listType: 'atomic' }) }) } : {}),
    }),
    validateSpec(o) {
      const errors = validateRules((o as Role).rules, cluster);
      const agg = (o as ClusterRole).aggregationRule as unknown;
      if (cluster && agg !== undefined && agg !== null) {
        const selectors = (agg as { clusterRoleSelectors?: unknown }).clusterRoleSelectors;
        if (!Array.isArray(selectors)) errors.push(fieldErr.invalid('aggregationRule.clusterRoleSelectors', selectors, 'must be a list of label selectors'));
        else selectors.forEach((s, i) => errors.push(...validateLabelSelector(s as LabelSelectorSpec, `aggregationRule.clusterRoleSelectors[${i}]`)));
      }
      return errors;
    },
    table: {
      columns: [nameColumn(), createdAtColumn()],
      cells: (o) => [o.metadata.name, o.metadata.creationTimestamp ?? ''],
    },
  });
}

const names = (b: RoleBinding, kind: Subject['kind']) =>
  (b.subjects ?? []).filter((s) => s.kind === kind).map((s) => (kind === 'ServiceAccount' ? `${s.namespace ?? ''}/${s.name}` : s.name)).join(', ');

function bindingType(kind: 'RoleBinding' | 'ClusterRoleBinding'): ResourceType {
  const cluster = kind === 'ClusterRoleBinding';
  return defineType({
    group: RBAC_GROUP,
    version: 'v1',
    kind,
    resource: cluster ? 'clusterrolebindings' : 'rolebindings',
    singular: kind.toLowerCase(),
    namespaced: !cluster,
    subresources: [],
    hasStatus: false,
    nameRule: 'path-segment',
    schema: kindSchema(`${kind} references a role and grants its permissions to users, groups or service accounts.`, {
      subjects: list(subjectSchema, { description: 'Subjects holds references to the objects the role applies to.', listType: 'atomic' }),
      roleRef: roleRefSchema,
    }),
    defaults: (o) => defaultSubjects(o, o.metadata.namespace),
    validateSpec: (o, old) => validateBinding(o, old, !cluster),
    table: {
      columns: [
        nameColumn(),
        column('Role', 'The role the binding grants'),
        ageColumn(),
        wide('Users', 'Users in the binding'),
        wide('Groups', 'Groups in the binding'),
        wide('ServiceAccounts', 'ServiceAccounts in the binding'),
      ],
      cells: (o, now) => {
        const b = o as RoleBinding;
        return [o.metadata.name, `${b.roleRef?.kind ?? ''}/${b.roleRef?.name ?? ''}`, age(o, now), names(b, 'User'), names(b, 'Group'), names(b, 'ServiceAccount')];
      },
    },
  });
}

/** The kinds of rbac.authorization.k8s.io/v1, listed explicitly. */
export function rbacV1(): ResourceType[] {
  return [roleType('ClusterRole'), bindingType('ClusterRoleBinding'), roleType('Role'), bindingType('RoleBinding')];
}
