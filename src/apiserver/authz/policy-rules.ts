/**
 * PolicyRule matching as RBAC defines it, and coverage (whether one set of rules grants at least what
 * another does), which keeps users from granting rights they do not hold themselves.
 */
import type { PolicyRule } from '../../api/rbac/v1/rbac.js';
import type { Attributes } from './authorizer.js';

const has = (list: string[] | undefined, v: string) => !!list && (list.includes(v) || list.includes('*'));

function resourceMatches(rule: PolicyRule, resource: string, subresource?: string): boolean {
  const rs = rule.resources ?? [];
  if (rs.includes('*')) return true;
  if (!subresource) return rs.includes(resource);
  return rs.includes(`${resource}/${subresource}`) || rs.includes(`*/${subresource}`);
}

function pathMatches(rule: PolicyRule, path: string): boolean {
  for (const u of rule.nonResourceURLs ?? []) {
    if (u === '*' || u === path) return true;
    if (u.endsWith('*') && path.startsWith(u.slice(0, -1))) return true;
  }
  return false;
}

/** Whether one rule allows the request. */
export function ruleAllows(rule: PolicyRule, a: Attributes): boolean {
  if (!has(rule.verbs, a.verb)) return false;
  if (a.path !== undefined) return pathMatches(rule, a.path);
  if (!has(rule.apiGroups, a.group ?? '')) return false;
  if (!resourceMatches(rule, a.resource ?? '', a.subresource)) return false;
  const names = rule.resourceNames ?? [];
  return names.length === 0 || (a.name !== undefined && names.includes(a.name));
}

/**
 * The single-verb, single-resource pieces of a rule: a rule is covered when each piece is. Wildcards
 * stay as they are: only an owner wildcard covers them.
 */
function pieces(rule: PolicyRule): PolicyRule[] {
  const out: PolicyRule[] = [];
  for (const verb of rule.verbs ?? []) {
    if ((rule.nonResourceURLs ?? []).length > 0) {
      for (const u of rule.nonResourceURLs!) out.push({ verbs: [verb], nonResourceURLs: [u] });
      continue;
    }
    for (const group of rule.apiGroups ?? []) {
      for (const resource of rule.resources ?? []) {
        const names = rule.resourceNames ?? [];
        if (names.length === 0) out.push({ verbs: [verb], apiGroups: [group], resources: [resource] });
        else for (const n of names) out.push({ verbs: [verb], apiGroups: [group], resources: [resource], resourceNames: [n] });
      }
    }
  }
  return out;
}

function covers(owner: PolicyRule, piece: PolicyRule): boolean {
  const verb = piece.verbs[0]!;
  if (!has(owner.verbs, verb)) return false;
  if (piece.nonResourceURLs) {
    const u = piece.nonResourceURLs[0]!;
    return (owner.nonResourceURLs ?? []).some((o) => o === '*' || o === u || (o.endsWith('*') && u.startsWith(o.slice(0, -1))));
  }
  if (!has(owner.apiGroups, piece.apiGroups![0]!)) return false;
  const resource = piece.resources![0]!;
  const ors = owner.resources ?? [];
  const slash = resource.indexOf('/');
  const resourceOk = ors.includes('*') || ors.includes(resource) || (slash > 0 && ors.includes(`*${resource.slice(slash)}`));
  if (!resourceOk) return false;
  const ownerNames = owner.resourceNames ?? [];
  if (ownerNames.length === 0) return true;
  return (piece.resourceNames ?? []).length === 1 && ownerNames.includes(piece.resourceNames![0]!);
}

/** The parts of `wanted` that `owned` does not grant (empty: fully covered). */
export function uncovered(owned: PolicyRule[], wanted: PolicyRule[]): PolicyRule[] {
  const missing: PolicyRule[] = [];
  for (const rule of wanted) for (const p of pieces(rule)) if (!owned.some((o) => covers(o, p))) missing.push(p);
  return missing;
}

/** One rule as Kubernetes prints it in escalation errors. */
export function describeRule(r: PolicyRule): string {
  if (r.nonResourceURLs?.length) return `{NonResourceURLs:${JSON.stringify(r.nonResourceURLs)}, Verbs:${JSON.stringify(r.verbs)}}`;
  const names = r.resourceNames?.length ? `, ResourceNames:${JSON.stringify(r.resourceNames)}` : '';
  return `{APIGroups:${JSON.stringify(r.apiGroups ?? [])}, Resources:${JSON.stringify(r.resources ?? [])}${names}, Verbs:${JSON.stringify(r.verbs)}}`;
}
