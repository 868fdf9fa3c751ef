/**
 * A client of the OCI distribution HTTP API v2 (pull side): manifests and blobs, with the
 * WWW-Authenticate challenge answered by Basic credentials or a Bearer token fetched from the realm.
 * Plain HTTP is used only for loopback registries and those the caller marks insecure.
 */
import { errno, invalid, isNubisError, messageOf, notFound, NubisError, unavailable } from '../lib/errors.js';
import { logger } from '../lib/log.js';
import { sha256Digest, type BlobFetch } from './content-store.js';
import { HttpAgents, httpGet, type HttpResponse } from './http-get.js';
import { ACCEPT_MANIFESTS } from './manifest.js';
import { isLoopbackRegistry } from './reference.js';

const log = logger('registry');

export interface Credentials {
  username: string;
  password: string;
}

export interface RegistryClientOptions {
  /** Registries (host[:port]) reached over plain HTTP although not on loopback. */
  insecureRegistries?: string[];
  credentials?: Credentials;
  signal?: AbortSignal;
}

/** A parsed WWW-Authenticate challenge. */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses `Bearer realm="…",service="…",scope="…"` (quoted values may hold commas). */
export function parseChallenge(header: string): Challenge | undefined {
  const m = /^\s*([A-Za-z]+)\s*(.*)$/.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  for (let p = re.exec(m[2] ?? ''); p; p = re.exec(m[2] ?? '')) {
    params[(p[1] as string).toLowerCase()] = (p[2] ?? p[3] ?? '').replace(/\\(.)/g, '$1');
  }
  return { scheme: (m[1] as string).toLowerCase(), params };
}

const unauthorized = (msg: string) => new NubisError('Unauthorized', msg);

/** A manifest or index as fetched, verified against its digest. */
export interface FetchedManifest {
  data: Buffer;
  digest: string;
  contentType: string;
}

export class RegistryClient {
  readonly baseUrl: string;
  private readonly tokens = new Map<string, string>();
  private basic = false;
  private readonly agents = new HttpAgents();

  constructor(
    readonly registry: string,
    private readonly opts: RegistryClientOptions = {},
  ) {
    const host = registry === 'docker.io' ? 'registry-1.docker.io' : registry;
    const plain = isLoopbackRegistry(registry) || (opts.insecureRegistries ?? []).includes(registry);
    this.baseUrl = `${plain ? 'http' : 'https'}://${host}`;
  }

  /** Closes idle connections. */
  close(): void {
    this.agents.destroy();
  }

  /** Fetches a manifest or index by tag or digest and checks its digest. */
  async manifest(repository: string, reference: string): Promise<FetchedManifest> {
    const res = await this.request(repository, `/v2/${repository}/manifests/${reference}`, { accept: ACCEPT_MANIFESTS });
    if (res.status === 404) throw notFound(`manifest ${repository}:${reference} not found in registry ${this.registry}`);
    await this.expectOk(res, `manifest ${repository}:${reference}`);
    const data = await res.buffer();
    const digest = sha256Digest(data);
    if (reference.startsWith('sha256:') && digest !== reference) {
      throw invalid(`registry ${this.registry} sent a manifest for ${reference} that hashes to ${digest}`);
    }
    const claimed = res.header('docker-content-digest');
    if (claimed && claimed.startsWith('sha256:') && claimed !== digest) {
      throw invalid(`registry ${this.registry} claims manifest digest ${claimed} but the content hashes to ${digest}`);
    }
    return { data, digest, contentType: res.header('content-type') ?? '' };
  }

  /** Opens a blob from byte `offset` (a Range request); the answer says where it really starts. */
  async blob(repository: string, digest: string, offset = 0): Promise<BlobFetch> {
    const headers: Record<string, string> = offset > 0 ? { range: `bytes=${offset}-` } : {};
    let res = await this.request(repository, `/v2/${repository}/blobs/${digest}`, { headers });
    if (res.status === 416 && offset > 0) {
      res.cancel();
      res = await this.request(repository, `/v2/${repository}/blobs/${digest}`, {});
    }
    if (res.status === 404) throw notFound(`blob ${digest} of ${repository} not found in registry ${this.registry}`);
    await this.expectOk(res, `blob ${digest}`);
    let start = 0;
    if (res.status === 206) {
      const m = /^bytes\s+(\d+)-/.exec(res.header('content-range') ?? '');
      start = m ? Number(m[1]) : offset;
    }
    return { stream: res.body, offset: start };
  }

  private async expectOk(res: HttpResponse, what: string): Promise<void> {
    if (res.ok) return;
    const body = (await res.text().catch(() => '')).slice(0, 300).replace(/\s+/g, ' ');
    if (res.status === 401) throw unauthorized(`registry ${this.registry} refused ${what}: unauthorized (check --creds)`);
    if (res.status === 403) throw new NubisError('Forbidden', `registry ${this.registry} denied ${what}`);
    throw unavailable(`registry ${this.registry} answered ${res.status} for ${what}${body ? `: ${body}` : ''}`);
  }

  /** One request, answering an auth challenge once. */
  private async request(
    repository: string,
    path: string,
    o: { accept?: string; headers?: Record<string, string> },
  ): Promise<HttpResponse> {
    const scope = `repository:${repository}:pull`;
    const send = () => {
      const headers: Record<string, string> = { ...(o.headers ?? {}), 'user-agent': 'nubis/0.1' };
      if (o.accept) headers.accept = o.accept;
      const token = this.tokens.get(scope);
      if (token) headers.authorization = `Bearer ${token}`;
      else if (this.basic && this.opts.credentials) headers.authorization = basicAuth(this.opts.credentials);
      return this.fetch(`${this.baseUrl}${path}`, headers);
    };
    let res = await send();
    if (res.status !== 401) return res;
    const challenge = parseChallenge(res.header('www-authenticate') ?? '');
    res.cancel();
    if (challenge?.scheme === 'basic') {
      if (!this.opts.credentials) throw unauthorized(`registry ${this.registry} needs credentials: pass --creds user:password`);
      if (this.basic) return res;
      this.basic = true;
    } else if (challenge?.scheme === 'bearer') {
      if (this.tokens.has(scope)) return res;
      this.tokens.set(scope, await this.fetchToken(challenge.params, scope));
    } else {
      return res;
    }
    res = await send();
    return res;
  }

  /** Asks the challenge's realm for a token for `scope`, with Basic credentials if given. */
  private async fetchToken(params: Record<string, string>, scope: string): Promise<string> {
    const realm = params.realm;
    if (!realm || !/^https?:\/\//.test(realm)) throw invalid(`registry ${this.registry} sent a bearer challenge without a usable realm`);
    const url = new URL(realm);
    if (params.service) url.searchParams.set('service', params.service);
    url.searchParams.set('scope', params.scope ?? scope);
    const headers: Record<string, string> = { 'user-agent': 'nubis/0.1' };
    if (this.opts.credentials) headers.authorization = basicAuth(this.opts.credentials);
    const res = await this.fetch(url.toString(), headers);
    if (res.status === 401 || res.status === 403) {
      throw unauthorized(`the token service of ${this.registry} refused ${this.opts.credentials ? 'the credentials' : 'anonymous access'}`);
    }
    if (!res.ok) throw unavailable(`the token service of ${this.registry} answered ${res.status}`);
    const body = (await res.text().then((t) => JSON.parse(t) as object, () => ({}))) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw invalid(`the token service of ${this.registry} sent no token`);
    log.debug(`got a bearer token for ${scope}`);
    return token;
  }

  private async fetch(url: string, headers: Record<string, string>): Promise<HttpResponse> {
    try {
      return await httpGet(url, headers, { agents: this.agents, signal: this.opts.signal });
    } catch (err) {
      if ((err as Error).name === 'AbortError' || isNubisError(err)) throw err;
      const code = errno(err);
      const tlsMismatch = code === 'EPROTO' || /wrong version number|ssl/i.test(messageOf(err));
      throw unavailable(
        `cannot reach registry ${this.registry} at ${new URL(url).origin}: ${code ?? messageOf(err)}` +
          (tlsMismatch ? ' (a plain-HTTP registry? mark it with --insecure-registry)' : ''),
        err,
      );
    }
  }
}

function basicAuth(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}
