/**
 * The typed client of the Nubis API (Kubernetes REST conventions): HTTPS with the cluster CA, a bearer
 * token or client certificate, one keep-alive agent (no TLS handshake per request), Status errors mapped
 * to NubisErrors (api-error.ts), and watches streamed as JSON lines.
 */
import http from 'node:http';
import https from 'node:https';
import type { Duplex, Readable } from 'node:stream';
import tls from 'node:tls';
import type { KubeObject } from '../api/meta.js';
import { isNubisError, unavailable } from '../lib/errors.js';
import { withExtraCa } from '../lib/extra-ca.js';
import { errorFromResponse } from './api-error.js';
import { readWatchStream, type WatchEvent } from './watch-stream.js';

/** Where a cluster is and how to prove who we are (from a kubeconfig context). */
export interface ClusterConnection {
  /** https://host:port */
  server: string;
  /** PEM of the CA that signed the server certificate. */
  ca?: Buffer | string;
  token?: string;
  /** "user:password" (basic auth, rarely used). */
  basicAuth?: string;
  /** PEM client certificate and key. */
  cert?: Buffer | string;
  key?: Buffer | string;
  insecureSkipTLSVerify?: boolean;
  tlsServerName?: string;
  /** Opens a stream to the server instead of a TCP connection (the server process's own loops); TLS runs over it as usual. */
  dial?: () => Duplex;
}

/** A resource as discovery or the local registry describes it: enough to build request paths. */
export interface ResourceInfo {
  group: string;
  version: string;
  /** Plural, lower case. */
  resource: string;
  kind: string;
  namespaced: boolean;
  singular?: string;
  shortNames?: string[];
  verbs?: string[];
}

/** A list answer: items and the list's resourceVersion (and continue token while paging). */
export interface KubeList<T extends KubeObject = KubeObject> {
  apiVersion: string;
  kind: string;
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  items: T[];
}

/** meta.k8s.io/v1 Table, the server-side printing `get` uses. */
export interface Table {
  kind: 'Table';
  apiVersion: string;
  metadata: { resourceVersion?: string; continue?: string };
  columnDefinitions: Array<{ name: string; type: string; format: string; description: string; priority: number }>;
  rows: Array<{ cells: unknown[]; object?: KubeObject }>;
}

export type QueryValue = string | number | boolean | undefined | string[];

export interface RequestOptions {
  method?: string;
  path: string;
  query?: Record<string, QueryValue>;
  /** An object is sent as JSON; a string or Buffer as it is. */
  body?: unknown;
  contentType?: string;
  accept?: string;
  signal?: AbortSignal;
  /** For non-streaming requests (default 60 s). */
  timeoutMs?: number;
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  signal?: AbortSignal;
}

export interface WriteOptions {
  namespace?: string;
  dryRun?: boolean;
  fieldManager?: string;
  fieldValidation?: 'Strict' | 'Warn' | 'Ignore';
}

export type PatchType = 'merge' | 'strategic' | 'json' | 'apply';

export const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
  apply: 'application/apply-patch+yaml',
};

export interface PatchOptions extends WriteOptions {
  /** Server-side apply: take fields other managers own. */
  force?: boolean;
  subresource?: string;
}

export interface DeleteOptions {
  namespace?: string;
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

export interface WatchOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Events after this version; absent: the current state as ADDED events, then changes. */
  resourceVersion?: string;
  timeoutSeconds?: number;
  allowWatchBookmarks?: boolean;
  signal?: AbortSignal;
  /** Ask for Table objects (kubectl get -w). */
  table?: boolean;
}

export const TABLE_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';

const enc = encodeURIComponent;

/** The request path of a resource, a namespace's collection, an object or one of its subresources. */
export function resourcePath(r: ResourceInfo, opts: { namespace?: string; name?: string; subresource?: string } = {}): string {
  let p = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  if (r.namespaced && opts.namespace) p += `/namespaces/${enc(opts.namespace)}`;
  p += `/${r.resource}`;
  if (opts.name !== undefined) p += `/${enc(opts.name)}`;
  if (opts.subresource) p += `/${opts.subresource}`;
  return p;
}

function queryString(query: Record<string, QueryValue> | undefined): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v === undefined || v === '' || v === false) continue;
    if (Array.isArray(v)) for (const x of v) q.append(k, x);
    else q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

function objectNamespace(r: ResourceInfo, obj: KubeObject, namespace?: string): string | undefined {
  return r.namespaced ? (namespace ?? obj.metadata?.namespace) : undefined;
}

/** A typed client of one API server. Call `close()` to release its connections. */
export class RestClient {
  #agent: http.Agent;
  /** Agents of credentials replaced by useClientCertificate: their open connections may finish. */
  readonly #retired = new Set<http.Agent>();
  readonly #url: URL;
  readonly #auth: string | undefined;
  /** Called with each Warning header the server sends (kubectl prints them as "Warning: ..."). */
  onWarning: ((message: string) => void) | undefined;

  constructor(
    public connection: ClusterConnection,
    options: { userAgent?: string } = {},
  ) {
    this.#url = new URL(connection.server);
    this.#agent = this.#makeAgent();
    if (connection.token) this.#auth = `Bearer ${connection.token}`;
    else if (connection.basicAuth) this.#auth = `Basic ${Buffer.from(connection.basicAuth).toString('base64')}`;
    this.userAgent = options.userAgent ?? 'nubis';
  }

  readonly userAgent: string;

  #makeAgent(): http.Agent {
    const c = this.connection;
    const agentOptions = { keepAlive: true, keepAliveMsecs: 15_000, maxFreeSockets: 16 };
    if (this.#url.protocol !== 'https:') return new http.Agent(agentOptions);
    const agent = new https.Agent({ ...agentOptions, ...withExtraCa({ ca: c.ca, cert: c.cert, key: c.key }), rejectUnauthorized: !c.insecureSkipTLSVerify, servername: c.tlsServerName });
    const dial = c.dial;
    if (dial) Object.assign(agent, { createConnection: (options: tls.ConnectionOptions) => tls.connect({ ...options, socket: dial() }) });
    return agent;
  }

  /**
   * Switches to another client certificate (a renewed one): new requests use it at once; connections
   * already open (watches) keep the old one for up to an hour, while it is still valid.
   */
  useClientCertificate(cert: string, key: string): void {
    this.connection = { ...this.connection, cert, key };
    const old = this.#agent;
    this.#agent = this.#makeAgent();
    this.#retired.add(old);
    setTimeout(() => {
      old.destroy();
      this.#retired.delete(old);
    }, 3600_000).unref();
  }

  /** Opens a request and resolves with the response once its headers arrive; statuses >= 400 reject. */
  async open(opts: RequestOptions): Promise<http.IncomingMessage> {
    const body = opts.body === undefined ? undefined : typeof opts.body === 'string' || Buffer.isBuffer(opts.body) ? opts.body : JSON.stringify(opts.body);
    const headers: http.OutgoingHttpHeaders = { Accept: opts.accept ?? 'application/json', 'User-Agent': this.userAgent };
    if (this.#auth) headers.Authorization = this.#auth;
    if (body !== undefined) {
      headers['Content-Type'] = opts.contentType ?? 'application/json';
      headers['Content-Length'] = Buffer.byteLength(body);
    }
    const mod = this.#url.protocol === 'https:' ? https : http;
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = mod.request(
        {
          protocol: this.#url.protocol,
          hostname: this.#url.hostname.replace(/^\[|\]$/g, ''),
          port: this.#url.port || (this.#url.protocol === 'https:' ? 443 : 80),
          method: opts.method ?? 'GET',
          path: `${this.#url.pathname.replace(/\/$/, '')}${opts.path}${queryString(opts.query)}`,
          headers,
          agent: this.#agent,
          signal: opts.signal,
        },
        resolve,
      );
      req.on('error', (err) => reject(this.#transportError(err, opts)));
      if (opts.timeoutMs) req.setTimeout(opts.timeoutMs, () => req.destroy(Object.assign(new Error(`no answer within ${opts.timeoutMs} ms`), { code: 'ETIMEDOUT' })));
      req.end(body);
    });
    const warning = res.headers.warning;
    if (warning && this.onWarning) for (const w of parseWarnings(warning)) this.onWarning(w);
    if ((res.statusCode ?? 0) >= 400) {
      const text = (await readAll(res).catch(() => Buffer.alloc(0))).toString('utf8');
      throw errorFromResponse(res.statusCode ?? 0, text);
    }
    return res;
  }

  #transportError(err: Error, opts: RequestOptions): Error {
    if (opts.signal?.aborted || err.name === 'AbortError') return err;
    if (isNubisError(err)) return err;
    return unavailable(`cannot reach the API server at ${this.connection.server}: ${err.message}`, err);
  }

  /** A whole request: the body read into memory. */
  async request(opts: RequestOptions): Promise<RawResponse> {
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const res = await this.open({ ...opts, timeoutMs });
    try {
      const body = await readAll(res);
      return { status: res.statusCode ?? 0, headers: res.headers, body };
    } catch (err) {
      throw this.#transportError(err as Error, opts);
    }
  }

  async requestJson<T>(opts: RequestOptions): Promise<T> {
    const res = await this.request(opts);
    const text = res.body.toString('utf8');
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw unavailable(`the API server answered ${opts.method ?? 'GET'} ${opts.path} with something other than JSON`, err);
    }
  }

  get<T extends KubeObject = KubeObject>(r: ResourceInfo, name: string, opts: { namespace?: string; signal?: AbortSignal } = {}): Promise<T> {
    return this.requestJson<T>({ path: resourcePath(r, { namespace: opts.namespace, name }), signal: opts.signal });
  }

  /** One page (or everything when no limit is given). */
  list<T extends KubeObject = KubeObject>(r: ResourceInfo, opts: ListOptions = {}): Promise<KubeList<T>> {
    return this.requestJson<KubeList<T>>({
      path: resourcePath(r, { namespace: opts.namespace }),
      query: { labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector, limit: opts.limit, continue: opts.continue, resourceVersion: opts.resourceVersion },
      signal: opts.signal,
    });
  }

  /** Every page of a list, following continue tokens; one consistent snapshot (the first page's version). */
  async listAll<T extends KubeObject = KubeObject>(r: ResourceInfo, opts: ListOptions & { pageSize?: number } = {}): Promise<KubeList<T>> {
    const { pageSize = 500, ...rest } = opts;
    const first = await this.list<T>(r, { ...rest, limit: pageSize });
    const items = [...first.items];
    let cont = first.metadata.continue;
    while (cont) {
      const page = await this.list<T>(r, { ...rest, limit: pageSize, continue: cont });
      items.push(...page.items);
      cont = page.metadata.continue;
    }
    return { ...first, metadata: { resourceVersion: first.metadata.resourceVersion }, items };
  }

  /** Server-side printing: a Table of one object (`name`) or a list. */
  table(r: ResourceInfo, opts: ListOptions & { name?: string; includeObject?: 'None' | 'Metadata' | 'Object' } = {}): Promise<Table> {
    return this.requestJson<Table>({
      path: resourcePath(r, { namespace: opts.namespace, name: opts.name }),
      accept: TABLE_ACCEPT,
      query: {
        labelSelector: opts.labelSelector,
        fieldSelector: opts.fieldSelector,
        limit: opts.limit,
        continue: opts.continue,
        includeObject: opts.includeObject,
      },
      signal: opts.signal,
    });
  }

  #writeQuery(opts: WriteOptions & { force?: boolean }): Record<string, QueryValue> {
    return { dryRun: opts.dryRun ? 'All' : undefined, fieldManager: opts.fieldManager, fieldValidation: opts.fieldValidation, force: opts.force };
  }

  create<T extends KubeObject = KubeObject>(r: ResourceInfo, obj: T, opts: WriteOptions = {}): Promise<T> {
    return this.requestJson<T>({ method: 'POST', path: resourcePath(r, { namespace: objectNamespace(r, obj, opts.namespace) }), body: obj, query: this.#writeQuery(opts) });
  }

  /** Replaces an object; with metadata.resourceVersion set the write is conditional (Conflict when stale). */
  update<T extends KubeObject = KubeObject>(r: ResourceInfo, obj: T, opts: WriteOptions = {}): Promise<T> {
    const path = resourcePath(r, { namespace: objectNamespace(r, obj, opts.namespace), name: obj.metadata.name });
    return this.requestJson<T>({ method: 'PUT', path, body: obj, query: this.#writeQuery(opts) });
  }

  /** Replaces the status of an object (status subresource). */
  updateStatus<T extends KubeObject = KubeObject>(r: ResourceInfo, obj: T, opts: WriteOptions = {}): Promise<T> {
    const path = resourcePath(r, { namespace: objectNamespace(r, obj, opts.namespace), name: obj.metadata.name, subresource: 'status' });
    return this.requestJson<T>({ method: 'PUT', path, body: obj, query: this.#writeQuery(opts) });
  }

  /** PATCH in one of the four formats; `apply` is server-side apply (needs fieldManager). */
  patch<T extends KubeObject = KubeObject>(r: ResourceInfo, name: string, patch: unknown, type: PatchType, opts: PatchOptions = {}): Promise<T> {
    return this.requestJson<T>({
      method: 'PATCH',
      path: resourcePath(r, { namespace: opts.namespace, name, subresource: opts.subresource }),
      body: typeof patch === 'string' ? patch : JSON.stringify(patch),
      contentType: PATCH_CONTENT_TYPES[type],
      query: this.#writeQuery(opts),
    });
  }

  /** Deletes one object; answers the object (still there while finalizers run) or a Status. */
  delete<T extends KubeObject = KubeObject>(r: ResourceInfo, name: string, opts: DeleteOptions = {}): Promise<T> {
    return this.requestJson<T>({ method: 'DELETE', path: resourcePath(r, { namespace: opts.namespace, name }), body: deleteBody(opts) });
  }

  deleteCollection(r: ResourceInfo, opts: DeleteOptions & { labelSelector?: string; fieldSelector?: string } = {}): Promise<KubeList> {
    return this.requestJson<KubeList>({
      method: 'DELETE',
      path: resourcePath(r, { namespace: opts.namespace }),
      query: { labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector },
      body: deleteBody(opts),
    });
  }

  /**
   * Opens a watch and resolves once the server accepted it (a compacted resourceVersion rejects here with
   * a 410 ApiStatusError). Iterating yields events until the server ends the stream (timeoutSeconds),
   * the signal aborts (iteration ends quietly) or the connection breaks (iteration throws). An ERROR
   * event is thrown as its Status error.
   */
  async watch<T extends KubeObject = KubeObject>(r: ResourceInfo, opts: WatchOptions = {}): Promise<AsyncIterable<WatchEvent<T>>> {
    const res = await this.open({
      path: resourcePath(r, { namespace: opts.namespace }),
      accept: opts.table ? TABLE_ACCEPT : 'application/json',
      query: {
        watch: 'true',
        labelSelector: opts.labelSelector,
        fieldSelector: opts.fieldSelector,
        resourceVersion: opts.resourceVersion,
        timeoutSeconds: opts.timeoutSeconds,
        allowWatchBookmarks: opts.allowWatchBookmarks,
      },
      signal: opts.signal,
    });
    return readWatchStream<T>(res, opts.signal, (err) => this.#transportError(err, { path: '' }));
  }

  /** GET a subresource (scale, status). */
  getSubresource<T = unknown>(r: ResourceInfo, name: string, subresource: string, opts: { namespace?: string } = {}): Promise<T> {
    return this.requestJson<T>({ path: resourcePath(r, { namespace: opts.namespace, name, subresource }) });
  }

  /** POST to a subresource (pods/binding, pods/eviction). */
  createSubresource<T = unknown>(r: ResourceInfo, name: string, subresource: string, body: unknown, opts: WriteOptions = {}): Promise<T> {
    return this.requestJson<T>({ method: 'POST', path: resourcePath(r, { namespace: opts.namespace, name, subresource }), body, query: this.#writeQuery(opts) });
  }

  /** Sets spec.replicas through the scale subresource. */
  scale(r: ResourceInfo, name: string, replicas: number, opts: { namespace?: string } = {}): Promise<unknown> {
    return this.requestJson({
      method: 'PATCH',
      path: resourcePath(r, { namespace: opts.namespace, name, subresource: 'scale' }),
      body: JSON.stringify({ spec: { replicas } }),
      contentType: PATCH_CONTENT_TYPES.merge,
    });
  }

  /** A pod's log as a stream (follow keeps it open while the container runs). */
  async logStream(namespace: string, pod: string, opts: { container?: string; follow?: boolean; tailLines?: number; previous?: boolean; timestamps?: boolean; sinceSeconds?: number; signal?: AbortSignal } = {}): Promise<Readable> {
    const pods: ResourceInfo = { group: '', version: 'v1', resource: 'pods', kind: 'Pod', namespaced: true };
    const { signal, ...query } = opts;
    return this.open({ path: resourcePath(pods, { namespace, name: pod, subresource: 'log' }), accept: '*/*', query: query as Record<string, QueryValue>, signal });
  }

  /** Closes idle connections and refuses new ones. */
  close(): void {
    this.#agent.destroy();
    for (const a of this.#retired) a.destroy();
    this.#retired.clear();
  }
}

function deleteBody(opts: DeleteOptions): Record<string, unknown> | undefined {
  const body: Record<string, unknown> = { kind: 'DeleteOptions', apiVersion: 'v1' };
  if (opts.propagationPolicy) body.propagationPolicy = opts.propagationPolicy;
  if (opts.gracePeriodSeconds !== undefined) body.gracePeriodSeconds = opts.gracePeriodSeconds;
  if (opts.preconditions) body.preconditions = opts.preconditions;
  if (opts.dryRun) body.dryRun = ['All'];
  return Object.keys(body).length > 2 ? body : undefined;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** The texts of Warning headers (`299 - "text"`). */
export function parseWarnings(header: string | string[]): string[] {
  const out: string[] = [];
  const re = /\d{3}\s+\S+\s+"((?:[^"\\]|\\.)*)"/g;
  for (const h of Array.isArray(header) ? header : [header]) {
    for (const m of h.matchAll(re)) {
      try {
        out.push(JSON.parse(`"${m[1]}"`) as string);
      } catch {
        out.push(m[1]!);
      }
    }
  }
  return out;
}
