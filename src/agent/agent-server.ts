/**
 * The agent's HTTP endpoint, which the API server proxies pods/log, pods/exec and pods/attach to (the contract is in
 * apiserver/pod-proxy.ts), plus the kubelet-like stats summary behind `top`:
 *
 *   GET /healthz
 *   GET /containerLogs/{namespace}/{pod}/{container}?follow&previous&timestamps&tailLines&sinceSeconds&sinceTime&limitBytes
 *   GET /exec/{namespace}/{pod}/{container}?command=…&stdin&stdout&stderr&tty   (WebSocket, channel protocol)
 *   GET /attach/{namespace}/{pod}/{container}?stdin&stdout&stderr&tty            (WebSocket, channel protocol)
 *   GET /stats/summary
 *
 * HTTPS only, both ways authenticated: the agent serves its node's certificate from the cluster CA and
 * completes a handshake only with a client certificate of that CA; of those it serves only the API
 * server's (`CN=nubis:apiserver`), so a node's or a user's certificate gets 403.
 */
import type http from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { AGENT_CLIENT_CN } from '../client/certificates.js';
import { isNubisError } from '../lib/errors.js';
import { logger } from '../lib/log.js';
import type { RuntimeDriver } from '../runtime/driver.js';
import type { PodManager } from './pod-manager.js';
import { CHANNEL_PROTOCOLS, HttpError, bool, serveAttach, serveExec, type Target } from './remote-command.js';
import type { StatsCollector } from './stats.js';

const log = logger('agent');

function statusBody(code: number, reason: string, message: string): string {
  return JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}

function intParam(q: URLSearchParams, k: string): number | undefined {
  const v = q.get(k);
  if (v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new HttpError(400, 'BadRequest', `${k} must be a non-negative integer`);
  return n;
}

/** RFC 3339 with nanoseconds, as the kubelet prints log timestamps. */
function nanoTimestamp(ts: string): string {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(ts);
  return m ? `${m[1]}.${(m[2] ?? '').padEnd(9, '0').slice(0, 9)}Z` : ts;
}

export interface AgentServerOptions {
  host: string;
  port: number;
  pods: PodManager;
  stats: StatsCollector;
  /** The serving certificate and key, and the cluster CA that client certificates must chain to. */
  tls: { cert: string; key: string; ca: string };
}

/** Whether the request comes from the API server (the only caller served). */
function fromApiServer(req: http.IncomingMessage): boolean {
  const peer = (req.socket as TLSSocket).getPeerCertificate?.();
  return (req.socket as TLSSocket).authorized === true && peer?.subject?.CN === AGENT_CLIENT_CN;
}

export class AgentServer {
  readonly #server: https.Server;
  readonly #wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (offered) => CHANNEL_PROTOCOLS.find((p) => offered.has(p)) ?? false,
  });

  private constructor(private readonly o: AgentServerOptions) {
    this.#server = https.createServer({ ...o.tls, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' }, (req, res) => void this.#handle(req, res));
    this.#server.on('upgrade', (req, socket, head) => void this.#upgrade(req, socket, head));
  }

  static async start(o: AgentServerOptions): Promise<AgentServer> {
    const s = new AgentServer(o);
    await new Promise<void>((resolve, reject) => {
      s.#server.once('error', reject);
      s.#server.listen(o.port, o.host, () => resolve());
    });
    return s;
  }

  /** Serves a renewed certificate from now on (connections already open keep theirs). */
  useCertificate(cert: string, key: string): void {
    this.#server.setSecureContext({ cert, key, ca: this.o.tls.ca });
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const c of this.#wss.clients) c.terminate();
    this.#server.closeAllConnections();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }

  /**
   * The container a request names (its ID and the driver it runs on); 404/400 Status errors otherwise.
   * Right after an agent restart it first waits until the earlier agent's pods are taken over.
   */
  async #container(ns: string, podName: string, container: string, previous = false): Promise<{ id: string; driver: RuntimeDriver }> {
    await this.o.pods.recovered;
    const w = this.o.pods.find(ns, podName);
    if (!w) throw new HttpError(404, 'NotFound', `pod "${podName}" in namespace "${ns}" is not on this node`);
    const known = [...(w.pod?.spec.containers ?? []), ...(w.pod?.spec.initContainers ?? [])].some((c) => c.name === container) || w.containerId(container) !== undefined;
    if (!known) throw new HttpError(400, 'BadRequest', `container ${container} is not valid for pod ${podName}`);
    const id = w.containerId(container, previous);
    if (!id) {
      if (previous) throw new HttpError(400, 'BadRequest', `previous terminated container "${container}" in pod "${podName}" not found`);
      throw new HttpError(400, 'BadRequest', `container "${container}" in pod "${podName}" is waiting to start: ${w.waitingReason(container) ?? 'ContainerCreating'}`);
    }
    return { id, driver: w.driver! };
  }

  /** The container to attach to: it must be running, and says whether it keeps stdin and a terminal. */
  async #attachable(ns: string, podName: string, container: string): Promise<Target & { stdin: boolean; tty: boolean }> {
    const t = await this.#container(ns, podName, container);
    const c = this.o.pods.find(ns, podName)?.pod?.spec.containers?.find((x) => x.name === container);
    const info = await t.driver.get(t.id);
    if (info.state.status !== 'running') throw new HttpError(400, 'BadRequest', `container ${container} is not running (${info.state.status})`);
    return { ...t, stdin: c?.stdin === true, tty: c?.tty === true };
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://agent');
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    try {
      if (!fromApiServer(req)) throw new HttpError(403, 'Forbidden', 'only the API server may use the agent endpoint');
      if (req.method !== 'GET') throw new HttpError(405, 'MethodNotAllowed', `${req.method} is not supported`);
      if (url.pathname === '/healthz') {
        res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
      } else if (parts[0] === 'containerLogs' && parts.length === 4) {
        await this.#logs(parts[1]!, parts[2]!, parts[3]!, url.searchParams, res);
      } else if (url.pathname === '/stats/summary') {
        const body = JSON.stringify(await this.o.stats.summary());
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(body);
      } else if (parts[0] === 'exec' || parts[0] === 'attach') {
        throw new HttpError(400, 'BadRequest', `${parts[0]} needs a WebSocket upgrade (subprotocol v5.channel.k8s.io or v4.channel.k8s.io)`);
      } else throw new HttpError(404, 'NotFound', `no route for ${url.pathname}`);
    } catch (err) {
      const e = err instanceof HttpError ? err : isNubisError(err, 'NotFound') ? new HttpError(404, 'NotFound', (err as Error).message) : new HttpError(500, 'InternalError', (err as Error).message);
      if (!res.headersSent) res.writeHead(e.code, { 'Content-Type': 'application/json' }).end(statusBody(e.code, e.reason, e.message));
      else res.destroy();
    }
  }

  async #logs(ns: string, pod: string, container: string, q: URLSearchParams, res: http.ServerResponse): Promise<void> {
    const { id, driver } = await this.#container(ns, pod, container, bool(q, 'previous'));
    const tail = intParam(q, 'tailLines');
    const sinceSeconds = intParam(q, 'sinceSeconds');
    const sinceTime = q.get('sinceTime');
    const since = sinceSeconds !== undefined ? new Date(Date.now() - sinceSeconds * 1000) : sinceTime ? new Date(sinceTime) : undefined;
    const limit = intParam(q, 'limitBytes');
    const timestamps = bool(q, 'timestamps');
    const ac = new AbortController();
    res.on('close', () => ac.abort());
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache' });
    res.flushHeaders();
    let sent = 0;
    let atLineStart = true;
    for await (const e of driver.logs(id, { follow: bool(q, 'follow'), tail, since, signal: ac.signal })) {
      let text = (timestamps && atLineStart ? `${nanoTimestamp(e.timestamp)} ` : '') + e.text + (e.partial ? '' : '\n');
      atLineStart = !e.partial;
      if (limit !== undefined) {
        if (sent >= limit) break;
        const buf = Buffer.from(text);
        if (sent + buf.length > limit) text = buf.subarray(0, limit - sent).toString();
      }
      sent += Buffer.byteLength(text);
      if (!res.write(text)) await new Promise((r) => res.once('drain', r));
      if (ac.signal.aborted) break;
    }
    res.end();
  }

  async #upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://agent');
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const refuse = (code: number, reason: string, text: string, message: string) => {
      const body = statusBody(code, reason, message);
      socket.end(`HTTP/1.1 ${code} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    };
    if (!fromApiServer(req)) return refuse(403, 'Forbidden', 'Forbidden', 'only the API server may use the agent endpoint');
    if (!['exec', 'attach'].includes(parts[0] ?? '') || parts.length !== 4) return refuse(404, 'NotFound', 'Not Found', `no upgrade route for ${url.pathname}`);
    const [what, ns, pod, container] = parts as [string, string, string, string];
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      const target = () => this.#container(ns, pod, container);
      const done = what === 'exec' ? serveExec(ws, target, url.searchParams) : serveAttach(ws, () => this.#attachable(ns, pod, container), url.searchParams);
      void done.catch((err: unknown) => log.debug(`${what} in ${ns}/${pod}/${container}: ${(err as Error).message}`));
    });
  }
}
