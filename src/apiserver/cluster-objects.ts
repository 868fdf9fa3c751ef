/**
 * The objects the API server itself keeps: the default namespaces and RuntimeClasses, `kube-system/kube-dns`
 * (the cluster DNS Service on the tenth service address; it selects no pods, every node's agent answers
 * on it) and `default/kubernetes`, the Service pods reach the API at (KUBERNETES_SERVICE_HOST) on the first
 * address, port 443. That one selects nothing: each API server writes its own address into the
 * Service's Endpoints and an EndpointSlice of its own, and takes them out when it stops. A server that
 * dies without stopping leaves its address until it starts again.
 */
import { createHash } from 'node:crypto';
import type { Endpoints } from '../api/core/v1/endpoints.js';
import { API_SERVER_MANAGER, MANAGED_BY_LABEL, SERVICE_NAME_LABEL, type EndpointSlice } from '../api/discovery/v1/endpoint-slice.js';
import type { KubeObject } from '../api/meta.js';
import { NODE_GROUP } from '../api/node/v1/runtime-class.js';
import type { ResourceRegistry } from '../api/registry.js';
import { isNubisError } from '../lib/errors.js';
import { primaryAddress } from '../lib/host-address.js';
import type { ObjectStore } from '../store/object-store.js';
import type { InternalWriter } from './internal-writer.js';
import { refOf } from './object-ops.js';
import { ApiError } from './status.js';

export const KUBERNETES_SERVICE = 'kubernetes';

/**
 * The RuntimeClasses every cluster starts with: `runc` (ordinary containers) and `nubis-microvm` (a
 * kernel per pod in a micro-VM). The micro-VM class's overhead is what a secure pod's VM costs beside
 * its containers' limits, as bench/secure-pods.ts measured it under TCG: ~135 MiB of QEMU, guest kernel
 * and code cache (160Mi), and ~23m of CPU while idle (50m; its boot is a burst, as a runc pod's start).
 * Made when missing, never overwritten: an administrator's changes stay.
 */
export const DEFAULT_RUNTIME_CLASSES: Array<{ metadata: { name: string }; handler: string; overhead?: { podFixed: Record<string, string> } }> = [
  { metadata: { name: 'runc' }, handler: 'runc' },
  { metadata: { name: 'nubis-microvm' }, handler: 'nubis-microvm', overhead: { podFixed: { cpu: '50m', memory: '160Mi' } } },
];
const NAMESPACE = 'default';

/**
 * The address pods reach a server at: the advertised one, the one it listens on, or (listening
 * everywhere) the machine's main address; none for a server on loopback only.
 */
export function podReachableAddress(listen: string | undefined, advertise: string | undefined): string | undefined {
  const isLoopback = (ip: string) => ip.startsWith('127.') || ip === '::1' || ip === 'localhost';
  const l = listen ?? '0.0.0.0';
  const ip = advertise ?? (l === '0.0.0.0' || l === '::' ? primaryAddress() : l);
  return ip && !isLoopback(ip) ? ip : undefined;
}

export class ClusterObjects {
  constructor(
    private readonly store: ObjectStore,
    private readonly registry: ResourceRegistry,
    private readonly writer: InternalWriter,
  ) {}

  private type(group: string, resource: string) {
    return this.registry.byResource(group, resource)!;
  }

  private async get<T extends KubeObject>(group: string, resource: string, namespace: string | undefined, name: string): Promise<T | undefined> {
    try {
      return await this.store.get<T>(refOf(this.type(group, resource)), { namespace, name });
    } catch (err) {
      if (isNubisError(err, 'NotFound')) return undefined;
      throw err;
    }
  }

  /** Creates the object unless it exists (a server starting beside others may race: fine). */
  async ensure(group: string, resource: string, namespace: string | undefined, body: { metadata: { name: string; labels?: Record<string, string> } } & Record<string, unknown>): Promise<void> {
    if (await this.get(group, resource, namespace, body.metadata.name)) return;
    try {
      await this.writer.create(this.type(group, resource), namespace, body);
    } catch (e) {
      if (!(e instanceof ApiError && e.reason === 'AlreadyExists')) throw e;
    }
  }

  async ensureNamespaces(names: string[]): Promise<void> {
    for (const name of names) await this.ensure('', 'namespaces', undefined, { metadata: { name } });
  }

  /** The default RuntimeClasses that are missing. */
  async ensureRuntimeClasses(): Promise<void> {
    for (const rc of DEFAULT_RUNTIME_CLASSES) await this.ensure(NODE_GROUP, 'runtimeclasses', undefined, structuredClone(rc));
  }

  /** kube-system/kube-dns at `clusterIP`. */
  ensureDnsService(clusterIP: string): Promise<void> {
    const ports = [
      { name: 'dns', port: 53, protocol: 'UDP' },
      { name: 'dns-tcp', port: 53, protocol: 'TCP' },
    ];
    const labels = { 'k8s-app': 'kube-dns', 'kubernetes.io/name': 'CoreDNS' };
    return this.ensure('', 'services', 'kube-system', { metadata: { name: 'kube-dns', labels }, spec: { clusterIP, ports } });
  }

  /** default/kubernetes at `clusterIP` (its address is kept for it even while no server can be reached). */
  ensureKubernetesService(clusterIP: string, port: number): Promise<void> {
    return this.ensure('', 'services', NAMESPACE, {
      metadata: { name: KUBERNETES_SERVICE, labels: { component: 'apiserver', provider: 'kubernetes' } },
      spec: { clusterIP, type: 'ClusterIP', sessionAffinity: 'None', ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: port }] },
    });
  }

  /** One slice per server address (a restarted server on another port rewrites its own). */
  private sliceName(ip: string): string {
    return `${KUBERNETES_SERVICE}-${createHash('sha256').update(ip).digest('hex').slice(0, 10)}`;
  }

  /** Adds this server (`ip`:`port`) to the Service's endpoints. */
  async publish(ip: string, port: number): Promise<void> {
    await this.updateEndpoints((subsets) => [...withoutServer(subsets, ip), { addresses: [{ ip }], ports: [{ name: 'https', port, protocol: 'TCP' }] }]);
    const name = this.sliceName(ip);
    const slice = {
      addressType: 'IPv4',
      endpoints: [{ addresses: [ip], conditions: { ready: true, serving: true, terminating: false } }],
      ports: [{ name: 'https', port, protocol: 'TCP' }],
    };
    const current = await this.get<EndpointSlice>('discovery.k8s.io', 'endpointslices', NAMESPACE, name);
    if (!current) {
      await this.ensure('discovery.k8s.io', 'endpointslices', NAMESPACE, { metadata: { name, labels: { [SERVICE_NAME_LABEL]: KUBERNETES_SERVICE, [MANAGED_BY_LABEL]: API_SERVER_MANAGER } }, ...slice });
    } else if (current.ports?.[0]?.port !== port) {
      await this.writer.replace(this.type('discovery.k8s.io', 'endpointslices'), current, { ...current, ...slice } as KubeObject);
    }
  }

  /** Takes this server out of the endpoints (at a clean stop). */
  async withdraw(ip: string): Promise<void> {
    await this.updateEndpoints((subsets) => withoutServer(subsets, ip));
    const name = this.sliceName(ip);
    await this.writer.delete(this.type('discovery.k8s.io', 'endpointslices'), NAMESPACE, name, {}).catch((err: unknown) => {
      if (!(err instanceof ApiError && err.reason === 'NotFound')) throw err;
    });
  }

  private async updateEndpoints(change: (subsets: NonNullable<Endpoints['subsets']>) => NonNullable<Endpoints['subsets']>): Promise<void> {
    const t = this.type('', 'endpoints');
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.get<Endpoints>('', 'endpoints', NAMESPACE, KUBERNETES_SERVICE);
      if (!current) {
        const subsets = change([]);
        if (subsets.length === 0) return;
        await this.ensure('', 'endpoints', NAMESPACE, { metadata: { name: KUBERNETES_SERVICE }, subsets });
        return;
      }
      const subsets = change(current.subsets ?? []);
      if (JSON.stringify(subsets) === JSON.stringify(current.subsets ?? [])) return;
      try {
        await this.writer.replace(t, current, { ...current, subsets } as KubeObject);
        return;
      } catch (e) {
        if (!(e instanceof ApiError && e.reason === 'Conflict')) throw e; // another server wrote meanwhile: read again
      }
    }
  }
}

function withoutServer(subsets: NonNullable<Endpoints['subsets']>, ip: string): NonNullable<Endpoints['subsets']> {
  return subsets
    .map((s) => ({ ...s, addresses: (s.addresses ?? []).filter((a) => a.ip !== ip) }))
    .filter((s) => s.addresses.length > 0);
}
