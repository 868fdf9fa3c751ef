/**
 * Routing of pods/log and pods/exec from the API server to the agent that runs the pod: the server
 * reads the pod's spec.nodeName, the Node's agent address (status.addresses InternalIP, else Hostname,
 * and status.daemonEndpoints.kubeletEndpoint.Port) and proxies the request there.
 *
 * The agent-side HTTP contract, over TLS both ways: the agent serves a certificate from the cluster CA
 * naming its node (`CN=system:node:<name>`, checked here instead of the address), and accepts only the
 * API server's client certificate (`CN=nubis:apiserver`, from the same CA):
 *
 *   GET /containerLogs/{namespace}/{pod}/{container}?follow=&previous=&timestamps=&tailLines=&sinceSeconds=&limitBytes=
 *     200 text/plain: the log, streamed while follow=true until the container ends or the client leaves.
 *     4xx/5xx: a metav1.Status JSON body; the server forwards status code and body unchanged.
 *
 *   GET /exec/{namespace}/{pod}/{container}?command=<argv0>&command=<argv1>…&stdin=&stdout=&stderr=&tty=
 *     A WebSocket upgrade offering the subprotocols the client offered (v5.channel.k8s.io,
 *     v4.channel.k8s.io). The agent picks one and speaks Kubernetes' channel protocol: every binary
 *     message starts with a channel byte (0 stdin, 1 stdout, 2 stderr, 3 error: a metav1.Status JSON
 *     when the command ends, 4 resize: {"Width":…,"Height":…}; v5 adds 255 close-channel). The server
 *     relays messages both ways unchanged, so the agent's choice of subprotocol is the client's.
 *
 * Until a Node names an agent address the server answers 503 ServiceUnavailable with a clear message.
 */
import http from 'node:http';
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { PeerCertificate } from 'node:tls';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import type { KubeObject } from '../api/meta.js';
import type { ObjectStore } from '../store/object-store.js';
import { isNubisError } from '../lib/errors.js';
import type { ApiRequest, PodRoutes } from './api-request.js';
import { ApiError, badRequest, statusOf, type Status } from './status.js';

interface PodSpec {
  nodeName?: string;
  containers?: Array<{ name?: string }>;
  initContainers?: Array<{ name?: string }>;
}

/** The API server's side of agent TLS: the cluster CA and its client certificate for agents. */
export interface AgentTls {
  ca: string;
  cert: string;
  key: string;
}

interface NodeStatus {
  addresses?: Array<{ type?: string; address?: string }>;
  daemonEndpoints?: { kubeletEndpoint?: { Port?: number } };
}

const CHANNEL_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'];

export class PodProxy implements PodRoutes {
  /** Accepts the client's upgrade with the subprotocol the agent chose (kept on the request). */
  private readonly wss = new WebSocketServer({
    noServer: true,
    maxPayload: 16 * 1024 * 1024,
    handleProtocols: (_offered, req) => (req as IncomingMessage & { agentProtocol?: string }).agentProtocol ?? false,
  });

  private tls: AgentTls | undefined;

  constructor(private readonly store: ObjectStore) {}

  /** The PKI agents are reached with (the server loads it when it starts listening). */
  useAgentTls(tls: AgentTls): void {
    this.tls = tls;
  }

  /** TLS options for a connection to the agent of `nodeName`: the cluster CA, our client certificate, the node's name. */
  tlsFor(nodeName: string): https.RequestOptions {
    const expected = `system:node:${nodeName}`;
    if (!this.tls) throw new ApiError('ServiceUnavailable', 'the server has not loaded its agent credentials yet');
    return {
      ca: this.tls.ca,
      cert: this.tls.cert,
      key: this.tls.key,
      checkServerIdentity: (_host: string, peer: PeerCertificate) => {
        const cn = peer.subject?.CN;
        return cn === expected ? undefined : new Error(`the agent's certificate names ${String(cn)}, not ${expected}`);
      },
    };
  }

  /** host:port of the agent running the pod; 400/503 Status errors when there is none. */
  async agentFor(pod: KubeObject): Promise<string> {
    const nodeName = (pod.spec as PodSpec | undefined)?.nodeName;
    if (!nodeName) throw badRequest(`pod ${pod.metadata.name} does not have a host assigned`);
    return this.agentOfNode(nodeName, ` of pod ${pod.metadata.name}`);
  }

  /** host:port of the agent serving a node (`what` completes the 503 message); 503 when there is none. */
  async agentOfNode(nodeName: string, what = ''): Promise<string> {
    let node: KubeObject;
    try {
      node = await this.store.get({ resource: 'nodes' }, { name: nodeName });
    } catch (err) {
      if (isNubisError(err, 'NotFound')) throw new ApiError('ServiceUnavailable', `node "${nodeName}"${what} is not registered: no agent to reach`);
      throw err;
    }
    const status = (node.status ?? {}) as NodeStatus;
    const addr =
      status.addresses?.find((a) => a.type === 'InternalIP')?.address ?? status.addresses?.find((a) => a.type === 'Hostname')?.address;
    const port = status.daemonEndpoints?.kubeletEndpoint?.Port;
    if (!addr || !port) {
      throw new ApiError('ServiceUnavailable', `no agent is serving node "${nodeName}" yet: the node has no agent address (status.addresses and status.daemonEndpoints)`);
    }
    return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
  }

  /** The container a log/exec request means: ?container=, or the pod's only container. */
  container(pod: KubeObject, query: URLSearchParams): string {
    const spec = (pod.spec ?? {}) as PodSpec;
    const names = [...(spec.containers ?? []), ...(spec.initContainers ?? [])].map((c) => c.name ?? '');
    const wanted = query.get('container');
    if (wanted) {
      if (!names.includes(wanted)) throw badRequest(`container ${wanted} is not valid for pod ${pod.metadata.name}`);
      return wanted;
    }
    const main = (spec.containers ?? []).map((c) => c.name ?? '');
    if (main.length === 1) return main[0]!;
    throw badRequest(`a container name must be specified for pod ${pod.metadata.name}, choose one of: [${main.join(' ')}]`);
  }

  /** pods/log: streams the agent's answer back. */
  async log(r: ApiRequest, pod: KubeObject): Promise<void> {
    const container = this.container(pod, r.query);
    const agent = await this.agentFor(pod);
    const q = new URLSearchParams();
    for (const k of ['follow', 'previous', 'timestamps', 'tailLines', 'sinceSeconds', 'sinceTime', 'limitBytes']) {
      const v = r.query.get(k);
      if (v !== null) q.set(k, v);
    }
    const path = `/containerLogs/${encodeURIComponent(pod.metadata.namespace ?? '')}/${encodeURIComponent(pod.metadata.name)}/${encodeURIComponent(container)}?${q}`;
    await new Promise<void>((resolve, reject) => {
      const up = https.get(`https://${agent}${path}`, this.tlsFor((pod.spec as PodSpec).nodeName!), (res) => {
        r.res.writeHead(res.statusCode ?? 502, { 'Content-Type': res.headers['content-type'] ?? 'text/plain', 'Cache-Control': 'no-cache' });
        res.pipe(r.res);
        res.on('end', resolve);
        res.on('error', () => resolve());
      });
      up.on('error', (err) => {
        if (r.res.headersSent) {
          r.res.destroy();
          resolve();
        } else reject(new ApiError('ServiceUnavailable', `the agent of node ${(pod.spec as PodSpec).nodeName} at ${agent} cannot be reached: ${err.message}`));
      });
      r.res.on('close', () => up.destroy());
    });
  }

  /** A plain (non-upgrade) exec request: kubectl always upgrades, so this is a client error. */
  async exec(_r: ApiRequest, _pod: KubeObject): Promise<void> {
    throw badRequest('exec needs a WebSocket upgrade (subprotocol v5.channel.k8s.io or v4.channel.k8s.io)');
  }

  /** Handles an upgrade request for pods/exec or pods/attach: relays WebSocket messages to the agent. */
  async upgradeStream(what: 'exec' | 'attach', req: IncomingMessage, socket: Duplex, head: Buffer, pod: KubeObject, query: URLSearchParams): Promise<void> {
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
      throw badRequest(`only WebSocket upgrades are supported for ${what} (subprotocol v5.channel.k8s.io or v4.channel.k8s.io); SPDY is not`);
    }
    const container = this.container(pod, query);
    const agent = await this.agentFor(pod);
    const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim()).filter((p) => CHANNEL_PROTOCOLS.includes(p));
    if (offered.length === 0) throw badRequest(`${what} needs one of the subprotocols ${CHANNEL_PROTOCOLS.join(', ')}`);
    const q = new URLSearchParams();
    for (const k of [...(what === 'exec' ? ['command'] : []), 'stdin', 'stdout', 'stderr', 'tty']) for (const v of query.getAll(k)) q.append(k, v);
    const upstream = new WebSocket(
      `wss://${agent}/${what}/${encodeURIComponent(pod.metadata.namespace ?? '')}/${encodeURIComponent(pod.metadata.name)}/${encodeURIComponent(container)}?${q}`,
      offered,
      this.tlsFor((pod.spec as PodSpec).nodeName!),
    );
    await new Promise<void>((resolve, reject) => {
      upstream.once('open', resolve);
      upstream.once('error', (err) => reject(new ApiError('ServiceUnavailable', `the agent of node ${(pod.spec as PodSpec).nodeName} at ${agent} cannot be reached: ${err.message}`)));
      upstream.once('unexpected-response', (_q, res) => reject(new ApiError('ServiceUnavailable', `the agent at ${agent} refused ${what}: HTTP ${res.statusCode}`)));
    });
    (req as IncomingMessage & { agentProtocol?: string }).agentProtocol = upstream.protocol;
    this.wss.handleUpgrade(req, socket, head, (client) => relay(client, upstream));
  }
}

function relay(a: WebSocket, b: WebSocket): void {
  a.on('message', (data, binary) => b.readyState === WebSocket.OPEN && b.send(data, { binary }));
  b.on('message', (data, binary) => a.readyState === WebSocket.OPEN && a.send(data, { binary }));
  // The close code travels too: clients (kubectl) treat anything but 1000 as a broken stream.
  const closeBoth = (code?: number) => {
    const c = code === undefined || code === 1005 ? 1000 : code === 1006 ? 1011 : code;
    for (const s of [a, b]) if (s.readyState === WebSocket.OPEN || s.readyState === WebSocket.CONNECTING) s.close(c);
  };
  a.on('close', (code: number) => closeBoth(code));
  b.on('close', (code: number) => closeBoth(code));
  a.on('error', () => closeBoth());
  b.on('error', () => closeBoth());
}

/** Answers a failed upgrade on the raw socket with a Status body. */
export function rejectUpgrade(socket: Duplex, err: unknown): void {
  const status: Status = statusOf(err);
  const body = JSON.stringify(status);
  socket.end(
    `HTTP/1.1 ${status.code} ${http.STATUS_CODES[status.code] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
