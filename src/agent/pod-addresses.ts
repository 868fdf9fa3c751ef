/** Which pod holds each pod address, and what a DNS client at an address may resolve (its tenant's names). */
import type { Node } from '../api/core/v1/node.js';
import type { Pod } from '../api/core/v1/pod-types.js';
import { parseCidr, type Cidr } from '../lib/cidr.js';

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

/**
 * `index` with this node's pods whose address the API does not show yet (the agent knows it first):
 * the pod as the informer has it (same uid), else a bare one with its name.
 */
export function withUnpublished(index: Map<string, Pod>, unpublished: Iterable<{ podUid: string; namespace: string; name: string; ip: string }>, seen: (ns: string, name: string) => Pod | undefined): Map<string, Pod> {
  for (const local of unpublished) {
    if (index.has(local.ip)) continue;
    const known = seen(local.namespace, local.name);
    const pod: Pod = known?.metadata.uid === local.podUid ? known : { apiVersion: 'v1', kind: 'Pod', metadata: { namespace: local.namespace, name: local.name, uid: local.podUid }, spec: { containers: [] } };
    index.set(local.ip, { ...pod, status: { ...pod.status, podIP: local.ip } });
  }
  return index;
}

/** Every node's IPv4 pod ranges (what does not parse, e.g. an IPv6 range, is left out). */
export function podRangesOf(nodes: Node[]): Cidr[] {
  return nodes.flatMap((node) =>
    (node.spec?.podCIDRs ?? (node.spec?.podCIDR ? [node.spec.podCIDR] : [])).flatMap((c) => {
      try {
        return [parseCidr(c)];
      } catch {
        return [];
      }
    }),
  );
}
