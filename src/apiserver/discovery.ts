/**
 * Discovery documents: /api (APIVersions), /apis (APIGroupList), /apis/<group> (APIGroup), the
 * APIResourceList of each group version, and the aggregated discovery (apidiscovery.k8s.io/v2
 * APIGroupDiscoveryList) kubectl 1.32 asks for first, all derived from the resource registry.
 */
import type { ResourceRegistry, ResourceType } from '../api/registry.js';
import { parseAccept } from './http-io.js';
import { ApiError } from './status.js';

interface SubresourceInfo {
  group?: string;
  version?: string;
  kind: string;
  verbs: string[];
}

const SUBRESOURCES: Record<string, (t: ResourceType) => SubresourceInfo> = {
  status: (t) => ({ kind: t.kind, verbs: ['get', 'patch', 'update'] }),
  scale: () => ({ group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] }),
  binding: () => ({ group: '', version: 'v1', kind: 'Binding', verbs: ['create'] }),
  eviction: () => ({ group: 'policy', version: 'v1', kind: 'Eviction', verbs: ['create'] }),
  log: () => ({ group: '', version: 'v1', kind: 'Pod', verbs: ['get'] }),
  exec: () => ({ group: '', version: 'v1', kind: 'PodExecOptions', verbs: ['create', 'get'] }),
  attach: () => ({ group: '', version: 'v1', kind: 'PodAttachOptions', verbs: ['create', 'get'] }),
  portforward: () => ({ group: '', version: 'v1', kind: 'PodPortForwardOptions', verbs: ['create', 'get'] }),
  finalize: (t) => ({ kind: t.kind, verbs: ['update'] }),
  ephemeralcontainers: (t) => ({ kind: t.kind, verbs: ['get', 'patch', 'update'] }),
};

function subresourcesOf(t: ResourceType): string[] {
  const subs = [...t.subresources];
  if (t.group === '' && t.resource === 'namespaces' && !subs.includes('finalize')) subs.push('finalize');
  return subs;
}

/** The APIResourceList of one group version (legacy discovery). */
export function resourceList(registry: ResourceRegistry, group: string, version: string): Record<string, unknown> {
  const types = registry.inGroupVersion(group, version);
  if (types.length === 0) throw new ApiError('NotFound', `the server could not find the requested resource (${group || 'core'}/${version})`);
  const resources: Record<string, unknown>[] = [];
  for (const t of types) {
    const entry: Record<string, unknown> = { name: t.resource, singularName: t.singular, namespaced: t.namespaced, kind: t.kind, verbs: t.verbs };
    if (t.shortNames?.length) entry.shortNames = t.shortNames;
    if (t.categories?.length) entry.categories = t.categories;
    resources.push(entry);
    for (const sub of subresourcesOf(t)) {
      const s = SUBRESOURCES[sub]?.(t) ?? { kind: t.kind, verbs: ['get'] };
      const e: Record<string, unknown> = { name: `${t.resource}/${sub}`, singularName: '', namespaced: t.namespaced, kind: s.kind, verbs: s.verbs };
      if (s.group !== undefined) {
        e.group = s.group;
        e.version = s.version;
      }
      resources.push(e);
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources };
}

function groupOf(registry: ResourceRegistry, group: string): Record<string, unknown> {
  const versions = registry.groupVersions().get(group);
  if (!versions) throw new ApiError('NotFound', `the server could not find the requested resource (${group})`);
  const vs = versions.map((v) => ({ groupVersion: `${group}/${v}`, version: v }));
  return { name: group, versions: vs, preferredVersion: vs[0] };
}

export function apiVersions(serverAddress: string): Record<string, unknown> {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

export function apiGroupList(registry: ResourceRegistry): Record<string, unknown> {
  const groups = [...registry.groupVersions().keys()].filter((g) => g !== '').map((g) => groupOf(registry, g));
  return { kind: 'APIGroupList', apiVersion: 'v1', groups };
}

export function apiGroup(registry: ResourceRegistry, group: string): Record<string, unknown> {
  return { kind: 'APIGroup', apiVersion: 'v1', ...groupOf(registry, group) };
}

export const AGGREGATED_CONTENT_TYPE = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

/** Whether the Accept header asks for aggregated discovery (v2). */
export function wantsAggregated(accept: string | undefined): boolean {
  for (const c of parseAccept(accept)) {
    if (c.params.as === 'APIGroupDiscoveryList' && c.params.g === 'apidiscovery.k8s.io' && c.params.v === 'v2') return true;
    if (c.params.as === undefined) return false;
  }
  return false;
}

/** APIGroupDiscoveryList for /api (legacy: only the core group) or /apis (every named group). */
export function aggregatedDiscovery(registry: ResourceRegistry, legacy: boolean): Record<string, unknown> {
  const items: Record<string, unknown>[] = [];
  for (const [group, versions] of registry.groupVersions()) {
    if ((group === '') !== legacy) continue;
    items.push({
      metadata: { name: group },
      versions: versions.map((version) => ({
        version,
        freshness: 'Current',
        resources: registry.inGroupVersion(group, version).map((t) => {
          const r: Record<string, unknown> = {
            resource: t.resource,
            responseKind: { group, version, kind: t.kind },
            scope: t.namespaced ? 'Namespaced' : 'Cluster',
            singularResource: t.singular,
            verbs: t.verbs,
          };
          if (t.shortNames?.length) r.shortNames = t.shortNames;
          if (t.categories?.length) r.categories = t.categories;
          const subs = subresourcesOf(t).map((sub) => {
            const s = SUBRESOURCES[sub]?.(t) ?? { kind: t.kind, verbs: ['get'] };
            return { subresource: sub, responseKind: { group: s.group ?? group, version: s.version ?? version, kind: s.kind }, verbs: s.verbs };
          });
          if (subs.length) r.subresources = subs;
          return r;
        }),
      })),
    });
  }
  return { kind: 'APIGroupDiscoveryList', apiVersion: 'apidiscovery.k8s.io/v2', metadata: {}, items };
}
