import type { NodeSelectorRequirement, NodeSelectorTerm } from '../../affinity-types.js';

/** Parses a Gt/Lt operand as Kubernetes does (a base-10 integer), or undefined. */
function int(s: string | undefined): number | undefined {
  if (s === undefined || !/^[+-]?\d+$/.test(s)) return undefined;
  return Number(s);
}

/** One node selector requirement against a label set (or, for matchFields, `{ 'metadata.name': name }`). */
export function requirementMatches(r: NodeSelectorRequirement, labels: Record<string, string>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  const v = labels[r.key];
  switch (r.operator) {
    case 'In':
      return has && (r.values ?? []).includes(v!);
    case 'NotIn':
      return !has || !(r.values ?? []).includes(v!);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'Gt':
    case 'Lt': {
      const want = int(r.values?.[0]);
      const got = int(v);
      if (!has || want === undefined || got === undefined || r.values?.length !== 1) return false;
      return r.operator === 'Gt' ? got > want : got < want;
    }
    default:
      return false;
  }
}

/**
 * One term: its expressions (on labels) and fields (only `metadata.name`) all match. A term with
 * neither matches nothing, as in Kubernetes.
 */
export function termMatches(term: NodeSelectorTerm, labels: Record<string, string>, nodeName: string): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return false;
  for (const r of exprs) if (!requirementMatches(r, labels)) return false;
  for (const r of fields) {
    if (r.key !== 'metadata.name' || !requirementMatches(r, { 'metadata.name': nodeName })) return false;
  }
  return true;
}

/** ORed terms (requiredDuringScheduling node affinity): any term matching is enough; no terms match nothing. */
export function anyTermMatches(terms: readonly NodeSelectorTerm[], labels: Record<string, string>, nodeName: string): boolean {
  for (const t of terms) if (termMatches(t, labels, nodeName)) return true;
  return false;
}
