/**
 * What the Endpoints and EndpointSlice controllers share: a Service's pods and, per pod, its address,
 * readiness and the ports the Service's targetPorts resolve to (named ports looked up in the pod).
 */
import type { Pod } from '../../api/core/v1/pod-types.js';
import type { Service, ServicePort } from '../../api/core/v1/service.js';
import type { Informer } from '../../client/informer.js';
import { NAMESPACE_INDEX } from '../../client/object-cache.js';
import { isPodReady, isPodTerminal, keyOf } from '../pod-util.js';

export interface ResolvedPort {
  name: string;
  port: number;
  protocol: 'TCP' | 'UDP' | 'SCTP';
  appProtocol?: string;
}

export interface PodEndpoint {
  pod: Pod;
  ip: string;
  ready: boolean;
  terminating: boolean;
  /** The Service's ports as this pod serves them; ports a pod lacks are left out. */
  ports: ResolvedPort[];
}

/** Whether a pod's labels match a Service's selector (map equality). */
export function selects(svc: Service, pod: Pod): boolean {
  const sel = svc.spec?.selector;
  if (!sel || Object.keys(sel).length === 0) return false;
  return Object.entries(sel).every(([k, v]) => pod.metadata.labels?.[k] === v);
}

/** The container port a Service port targets in this pod, or undefined when a named port is missing. */
export function resolveTargetPort(sp: ServicePort, pod: Pod): number | undefined {
  const target = sp.targetPort ?? sp.port;
  if (typeof target === 'number') return target;
  if (/^\d+$/.test(target)) return Number(target);
  const protocol = sp.protocol ?? 'TCP';
  for (const c of pod.spec.containers ?? []) {
    for (const p of c.ports ?? []) if (p.name === target && (p.protocol ?? 'TCP') === protocol) return p.containerPort;
  }
  return undefined;
}

/**
 * The endpoints of a Service: its selected pods that have an IP and are not finished, ready or not
 * (terminating pods only when the Service publishes not-ready addresses). Sorted by pod name.
 */
export function serviceEndpoints(svc: Service, pods: Informer<Pod>): PodEndpoint[] {
  const out: PodEndpoint[] = [];
  const publishNotReady = svc.spec?.publishNotReadyAddresses === true;
  for (const pod of pods.cache.byIndex(NAMESPACE_INDEX, svc.metadata.namespace ?? '')) {
    if (!selects(svc, pod) || isPodTerminal(pod)) continue;
    const ip = pod.status?.podIP;
    if (!ip) continue;
    const terminating = !!pod.metadata.deletionTimestamp;
    if (terminating && !publishNotReady) continue;
    const ports: ResolvedPort[] = [];
    for (const sp of svc.spec?.ports ?? []) {
      const port = resolveTargetPort(sp, pod);
      if (port === undefined) continue;
      const rp: ResolvedPort = { name: sp.name ?? '', port, protocol: sp.protocol ?? 'TCP' };
      if (sp.appProtocol) rp.appProtocol = sp.appProtocol;
      ports.push(rp);
    }
    out.push({ pod, ip, ready: publishNotReady || (isPodReady(pod) && !terminating), terminating, ports });
  }
  return out.sort((a, b) => keyOf(a.pod).localeCompare(keyOf(b.pod)));
}

/** The Services of a pod's namespace whose selector matches the pod (before or after a change). */
export function servicesFor(services: Informer<Service>, ...pods: Pod[]): Service[] {
  const found = new Map<string, Service>();
  for (const pod of pods) {
    for (const svc of services.cache.byIndex(NAMESPACE_INDEX, pod.metadata.namespace ?? '')) if (selects(svc, pod)) found.set(keyOf(svc), svc);
  }
  return [...found.values()];
}

/** A stable key for a list of resolved ports (endpoints with equal ports group together). */
export function portsKey(ports: ResolvedPort[]): string {
  return JSON.stringify([...ports].sort((a, b) => a.name.localeCompare(b.name) || a.port - b.port));
}

/**
 * Enqueues a Service's key when it changes and when a pod it selects (before or after the change)
 * appears, changes or goes: what both endpoint controllers react to.
 */
export function watchServicesAndPods(services: Informer<Service>, pods: Informer<Pod>, enqueue: (o: { metadata: { name: string; namespace?: string } }) => void): void {
  services.addHandlers({ add: enqueue, update: (_o, s) => enqueue(s), delete: enqueue });
  pods.addHandlers({
    add: (p) => servicesFor(services, p).forEach(enqueue),
    update: (o, p) => {
      if (o.metadata.resourceVersion !== p.metadata.resourceVersion) servicesFor(services, o, p).forEach(enqueue);
    },
    delete: (p) => servicesFor(services, p).forEach(enqueue),
  });
}
