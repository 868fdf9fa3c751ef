import type { KubeObject } from './meta.js';
import type { ResourceType } from './resource-type.js';
import { appsV1 } from './apps/v1/index.js';
import { batchV1 } from './batch/v1/index.js';
import { coordinationV1 } from './coordination/v1/index.js';
import { coreV1 } from './core/v1/index.js';
import { discoveryV1 } from './discovery/v1/index.js';
import { networkingV1 } from './networking/v1/index.js';
import { nodeV1 } from './node/v1/index.js';
import { kubevirtV1 } from './kubevirt/v1/index.js';
import { rbacV1 } from './rbac/v1/rbac.js';
import { certificateSigningRequestType } from './certificates/v1/csr.js';
import { nubisV1 } from './nubis/v1/tenancy.js';
import { authenticationV1, authorizationV1 } from './authorization/v1/reviews.js';

export type { FieldError, ResourceType, TableColumn } from './resource-type.js';
export { apiVersionOf } from './resource-type.js';

/** The kinds the server serves, looked up by resource, kind or short name. */
export class ResourceRegistry {
  readonly #types: ResourceType[];

  constructor(types: ResourceType[]) {
    const seen = new Set<string>();
    for (const t of types) {
      const key = `${t.group}/${t.version}/${t.resource}`;
      if (seen.has(key)) throw new Error(`resource ${key} registered twice`);
      seen.add(key);
    }
    this.#types = [...types];
  }

  /** The type serving `resource` in `group`; the first version listed when `version` is absent. */
  byResource(group: string, resource: string, version?: string): ResourceType | undefined {
    return this.#types.find((t) => t.group === group && t.resource === resource && (version === undefined || t.version === version));
  }

  byKind(group: string, version: string, kind: string): ResourceType | undefined {
    return this.#types.find((t) => t.group === group && t.version === version && t.kind === kind);
  }

  /** The type for an object's apiVersion and kind. */
  forObject(obj: Pick<KubeObject, 'apiVersion' | 'kind'>): ResourceType | undefined {
    const slash = obj.apiVersion.indexOf('/');
    const group = slash >= 0 ? obj.apiVersion.slice(0, slash) : '';
    const version = slash >= 0 ? obj.apiVersion.slice(slash + 1) : obj.apiVersion;
    return this.byKind(group, version, obj.kind);
  }

  /** Resolves what a user types: plural, singular, short name or kind, optionally `name.group`. */
  find(name: string): ResourceType | undefined {
    const lower = name.toLowerCase();
    return this.#types.find((t) => {
      const names = [t.resource, t.singular, t.kind.toLowerCase(), ...(t.shortNames ?? [])];
      return names.some((n) => n === lower || (t.group && `${n}.${t.group}` === lower));
    });
  }

  all(): readonly ResourceType[] {
    return this.#types;
  }

  /** Group → versions, in registration order (discovery). */
  groupVersions(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const t of this.#types) {
      const versions = out.get(t.group) ?? [];
      if (!versions.includes(t.version)) versions.push(t.version);
      out.set(t.group, versions);
    }
    return out;
  }

  /** The types of one group version (discovery of /api/v1, /apis/apps/v1). */
  inGroupVersion(group: string, version: string): ResourceType[] {
    return this.#types.filter((t) => t.group === group && t.version === version);
  }
}

/** The built-in kinds, listed explicitly (no registration by import side effect). */
export function builtinResources(): ResourceRegistry {
  return new ResourceRegistry([...coreV1(), ...appsV1(), ...batchV1(), ...coordinationV1(), ...discoveryV1(), ...networkingV1(), ...nodeV1(), ...rbacV1(), ...authorizationV1(), ...authenticationV1(), certificateSigningRequestType(), ...nubisV1(), ...kubevirtV1()]);
}
