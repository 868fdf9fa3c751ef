/**
 * Service-link environment variables, as the kubelet sets them: for each Service with a ClusterIP,
 * <NAME>_SERVICE_HOST, <NAME>_SERVICE_PORT (and _SERVICE_PORT_<PORT NAME>), and Docker-link style
 * <NAME>_PORT, <NAME>_PORT_<port>_<PROTO>[_PROTO|_PORT|_ADDR]. The `default/kubernetes` Service's are
 * always set (KUBERNETES_SERVICE_HOST/PORT: what in-cluster clients read); those of the pod's own
 * namespace unless the pod says `enableServiceLinks: false`.
 */
import type { Service } from '../api/core/v1/service.js';

/** The Services whose variables a pod gets: its namespace's (if linked), then `default/kubernetes` unless shadowed. */
export function linkedServices(podNamespace: string, enableServiceLinks: boolean, own: Service[], defaults: Service[]): Service[] {
  const out = enableServiceLinks ? [...own] : [];
  const kubernetes = defaults.find((s) => s.metadata.name === 'kubernetes');
  if (kubernetes && !out.some((s) => s.metadata.name === 'kubernetes' && s.metadata.namespace === podNamespace)) out.push(kubernetes);
  return out;
}

const envName = (s: string) => s.toUpperCase().replace(/-/g, '_');

/** The variables of `services` (ordered by Service name, as the kubelet's map gives them). */
export function serviceLinkEnv(services: Service[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const svc of [...services].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) {
    const ip = svc.spec?.clusterIP;
    if (!ip || ip === 'None') continue;
    const name = envName(svc.metadata.name);
    const ports = svc.spec?.ports ?? [];
    out.push([`${name}_SERVICE_HOST`, ip]);
    if (ports.length === 0) continue;
    out.push([`${name}_SERVICE_PORT`, String(ports[0]!.port)]);
    for (const p of ports) if (p.name) out.push([`${name}_SERVICE_PORT_${envName(p.name)}`, String(p.port)]);
    const first = ports[0]!;
    out.push([`${name}_PORT`, `${(first.protocol ?? 'TCP').toLowerCase()}://${ip}:${first.port}`]);
    for (const p of ports) {
      const proto = (p.protocol ?? 'TCP').toLowerCase();
      const prefix = `${name}_PORT_${p.port}_${proto.toUpperCase()}`;
      out.push([prefix, `${proto}://${ip}:${p.port}`], [`${prefix}_PROTO`, proto], [`${prefix}_PORT`, String(p.port)], [`${prefix}_ADDR`, ip]);
    }
  }
  return out;
}
