import type { DnsService } from './cluster-dns.js';
import type { Protocol, ServicePortRule, ServiceRule } from './service-rules.js';

/**
 * The parts of a Kubernetes Service and EndpointSlice that networking reads, restated structurally
 * (network/ may not import api/): the agent passes its cached objects as they are.
 */
export interface ServiceLike {
  metadata: { namespace?: string; name: string };
  spec?: {
    clusterIP?: string;
    type?: string;
    sessionAffinity?: string;
    sessionAffinityConfig?: { clientIP?: { timeoutSeconds?: number } };
    ports?: { name?: string; protocol?: string; port: number; nodePort?: number; targetPort?: number | string }[];
  };
}

export interface EndpointSliceLike {
  addressType?: string;
  endpoints?: { addresses: string[]; hostname?: string; conditions?: { ready?: boolean } }[];
  ports?: { name?: string; protocol?: string; port?: number }[];
}

const protocolOf = (p?: string): Protocol => (p === 'UDP' || p === 'SCTP' ? p : 'TCP');

/**
 * The rule model of one Service from its EndpointSlices: slice ports are matched to service ports by name
 * (and protocol); an endpoint counts as ready unless its ready condition is false, as Kubernetes reads it.
 * IPv6 slices are ignored. ExternalName services have no rules.
 */
export function serviceRuleFrom(svc: ServiceLike, slices: EndpointSliceLike[]): ServiceRule {
  const key = `${svc.metadata.namespace ?? 'default'}/${svc.metadata.name}`;
  const spec = svc.spec ?? {};
  const v4 = slices.filter((s) => (s.addressType ?? 'IPv4') === 'IPv4');
  const ports: ServicePortRule[] = (spec.ports ?? []).map((p) => {
    const protocol = protocolOf(p.protocol);
    const endpoints: ServicePortRule['endpoints'] = [];
    const seen = new Set<string>();
    for (const slice of v4) {
      const sp = (slice.ports ?? []).find((x) => (x.name ?? '') === (p.name ?? '') && protocolOf(x.protocol) === protocol);
      const port = sp?.port ?? (typeof p.targetPort === 'number' ? p.targetPort : undefined);
      if (port === undefined) continue;
      for (const e of slice.endpoints ?? []) {
        for (const ip of e.addresses) {
          if (seen.has(`${ip}:${port}`)) continue;
          seen.add(`${ip}:${port}`);
          endpoints.push({ ip, port, ready: e.conditions?.ready !== false });
        }
      }
    }
    return { name: p.name, protocol, port: p.port, nodePort: spec.type === 'NodePort' || spec.type === 'LoadBalancer' ? p.nodePort : undefined, endpoints };
  });
  return {
    key,
    clusterIP: spec.type === 'ExternalName' ? undefined : spec.clusterIP,
    ports,
    sessionAffinity: spec.sessionAffinity === 'ClientIP' ? 'ClientIP' : 'None',
    affinityTimeoutSeconds: spec.sessionAffinityConfig?.clientIP?.timeoutSeconds,
  };
}

/** The DNS model of one Service: headless services list their ready endpoints with hostnames and ports. */
export function dnsServiceFrom(svc: ServiceLike, slices: EndpointSliceLike[]): DnsService {
  const spec = svc.spec ?? {};
  const endpoints: NonNullable<DnsService['endpoints']> = [];
  for (const slice of slices) {
    if ((slice.addressType ?? 'IPv4') !== 'IPv4') continue;
    const ports: Record<string, number> = {};
    for (const p of slice.ports ?? []) if (p.name && p.port !== undefined) ports[p.name] = p.port;
    for (const e of slice.endpoints ?? []) {
      if (e.conditions?.ready === false) continue;
      for (const ip of e.addresses) endpoints.push({ ip, hostname: e.hostname, ports });
    }
  }
  return {
    namespace: svc.metadata.namespace ?? 'default',
    name: svc.metadata.name,
    clusterIP: spec.clusterIP,
    ports: (spec.ports ?? []).map((p) => ({ name: p.name, protocol: protocolOf(p.protocol), port: p.port })),
    endpoints,
  };
}
