/**
 * The Endpoints controller: for each Service with a selector, an Endpoints object of the same name whose
 * subsets list the selected pods' IPs — ready pods under `addresses`, the others under
 * `notReadyAddresses` — grouped by the ports they resolve the Service's targetPorts to.
 */
import type { EndpointAddress, EndpointPort, Endpoints } from '../../api/core/v1/endpoints.js';
import type { Pod } from '../../api/core/v1/pod-types.js';
import type { Service } from '../../api/core/v1/service.js';
import { deepEqual } from '../../api/validation.js';
import type { Informer } from '../../client/informer.js';
import { isNubisError } from '../../lib/errors.js';
import { logger } from '../../lib/log.js';
import { type Controller, type ControllerDeps, runController } from '../controller.js';
import { keyOf, splitKey } from '../pod-util.js';
import { ENDPOINTS, PODS, SERVICES } from '../resources.js';
import { type ReconcileResult, WorkQueue } from '../work-queue.js';
import { portsKey, serviceEndpoints, watchServicesAndPods } from './service-endpoints.js';

const log = logger('endpoints-controller');

type Subset = NonNullable<Endpoints['subsets']>[number];

export class EndpointsController implements Controller {
  readonly name = 'endpoints';
  readonly queue = new WorkQueue();
  private readonly services: Informer<Service>;
  private readonly pods: Informer<Pod>;
  private readonly endpoints: Informer<Endpoints>;

  constructor(private readonly deps: ControllerDeps) {
    this.services = deps.informers.get<Service>(SERVICES);
    this.pods = deps.informers.get<Pod>(PODS);
    this.endpoints = deps.informers.get<Endpoints>(ENDPOINTS);
    const enqueue = (o: { metadata: { name: string; namespace?: string } }) => this.queue.add(keyOf(o));
    this.endpoints.addHandlers({ delete: enqueue });
    watchServicesAndPods(this.services, this.pods, enqueue);
  }

  run(signal: AbortSignal): Promise<void> {
    return runController(this.deps, this.queue, signal, 2, (key) => this.sync(key), log);
  }

  async sync(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const svc = this.services.cache.get(key);
    const current = this.endpoints.cache.get(key);
    if (!svc) {
      // The Service is gone: its Endpoints go too (unless someone else manages them).
      if (current && !current.metadata.labels?.['endpoints.kubernetes.io/managed-by']) return;
      if (current) await this.deps.client.delete(ENDPOINTS, name, { namespace }).catch((err) => { if (!isNubisError(err, 'NotFound')) throw err; });
      return;
    }
    if (!svc.spec?.selector || Object.keys(svc.spec.selector).length === 0) return;
    const subsets = this.subsets(svc);
    const labels: Record<string, string> = { ...(svc.metadata.labels ?? {}), 'endpoints.kubernetes.io/managed-by': 'endpoint-controller' };
    if (svc.spec.clusterIP === 'None') labels['service.kubernetes.io/headless'] = '';
    if (current && deepEqual(current.subsets ?? [], subsets) && deepEqual(current.metadata.labels ?? {}, labels)) return;
    const desired: Endpoints = { apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace, labels }, subsets };
    if (!current) {
      try {
        await this.deps.client.create(ENDPOINTS, desired);
      } catch (err) {
        if (!isNubisError(err, 'AlreadyExists')) throw err;
        this.queue.addAfter(key, 100);
      }
      return;
    }
    await this.deps.client.update(ENDPOINTS, { ...current, metadata: { ...current.metadata, labels }, subsets });
  }

  private subsets(svc: Service): Subset[] {
    const groups = new Map<string, Subset>();
    for (const ep of serviceEndpoints(svc, this.pods)) {
      if (ep.ports.length === 0 && (svc.spec?.ports ?? []).length > 0) continue;
      const k = portsKey(ep.ports);
      let subset = groups.get(k);
      if (!subset) {
        const ports: EndpointPort[] = ep.ports.map((p) => ({ ...(p.name ? { name: p.name } : {}), port: p.port, protocol: p.protocol, ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}) }));
        groups.set(k, (subset = ports.length ? { ports } : {}));
      }
      const addr: EndpointAddress = {
        ip: ep.ip,
        ...(ep.pod.spec.nodeName ? { nodeName: ep.pod.spec.nodeName } : {}),
        targetRef: { kind: 'Pod', namespace: ep.pod.metadata.namespace, name: ep.pod.metadata.name, uid: ep.pod.metadata.uid },
      };
      if (ep.pod.spec.hostname) addr.hostname = ep.pod.spec.hostname;
      const list = ep.ready ? (subset.addresses ??= []) : (subset.notReadyAddresses ??= []);
      list.push(addr);
    }
    const ipOrder = (a: EndpointAddress, b: EndpointAddress) => a.ip.localeCompare(b.ip, undefined, { numeric: true });
    for (const s of groups.values()) {
      s.addresses?.sort(ipOrder);
      s.notReadyAddresses?.sort(ipOrder);
    }
    return [...groups.values()];
  }
}
