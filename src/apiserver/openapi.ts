/**
 * OpenAPI for kubectl: /openapi/v3 (an index of group versions) and /openapi/v3/<api|apis/g>/<v>
 * documents with one inline schema per kind (x-kubernetes-group-version-kind, patch merge keys and list
 * types) and paths whose PATCH operations declare fieldValidation, so that `kubectl explain` works and
 * kubectl leaves field validation to the server. /openapi/v2 answers a minimal JSON document, or 406 for
 * protobuf (kubectl then goes on without it).
 */
import { createHash } from 'node:crypto';
import type { ResourceRegistry, ResourceType } from '../api/registry.js';
import type { Schema } from '../api/schema.js';
import { parseAccept } from './http-io.js';
import { ApiError } from './status.js';

type Json = Record<string, unknown>;

/** The OpenAPI v3 schema of a field schema (inline, no $ref). */
export function toOpenApi(s: Schema): Json {
  const base: Json = s.description ? { description: s.description } : {};
  switch (s.type) {
    case 'string':
      return { ...base, type: 'string', ...(s.enum ? { enum: s.enum } : {}) };
    case 'integer':
      return { ...base, type: 'integer', format: s.format ?? 'int64' };
    case 'number':
      return { ...base, type: 'number', format: 'double' };
    case 'boolean':
      return { ...base, type: 'boolean' };
    case 'date-time':
      return { ...base, type: 'string', format: 'date-time' };
    case 'byte':
      return { ...base, type: 'string', format: 'byte' };
    case 'int-or-string':
      return { ...base, 'x-kubernetes-int-or-string': true };
    case 'quantity':
      return { ...base, 'x-kubernetes-int-or-string': true };
    case 'any':
      return { ...base, type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
    case 'map':
      return { ...base, type: 'object', additionalProperties: toOpenApi(s.values) };
    case 'array': {
      const out: Json = { ...base, type: 'array', items: toOpenApi(s.items) };
      if (s.mergeKey) out['x-kubernetes-patch-merge-key'] = s.mergeKey;
      if (s.strategy) out['x-kubernetes-patch-strategy'] = s.strategy;
      if (s.listType) out['x-kubernetes-list-type'] = s.listType;
      if (s.listMapKeys) out['x-kubernetes-list-map-keys'] = s.listMapKeys;
      return out;
    }
    case 'object': {
      const properties: Json = {};
      for (const [k, v] of Object.entries(s.fields)) properties[k] = toOpenApi(v);
      const out: Json = { ...base, type: 'object', properties };
      if (s.required?.length) out.required = s.required;
      if (s.retainKeys) out['x-kubernetes-patch-strategy'] = 'retainKeys';
      return out;
    }
  }
}

const schemaName = (t: ResourceType) => `io.nubis.${t.group || 'core'}.${t.version}.${t.kind}`;
const gvPath = (group: string, version: string) => (group ? `apis/${group}/${version}` : `api/${version}`);

const QUERY_PARAMS = ['dryRun', 'fieldManager', 'fieldValidation', 'force'].map((name) => ({ name, in: 'query', schema: { type: 'string', uniqueItems: true } }));

function paths(t: ResourceType): Json {
  const gvk = { group: t.group, version: t.version, kind: t.kind };
  const base = `/${gvPath(t.group, t.version)}${t.namespaced ? '/namespaces/{namespace}' : ''}/${t.resource}`;
  const ok = { responses: { '200': { description: 'OK', content: { 'application/json': { schema: { $ref: `#/components/schemas/${schemaName(t)}` } } } } } };
  const op = (action: string, extra: Json = {}) => ({ 'x-kubernetes-action': action, 'x-kubernetes-group-version-kind': gvk, ...ok, ...extra });
  return {
    [base]: { get: op('list'), post: op('post', { parameters: QUERY_PARAMS }) },
    [`${base}/{name}`]: { get: op('get'), put: op('put', { parameters: QUERY_PARAMS }), patch: op('patch', { parameters: QUERY_PARAMS }), delete: op('delete') },
  };
}

/** The OpenAPI v3 document of one group version. */
export function groupVersionDocument(registry: ResourceRegistry, group: string, version: string): Json {
  const types = registry.inGroupVersion(group, version);
  if (types.length === 0) throw new ApiError('NotFound', `no OpenAPI document for ${gvPath(group, version)}`);
  const schemas: Json = {};
  let allPaths: Json = {};
  for (const t of types) {
    schemas[schemaName(t)] = { ...toOpenApi(t.schema), 'x-kubernetes-group-version-kind': [{ group: t.group, version: t.version, kind: t.kind }] };
    allPaths = { ...allPaths, ...paths(t) };
  }
  return { openapi: '3.0.0', info: { title: 'Nubis', version: 'v1.32.0' }, paths: allPaths, components: { schemas } };
}

/** Serves /openapi/v3[/...] and /openapi/v2; undefined when the path is not OpenAPI. */
export class OpenApiDocuments {
  private readonly cache = new Map<string, { text: string; hash: string }>();

  constructor(private readonly registry: ResourceRegistry) {}

  private doc(group: string, version: string): { text: string; hash: string } {
    const key = gvPath(group, version);
    let d = this.cache.get(key);
    if (!d) {
      const text = JSON.stringify(groupVersionDocument(this.registry, group, version));
      d = { text, hash: createHash('sha512').update(text).digest('hex').slice(0, 64).toUpperCase() };
      this.cache.set(key, d);
    }
    return d;
  }

  /** Returns [content-type, body] for an OpenAPI path. */
  serve(pathname: string, accept: string | undefined): [string, string] {
    const wantsJson = parseAccept(accept).some((c) => c.type === 'application/json' || c.type === '*/*' || c.type === 'application/*');
    if (pathname === '/openapi/v2') {
      if (!wantsJson) throw new ApiError('NotAcceptable', 'only application/json is served for /openapi/v2');
      return ['application/json', JSON.stringify({ swagger: '2.0', info: { title: 'Nubis', version: 'v1.32.0' }, paths: {}, definitions: {} })];
    }
    if (!wantsJson) throw new ApiError('NotAcceptable', 'only application/json is served for OpenAPI v3');
    if (pathname === '/openapi/v3' || pathname === '/openapi/v3/') {
      const index: Json = {};
      for (const [group, versions] of this.registry.groupVersions()) {
        for (const v of versions) index[gvPath(group, v)] = { serverRelativeURL: `/openapi/v3/${gvPath(group, v)}?hash=${this.doc(group, v).hash}` };
      }
      return ['application/json', JSON.stringify({ paths: index })];
    }
    const m = /^\/openapi\/v3\/(?:api\/([^/]+)|apis\/([^/]+)\/([^/]+))$/.exec(pathname);
    if (!m) throw new ApiError('NotFound', `no OpenAPI document at ${pathname.slice(0, 200)}`);
    const [group, version] = m[1] ? ['', m[1]] : [m[2]!, m[3]!];
    return ['application/json', this.doc(group, version).text];
  }
}
