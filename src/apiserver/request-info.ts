/**
 * What a request path and method ask for, in kube-apiserver's terms (its RequestInfo): an API resource
 * request (group, version, namespace, resource, name, subresource, verb) or a non-resource path.
 */
import { badRequest } from './status.js';

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection' | 'connect';

export interface ResourceRequest {
  kind: 'resource';
  group: string;
  version: string;
  namespace?: string;
  resource: string;
  name?: string;
  subresource?: string;
  verb: Verb;
}

export interface NonResourceRequest {
  kind: 'nonresource';
  path: string;
}

/** A discovery request: /api, /api/v1, /apis, /apis/<group>, /apis/<group>/<version>. */
export interface DiscoveryRequest {
  kind: 'discovery';
  legacy: boolean;
  group?: string;
  version?: string;
}

export type RequestInfo = ResourceRequest | NonResourceRequest | DiscoveryRequest;

const SAFE = /^[^\0]{1,253}$/;

function decode(segment: string): string {
  let out: string;
  try {
    out = decodeURIComponent(segment);
  } catch (err) {
    throw badRequest(`invalid path segment "${segment.slice(0, 100)}"`, err);
  }
  if (!SAFE.test(out) || out.includes('/') || out === '.' || out === '..') {
    throw badRequest(`invalid path segment "${out.slice(0, 100)}"`);
  }
  return out;
}

function truthy(v: string | null): boolean {
  return v === '1' || v === 'true';
}

/** Parses a request; query is needed only for `?watch=`. Throws BadRequest for malformed segments. */
export function requestInfo(method: string, pathname: string, query: URLSearchParams): RequestInfo {
  const raw = pathname.split('/').filter((s) => s !== '');
  let parts: string[];
  let legacy: boolean;
  if (raw[0] === 'api') {
    legacy = true;
    parts = raw.slice(1);
  } else if (raw[0] === 'apis') {
    legacy = false;
    parts = raw.slice(1);
  } else {
    return { kind: 'nonresource', path: pathname };
  }
  parts = parts.map(decode);
  let group = '';
  if (!legacy) {
    if (parts.length === 0) return { kind: 'discovery', legacy };
    group = parts.shift()!;
  }
  if (parts.length === 0) return { kind: 'discovery', legacy, group: legacy ? '' : group };
  const version = parts.shift()!;
  if (parts.length === 0) return { kind: 'discovery', legacy, group, version };

  let watchPath = false;
  if (parts[0] === 'watch') {
    watchPath = true;
    parts.shift();
  }
  let namespace: string | undefined;
  let rest: string[];
  if (parts[0] === 'namespaces' && parts.length >= 3 && parts[2] !== 'status' && parts[2] !== 'finalize') {
    namespace = parts[1];
    rest = parts.slice(2);
  } else {
    rest = parts;
  }
  const [resource, name, subresource, ...extra] = rest;
  if (!resource || extra.length > 0) throw badRequest(`unknown path ${pathname.slice(0, 200)}`);
  const m = method.toUpperCase();
  let verb: Verb;
  const hasName = name !== undefined;
  if (m === 'GET' || m === 'HEAD') {
    if (watchPath || truthy(query.get('watch'))) verb = 'watch';
    else verb = hasName ? 'get' : 'list';
  } else if (m === 'POST') verb = 'create';
  else if (m === 'PUT') verb = 'update';
  else if (m === 'PATCH') verb = 'patch';
  else if (m === 'DELETE') verb = hasName ? 'delete' : 'deletecollection';
  else throw badRequest(`method ${method.slice(0, 20)} is not supported`);
  return { kind: 'resource', group, version, namespace, resource, name, subresource, verb };
}
