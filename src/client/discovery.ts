/**
 * Resource discovery: which resources the server serves (/api, /apis; aggregated v2 when offered, the
 * per-group-version lists otherwise), and what a user means by `po`, `deploy`, `deployments.apps` or
 * `Deployment`. When the server's discovery cannot be read, the built-in kinds of api/ stand in.
 */
import { builtinResources, type ResourceRegistry } from '../api/registry.js';
import type { ResourceType } from '../api/resource-type.js';
import { isNubisError, notFound } from '../lib/errors.js';
import type { ResourceInfo, RestClient } from './rest-client.js';

const AGGREGATED_ACCEPT = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json';

interface AggregatedList {
  kind?: string;
  items?: Array<{
    metadata?: { name?: string };
    versions?: Array<{
      version: string;
      resources?: Array<{ resource: string; responseKind?: { kind?: string }; scope?: string; singularResource?: string; shortNames?: string[]; verbs?: string[] }>;
    }>;
  }>;
}

interface ApiResourceList {
  groupVersion: string;
  resources: Array<{ name: string; singularName?: string; namespaced: boolean; kind: string; verbs?: string[]; shortNames?: string[] }>;
}

/** The ResourceInfo of a registry type. */
export function infoOf(t: ResourceType): ResourceInfo {
  return { group: t.group, version: t.version, resource: t.resource, kind: t.kind, namespaced: t.namespaced, singular: t.singular, shortNames: t.shortNames, verbs: t.verbs };
}

/** The group and version of an apiVersion string (`apps/v1`, `v1`). */
export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash >= 0 ? { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) } : { group: '', version: apiVersion };
}

/** Resolves resource names and kinds against what the server serves (loaded once, on first use). */
export class Discovery {
  #resources: Promise<ResourceInfo[]> | undefined;

  constructor(
    private readonly client: RestClient,
    readonly registry: ResourceRegistry = builtinResources(),
  ) {}

  /** Every resource (not subresources), preferred versions first, core group first. */
  resources(): Promise<ResourceInfo[]> {
    this.#resources ??= this.#load().catch((err) => {
      this.#resources = undefined;
      throw err;
    });
    return this.#resources;
  }

  async #load(): Promise<ResourceInfo[]> {
    try {
      const [core, groups] = await Promise.all([this.#fetch('/api', true), this.#fetch('/apis', false)]);
      return [...core, ...groups];
    } catch (err) {
      // Wrong credentials stay errors; an unreachable or odd discovery falls back to the built-in kinds.
      if (isNubisError(err, 'Unauthorized') || isNubisError(err, 'Forbidden')) throw err;
      if (isNubisError(err, 'Unavailable')) throw err;
      return this.registry.all().map(infoOf);
    }
  }

  async #fetch(path: string, legacy: boolean): Promise<ResourceInfo[]> {
    const doc = await this.client.requestJson<AggregatedList & { versions?: string[]; groups?: Array<{ name: string; preferredVersion?: { version: string }; versions: Array<{ version: string }> }> }>({
      path,
      accept: AGGREGATED_ACCEPT,
    });
    if (doc.kind === 'APIGroupDiscoveryList') {
      const out: ResourceInfo[] = [];
      for (const g of doc.items ?? []) {
        const group = g.metadata?.name ?? '';
        for (const v of g.versions ?? []) {
          for (const r of v.resources ?? []) {
            out.push({
              group,
              version: v.version,
              resource: r.resource,
              kind: r.responseKind?.kind ?? '',
              namespaced: r.scope === 'Namespaced',
              singular: r.singularResource,
              shortNames: r.shortNames,
              verbs: r.verbs,
            });
          }
        }
      }
      return out;
    }
    const groupVersions = legacy
      ? (doc.versions ?? []).map((v) => ({ group: '', version: v }))
      : (doc.groups ?? []).flatMap((g) => {
          const preferred = g.preferredVersion?.version;
          const versions = g.versions.map((v) => v.version).sort((a, b) => Number(b === preferred) - Number(a === preferred));
          return versions.map((version) => ({ group: g.name, version }));
        });
    const lists = await Promise.all(
      groupVersions.map(({ group, version }) => this.client.requestJson<ApiResourceList>({ path: group ? `/apis/${group}/${version}` : `/api/${version}` })),
    );
    return lists.flatMap((list, i) => {
      const { group, version } = groupVersions[i]!;
      return list.resources
        .filter((r) => !r.name.includes('/'))
        .map((r) => ({ group, version, resource: r.name, kind: r.kind, namespaced: r.namespaced, singular: r.singularName || r.kind.toLowerCase(), shortNames: r.shortNames, verbs: r.verbs }));
    });
  }

  /**
   * What a user types: plural, singular, short name or kind, optionally qualified as `name.group` or
   * `name.version.group`. NotFound with kubectl's words when the server has no such resource.
   */
  async resolve(name: string): Promise<ResourceInfo> {
    const all = await this.resources();
    const lower = name.toLowerCase();
    const names = (r: ResourceInfo) => [r.resource, r.singular ?? '', r.kind.toLowerCase(), ...(r.shortNames ?? [])].filter(Boolean);
    const found =
      all.find((r) => names(r).includes(lower)) ??
      all.find((r) => r.group !== '' && names(r).some((n) => lower === `${n}.${r.group}` || lower === `${n}.${r.version}.${r.group}`)) ??
      all.find((r) => r.group === '' && names(r).some((n) => lower === `${n}.${r.version}`));
    if (!found) throw notFound(`the server doesn't have a resource type "${name}"`);
    return found;
  }

  /** The resource serving objects of `apiVersion` and `kind` (manifests). */
  async forKind(apiVersion: string, kind: string): Promise<ResourceInfo> {
    const { group, version } = splitApiVersion(apiVersion);
    const all = await this.resources();
    const found = all.find((r) => r.group === group && r.version === version && r.kind === kind);
    if (!found) throw notFound(`no matches for kind "${kind}" in version "${apiVersion}"`);
    return found;
  }

  /** The local type description of a resource (schema and merge keys), when it is a built-in kind. */
  typeOf(r: Pick<ResourceInfo, 'group' | 'version' | 'kind'>): ResourceType | undefined {
    return this.registry.byKind(r.group, r.version, r.kind);
  }
}
