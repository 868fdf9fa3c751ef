/**
 * `default/kubernetes`: the Service pods reach the API at (KUBERNETES_SERVICE_HOST), on the first
 * address of the service range, port 443 (https). It selects nothing: each API server writes its own
 * address into the Service's Endpoints and an EndpointSlice of its own, and takes them out when it
 * stops. A server that dies without stopping leaves its address until it starts again.
 */
import { createHash } from 'node:crypto';
import type { Endpoints } from '../api/core/v1/endpoints.js';
import { API_SERVER_MANAGER, MANAGED_BY_LABEL, SERVICE_NAME_LABEL, type EndpointSlice } from '../api/discovery/v1/endpoint-slice.js';
import type { KubeObject } from '../api/meta.js';
import type { ResourceRegistry } from '../api/registry.js';
import { isNubisError } from '../lib/errors.js';
import type { ObjectStore } from '../store/object-store.js';
import type { InternalWriter } from './internal-writer.js';
import { refOf } from './object-ops.js';
import { ApiError } from './status.js';

export const KUBERNETES_SERVICE = 'kubernetes';
const NAMESPACE = 'default';

export class KubernetesService {
  constructor(
    private readonly store: ObjectStore,
    private readonly registry: ResourceRegistry,
    private readonly writer: InternalWriter,
    private readonly clusterIP: string,
  ) {}

  private type(group: string, resource: string) {
    return this.registry.byResource(group, resource)!;
  }

  private async get<T extends KubeObject>(group: string, resource: string, name: string): Promise<T | undefined> {
    try {
      return await this.store.get<T>(refOf(this.type(group, resource)), { namespace: NAMESPACE, name });
    } catch (err) {
      if (isNubisError(err, 'NotFound')) return undefined;
      throw err;
    }
  }

  private async createUnlessExists(group: string, resource: string, body: Record<string, unknown>): Promise<void> {
    try {
      await this.writer.create(this.type(group, resource), NAMESPACE, body);
    } catch (e) {
      if (!(e instanceof ApiError && e.reason === 'AlreadyExists')) throw e;
    }
  }

  /** One slice per server address (a restarted server on another port rewrites its own). */
  private sliceName(ip: string): string {
    return `${KUBERNETES_SERVICE}-${createHash('sha256').update(ip).digest('hex').slice(0, 10)}`;
  }

  /** Makes the Service if missing (its address is kept for it even while no server can be reached). */
  async ensureService(port: number): Promise<void> {
    if (!(await this.get('', 'services', KUBERNETES_SERVICE))) {
      await this.createUnlessExists('', 'services', {
        metadata: { name: KUBERNETES_SERVICE, labels: { component: 'apiserver', provider: 'kubernetes' } },
        spec: { clusterIP: this.clusterIP, type: 'ClusterIP', sessionAffinity: 'None', ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: port }] },
      });
    }
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
    const current = await this.get<EndpointSlice>('discovery.k8s.io', 'endpointslices', name);
    if (!current) {
      await this.createUnlessExists('discovery.k8s.io', 'endpointslices', { metadata: { name, labels: { [SERVICE_NAME_LABEL]: KUBERNETES_SERVICE, [MANAGED_BY_LABEL]: API_SERVER_MANAGER } }, ...slice });
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
      const current = await this.get<Endpoints>('', 'endpoints', KUBERNETES_SERVICE);
      if (!current) {
        const subsets = change([]);
        if (subsets.length === 0) return;
        await this.createUnlessExists('', 'endpoints', { metadata: { name: KUBERNETES_SERVICE }, subsets });
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
