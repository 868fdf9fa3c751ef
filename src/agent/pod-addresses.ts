/** Which pod holds each pod address, and what a DNS client at an address may resolve (its tenant's names). */
import type { Pod } from '../api/core/v1/pod-types.js';

/**
 * The pod each address belongs to: running pods with an address, one per address. A pod being deleted
 * may still show an address its node already gave to a new pod: the pod not being deleted (else the
 * newer) holds it.
 */
export function podsByIp(pods: Iterable<Pod>): Map<string, Pod> {
  const out = new Map<string, Pod>();
  const newer = (a: Pod, b: Pod) => (a.metadata.creationTimestamp ?? '') > (b.metadata.creationTimestamp ?? '');
  for (const p of pods) {
    const ip = p.status?.podIP;
    if (!ip || p.spec.hostNetwork || p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') continue;
    const held = out.get(ip);
    if (!held || (held.metadata.deletionTimestamp && !p.metadata.deletionTimestamp) || (!!held.metadata.deletionTimestamp === !!p.metadata.deletionTimestamp && newer(p, held))) out.set(ip, p);
  }
  return out;
}

/**
 * What a DNS client may resolve: a pod sees the namespaces of its own tenant (or, outside any tenant,
 * those of no tenant); an address `unknownPod` calls a pod's that no pod holds sees none (but
 * `kubernetes.default`); the node and other addresses see everything (undefined).
 */
export function dnsViewOf(byIp: Map<string, Pod>, ip: string, tenantOfNamespace: (ns: string) => string, unknownPod?: (ip: string) => boolean): ((namespace: string) => boolean) | undefined {
  const ns = byIp.get(ip)?.metadata.namespace;
  if (ns === undefined) return unknownPod?.(ip) ? () => false : undefined;
  const mine = tenantOfNamespace(ns);
  return (other) => tenantOfNamespace(other) === mine;
}
