/**
 * A small HTTP(S) GET over node:http with keep-alive agents: bodies arrive as plain Node streams (much
 * cheaper than WHATWG streams for big blobs), redirects are followed (dropping Authorization when the
 * origin changes, as registries redirect blobs to storage hosts), and the caller's AbortSignal cancels.
 */
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { invalid } from '../lib/errors.js';
import { withExtraCa } from '../lib/extra-ca.js';

export class HttpResponse {
  constructor(readonly body: IncomingMessage) {}

  get status(): number {
    return this.body.statusCode ?? 0;
  }

  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  header(name: string): string | undefined {
    const v = this.body.headers[name.toLowerCase()];
    return Array.isArray(v) ? v.join(', ') : v;
  }

  async buffer(): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of this.body) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  async text(): Promise<string> {
    return (await this.buffer()).toString('utf8');
  }

  /** Discards the body so the connection can be reused. */
  cancel(): void {
    this.body.resume();
  }
}

/** Keep-alive agents for one client; destroy() closes their idle connections. */
export class HttpAgents {
  readonly http = new http.Agent({ keepAlive: true, maxSockets: 16 });
  #https: https.Agent | undefined;

  /** Made on first use: extra CA certificates are read only when a registry is reached over TLS. */
  get https(): https.Agent {
    this.#https ??= new https.Agent({ keepAlive: true, maxSockets: 16, ...withExtraCa({}) });
    return this.#https;
  }

  destroy(): void {
    this.http.destroy();
    this.#https?.destroy();
  }
}

export async function httpGet(
  url: string,
  headers: Record<string, string>,
  o: { agents: HttpAgents; signal?: AbortSignal; redirects?: number },
): Promise<HttpResponse> {
  const u = new URL(url);
  const lib = u.protocol === 'https:' ? https : u.protocol === 'http:' ? http : undefined;
  if (!lib) throw invalid(`unsupported URL scheme in ${url}`);
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = lib.get(
      u,
      { headers, agent: u.protocol === 'https:' ? o.agents.https : o.agents.http, signal: o.signal },
      resolve,
    );
    req.on('error', reject);
  });
  const status = res.statusCode ?? 0;
  const location = res.headers.location;
  if ([301, 302, 303, 307, 308].includes(status) && location) {
    res.resume();
    const left = o.redirects ?? 5;
    if (left <= 0) throw invalid(`too many redirects from ${url}`);
    const next = new URL(location, u);
    const h = { ...headers };
    if (next.origin !== u.origin) delete h.authorization;
    return httpGet(next.toString(), h, { ...o, redirects: left - 1 });
  }
  return new HttpResponse(res);
}
