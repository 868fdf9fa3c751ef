import type { Pod, Toleration } from '../api/core/v1/pod-types.js';
import type { LabelSelectorSpec } from '../api/meta.js';
import { selectorMatches } from '../api/validation.js';
import type { Affinity, NodeSelectorTerm, PodAffinityTerm } from './affinity-types.js';
import { type Resources, podRequests } from './resources.js';

/** A pod (anti-)affinity term, compiled once per pod. */
export interface AffinityTerm {
  /** null: the term's selector was absent, which matches no pod (Kubernetes). */
  selector: LabelSelectorSpec | null;
  /** Namespaces named by the term, or the pod's own when neither names nor a namespace selector are given. */
  namespaces: ReadonlySet<string>;
  /** A selector over namespace labels; an empty one (`{}`) selects every namespace. */
  namespaceSelector: LabelSelectorSpec | null;
  allNamespaces: boolean;
  topologyKey: string;
  /** Weight of a preferred term; 1 for required ones. */
  weight: number;
}

/** Namespace labels, for terms with a namespaceSelector. */
export type NamespaceLabels = (namespace: string) => Record<string, string> | undefined;

/** Whether `pod` is selected by `term` (namespace, then labels). */
export function termMatchesPod(term: AffinityTerm, pod: PodInfo, nsLabels: NamespaceLabels): boolean {
  if (!term.selector) return false;
  if (!term.allNamespaces && !term.namespaces.has(pod.namespace)) {
    if (!term.namespaceSelector) return false;
    const labels = nsLabels(pod.namespace);
    if (!labels || !selectorMatches(term.namespaceSelector, labels)) return false;
  }
  return selectorMatches(term.selector, pod.labels);
}

function compileTerm(t: PodAffinityTerm, ownNamespace: string, weight: number): AffinityTerm {
  const nsSel = t.namespaceSelector ?? null;
  const emptySel = !!nsSel && Object.keys(nsSel.matchLabels ?? {}).length === 0 && !nsSel.matchExpressions?.length;
  const names = new Set(t.namespaces ?? []);
  if (names.size === 0 && !nsSel) names.add(ownNamespace);
  return { selector: t.labelSelector ?? null, namespaces: names, namespaceSelector: nsSel, allNamespaces: emptySel, topologyKey: t.topologyKey, weight };
}

/**
 * Everything the scheduler needs from one pod, computed when the pod enters the scheduler (queue or
 * cache) so that a scheduling cycle reads plain fields: requests as numbers, compiled selectors and terms.
 */
export class PodInfo {
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly requests: Resources;
  readonly nonZeroMilliCpu: number;
  readonly nonZeroMemory: number;
  readonly nodeSelector: Record<string, string> | null;
  /** ORed node selector terms of requiredDuringScheduling node affinity, or null. */
  readonly requiredNodeTerms: NodeSelectorTerm[] | null;
  readonly preferredNodeTerms: Array<{ weight: number; preference: NodeSelectorTerm }> | null;
  readonly tolerations: Toleration[];
  readonly requiredAffinity: AffinityTerm[];
  readonly requiredAntiAffinity: AffinityTerm[];
  readonly preferredAffinity: AffinityTerm[];
  readonly preferredAntiAffinity: AffinityTerm[];
  /** The controller owner (ownerReferences with controller=true), or null. */
  readonly ownerKey: string | null;
  readonly priority: number;

  constructor(readonly pod: Pod) {
    const md = pod.metadata;
    this.namespace = md.namespace ?? 'default';
    this.name = md.name;
    this.key = `${this.namespace}/${this.name}`;
    this.labels = md.labels ?? {};
    const spec = pod.spec;
    const req = podRequests(spec);
    this.requests = req.requests;
    this.nonZeroMilliCpu = req.nonZeroMilliCpu;
    this.nonZeroMemory = req.nonZeroMemory;
    this.nodeSelector = spec.nodeSelector && Object.keys(spec.nodeSelector).length ? spec.nodeSelector : null;
    const aff = (spec.affinity ?? {}) as Affinity;
    const na = aff.nodeAffinity;
    this.requiredNodeTerms = na?.requiredDuringSchedulingIgnoredDuringExecution ? na.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms ?? [] : null;
    this.preferredNodeTerms = na?.preferredDuringSchedulingIgnoredDuringExecution?.length ? na.preferredDuringSchedulingIgnoredDuringExecution : null;
    this.tolerations = spec.tolerations ?? [];
    const req1 = (ts: PodAffinityTerm[] | undefined) => (ts ?? []).map((t) => compileTerm(t, this.namespace, 1));
    const pref = (ts: Array<{ weight: number; podAffinityTerm: PodAffinityTerm }> | undefined) =>
      (ts ?? []).map((t) => compileTerm(t.podAffinityTerm, this.namespace, t.weight));
    this.requiredAffinity = req1(aff.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution);
    this.requiredAntiAffinity = req1(aff.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution);
    this.preferredAffinity = pref(aff.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution);
    this.preferredAntiAffinity = pref(aff.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution);
    const owner = md.ownerReferences?.find((o) => o.controller);
    this.ownerKey = owner ? `${this.namespace}/${owner.kind}/${owner.uid || owner.name}` : null;
    this.priority = spec.priority ?? 0;
  }

  /** Whether the pod has any pod (anti-)affinity term, required or preferred. */
  get hasPodAffinity(): boolean {
    return this.requiredAffinity.length + this.requiredAntiAffinity.length + this.preferredAffinity.length + this.preferredAntiAffinity.length > 0;
  }
}

/** Succeeded and Failed pods no longer hold resources on their node. */
export function isTerminal(pod: Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}
