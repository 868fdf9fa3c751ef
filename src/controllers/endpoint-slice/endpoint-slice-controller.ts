/**
 * The EndpointSlice controller: for each Service with a selector, discovery.k8s.io/v1 EndpointSlices
 * labelled `kubernetes.io/service-name` and owned by the Service, one group of slices per set of
 * resolved ports, at most 100 endpoints a slice, each endpoint with ready/serving/terminating.
 */
import { MANAGED_BY_LABEL, SERVICE_NAME_LABEL } from '../../api/discovery/v1/endpoint-slice.js';
import type { Endpoint, EndpointSlice } from '../../api/discovery/v1/endpoint-slice.js';
import type { Pod } from '../../api/core/v1/pod-types.js';
import type { Service } from '../../api/core/v1/service.js';
import { deepEqual } from '../../api/validation.js';
import type { Informer } from '../../client/informer.js';
import { NAMESPACE_INDEX } from '../../client/object-cache.js';
import { isNubisError } from '../../lib/errors.js';
import { logger } from '../../lib/log.js';
import { type Controller, type ControllerDeps, runController } from '../controller.js';
import { portsKey, type ResolvedPort, serviceEndpoints, watchServicesAndPods } from '../endpoints/service-endpoints.js';
import { isPodReady, keyOf, newControllerRef, splitKey } from '../pod-util.js';
import { ENDPOINTSLICES, PODS, SERVICES } from '../resources.js';
import { type ReconcileResult, WorkQueue } from '../work-queue.js';

const log = logger('endpointslice-controller');
export { MANAGED_BY_LABEL, SERVICE_NAME_LABEL };
const MANAGED_BY = 'endpointslice-controller.k8s.io';
const MAX_PER_SLICE = 100;

interface DesiredSlice {
  ports: ResolvedPort[];
  endpoints: Endpoint[];
}

export class EndpointSliceController implements Controller {
  readonly name = 'endpointslice';
  readonly queue = new WorkQueue();
  private readonly services: Informer<Service>;
  private readonly pods: Informer<Pod>;
  private readonly slices: Informer<EndpointSlice>;
  /** Per Service: slices written (name -> resourceVersion, '' once deleted) that the cache has not shown yet. */
  private readonly written = new Map<string, { at: number; slices: Map<string, string> }>();

  constructor(private readonly deps: ControllerDeps) {
    this.services = deps.informers.get<Service>(SERVICES);
    this.pods = deps.informers.get<Pod>(PODS);
    this.slices = deps.informers.get<EndpointSlice>(ENDPOINTSLICES);
    const enqueue = (o: { metadata: { name: string; namespace?: string } }) => this.queue.add(keyOf(o));
    const sliceChanged = (s: EndpointSlice) => {
      const svc = s.metadata.labels?.[SERVICE_NAME_LABEL];
      if (svc && s.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY) this.queue.add(`${s.metadata.namespace}/${svc}`);
    };
    this.slices.addHandlers({ add: sliceChanged, update: (_o, x) => sliceChanged(x), delete: sliceChanged });
    watchServicesAndPods(this.services, this.pods, enqueue);
  }

  run(signal: AbortSignal): Promise<void> {
    return runController(this.deps, this.queue, signal, 2, (key) => this.sync(key), log);
  }

  private owned(namespace: string, service: string): EndpointSlice[] {
    return this.slices.cache
      .byIndex(NAMESPACE_INDEX, namespace)
      .filter((s) => s.metadata.labels?.[SERVICE_NAME_LABEL] === service && s.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY)
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  }

  async sync(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const svc = this.services.cache.get(key);
    if (!this.cacheCaughtUp(key, namespace ?? '')) return { requeueAfterMs: 50 };
    const existing = this.owned(namespace ?? '', name);
    const written = new Map<string, string>();
    this.written.set(key, { at: Date.now(), slices: written });
    // Without a Service (or a selector) the slices go; the garbage collector would also remove them.
    const selecting = !!svc?.spec?.selector && Object.keys(svc.spec.selector).length > 0;
    const desired = selecting ? this.desired(svc!) : [];
    // A Service with no endpoints still has one empty slice, as in Kubernetes.
    if (selecting && desired.length === 0) desired.push({ ports: [], endpoints: [] });
    const labels: Record<string, string> = svc ? { ...(svc.metadata.labels ?? {}), [SERVICE_NAME_LABEL]: name, [MANAGED_BY_LABEL]: MANAGED_BY } : {};
    if (svc?.spec?.clusterIP === 'None') labels['service.kubernetes.io/headless'] = '';
    const spare = [...existing];
    const toCreate: DesiredSlice[] = [];
    // Keep slices that already say exactly what is wanted.
    for (const want of desired) {
      const i = spare.findIndex((s) => matches(s, want) && deepEqual(s.metadata.labels ?? {}, labels));
      if (i >= 0) spare.splice(i, 1);
      else toCreate.push(want);
    }
    for (const want of toCreate) {
      const reuse = spare.shift();
      const body = { addressType: 'IPv4' as const, endpoints: want.endpoints, ports: want.ports.map(slicePort) };
      if (reuse) {
        const saved = await this.deps.client.update(ENDPOINTSLICES, { ...reuse, ...body, metadata: { ...reuse.metadata, labels } });
        written.set(saved.metadata.name, saved.metadata.resourceVersion ?? '');
      } else if (svc) {
        const saved = await this.deps.client.create(ENDPOINTSLICES, {
          apiVersion: 'discovery.k8s.io/v1',
          kind: 'EndpointSlice',
          metadata: { name: '', generateName: `${name}-`, namespace, labels, ownerReferences: [newControllerRef(svc)] },
          ...body,
        } as EndpointSlice);
        written.set(saved.metadata.name, saved.metadata.resourceVersion ?? '');
      }
    }
    for (const s of spare) {
      written.set(s.metadata.name, '');
      await this.deps.client.delete(ENDPOINTSLICES, s.metadata.name, { namespace, preconditions: { uid: s.metadata.uid } }).catch((err) => {
        if (!isNubisError(err, 'NotFound') && !isNubisError(err, 'Conflict')) throw err;
      });
    }
  }

  /** Whether the slice cache shows this controller's last writes for the Service (else it would act on stale slices). */
  private cacheCaughtUp(key: string, namespace: string): boolean {
    const written = this.written.get(key);
    if (!written) return true;
    // A write the cache never shows (a watch gap the informer will relist over) is not waited for forever.
    if (Date.now() - written.at > 5000) {
      this.written.delete(key);
      return true;
    }
    for (const [name, rv] of written.slices) {
      const cached = this.slices.cache.getByName(namespace, name);
      if (rv === '' ? cached !== undefined : !cached || Number(cached.metadata.resourceVersion) < Number(rv)) return false;
    }
    this.written.delete(key);
    return true;
  }

  private desired(svc: Service): DesiredSlice[] {
    const groups = new Map<string, DesiredSlice>();
    for (const ep of serviceEndpoints(svc, this.pods)) {
      if (ep.ports.length === 0 && (svc.spec?.ports ?? []).length > 0) continue;
      const k = portsKey(ep.ports);
      let g = groups.get(k);
      if (!g) groups.set(k, (g = { ports: [...ep.ports].sort((a, b) => a.name.localeCompare(b.name)), endpoints: [] }));
      const e: Endpoint = {
        addresses: [ep.ip],
        conditions: { ready: ep.ready, serving: isPodReady(ep.pod), terminating: ep.terminating },
        targetRef: { kind: 'Pod', namespace: ep.pod.metadata.namespace, name: ep.pod.metadata.name, uid: ep.pod.metadata.uid },
      };
      if (ep.pod.spec.nodeName) e.nodeName = ep.pod.spec.nodeName;
      if (ep.pod.spec.hostname) e.hostname = ep.pod.spec.hostname;
      g.endpoints.push(e);
    }
    const out: DesiredSlice[] = [];
    for (const g of groups.values()) {
      for (let i = 0; i < g.endpoints.length; i += MAX_PER_SLICE) out.push({ ports: g.ports, endpoints: g.endpoints.slice(i, i + MAX_PER_SLICE) });
    }
    return out;
  }
}

function slicePort(p: ResolvedPort): NonNullable<EndpointSlice['ports']>[number] {
  return { name: p.name, port: p.port, protocol: p.protocol, ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}) };
}

function matches(s: EndpointSlice, want: DesiredSlice): boolean {
  return s.addressType === 'IPv4' && deepEqual(s.ports ?? [], want.ports.map(slicePort)) && deepEqual(s.endpoints ?? [], want.endpoints);
}
