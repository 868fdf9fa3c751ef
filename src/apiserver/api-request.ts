/** The request context every resource handler gets, and the small helpers they share to answer. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KubeObject } from '../api/meta.js';
import type { ResourceType } from '../api/registry.js';
import { asObject, mediaType, negotiate, parseBody, readBody, sendJson } from './http-io.js';
import type { ObjectOps } from './object-ops.js';
import type { ResourceRequest } from './request-info.js';
import { includeObjectParam, toTable } from './table-output.js';
import type { UserInfo } from './authn/authenticator.js';
import type { Authorizer } from './authz/authorizer.js';
import type { RbacAuthorizer } from './authz/rbac-authorizer.js';
import type { ServiceAccountTokens } from './service-account-tokens.js';
import type { Credentials } from './tenancy/credentials.js';
import type { WatchCaches } from './watch-cache.js';

export interface WatchSettings {
  /** How often a watch with allowWatchBookmarks gets a BOOKMARK. */
  bookmarkIntervalMs: number;
  /** The longest a watch lasts without timeoutSeconds. */
  defaultTimeoutSeconds: number;
  /** Output bytes a slow client may leave unread before it is cut off. */
  maxBufferedBytes: number;
  /** How long a resource's watch cache outlives its last watcher before it lets its objects go. */
  cacheIdleStopMs: number;
}

export const DEFAULT_WATCH_SETTINGS: WatchSettings = { bookmarkIntervalMs: 60_000, defaultTimeoutSeconds: 1800, maxBufferedBytes: 16 * 1024 * 1024, cacheIdleStopMs: 5 * 60_000 };

/** pods/log and pods/exec (without upgrade) routed to the node's agent. */
export interface PodRoutes {
  log(r: ApiRequest, pod: KubeObject): Promise<void>;
  exec(r: ApiRequest, pod: KubeObject): Promise<void>;
}

/** Everything one API request needs. */
export interface ApiRequest {
  req: IncomingMessage;
  res: ServerResponse;
  info: ResourceRequest;
  query: URLSearchParams;
  user: UserInfo;
  type: ResourceType;
  /** What of a list or watch the user may see (authorization's scope); absent: everything it asked for. */
  visible?: (o: KubeObject) => boolean;
}

export interface HandlerDeps {
  ops: ObjectOps;
  caches: WatchCaches;
  watch: WatchSettings;
  pods: PodRoutes;
  /** The request pipeline's authorizer (access reviews ask it). */
  authorizer: Authorizer;
  /** RBAC's index (rules reviews list from it). */
  rbac: RbacAuthorizer;
  /** Tenant users' passwords and logins. */
  credentials: Credentials;
  /** Signs ServiceAccount tokens (serviceaccounts/token). */
  serviceAccountTokens: ServiceAccountTokens;
}

/** Writes an object (or its Table) with the given code, and any warnings as Warning headers. */
export function sendObject(r: ApiRequest, code: number, obj: KubeObject, warnings: string[] = []): void {
  const headers: Record<string, string> = {};
  if (warnings.length > 0) r.res.setHeader('Warning', warnings.map((w) => `299 - ${JSON.stringify(w)}`));
  const rep = negotiate(r.req.headers.accept);
  if (rep === 'table' && r.req.method === 'GET') {
    sendJson(r.res, code, toTable(r.type, [obj], includeObjectParam(r.query.get('includeObject')), { resourceVersion: obj.metadata.resourceVersion }), headers);
    return;
  }
  sendJson(r.res, code, obj, headers);
}

export async function readObjectBody(r: ApiRequest): Promise<Record<string, unknown>> {
  return decodeObject(await readBody(r.req), r.req.headers['content-type']);
}

/**
 * A request body as a JSON object: JSON, YAML, or Kubernetes protobuf (whose codec loads on first use).
 */
export async function decodeObject(raw: Buffer, contentType: string | undefined, what?: string): Promise<Record<string, unknown>> {
  if (mediaType(contentType) === 'application/vnd.kubernetes.protobuf') {
    const { decodeProtobufBody } = await import('./protobuf/protobuf-codec.js');
    return decodeProtobufBody(raw);
  }
  return asObject(await parseBody(raw, contentType), what);
}

