/**
 * nodes/proxy: GET /api/v1/nodes/{name}/proxy/{path} forwarded to the agent serving that node (its
 * address as PodProxy finds it), so clients never need to reach agents themselves: `kubectl get --raw
 * /api/v1/nodes/<n>/proxy/stats/summary` and `nubis top` read the agent's stats summary this way.
 * Only GET (and HEAD) are proxied; the agent's status code, content type and body pass through unchanged.
 */
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PodProxy } from './pod-proxy.js';
import { ApiError } from './status.js';

const NODE_PROXY_PATH = /^\/api\/v1\/nodes\/([^/]+)\/proxy(\/.*)?$/;

/** The node name and agent path of a nodes/proxy URL path, or undefined for any other path. */
export function matchNodeProxy(pathname: string): { node: string; path: string } | undefined {
  const m = NODE_PROXY_PATH.exec(pathname);
  if (!m) return undefined;
  return { node: decodeURIComponent(m[1]!), path: m[2] ?? '/' };
}

export class NodeProxy {
  constructor(private readonly agents: Pick<PodProxy, 'agentOfNode' | 'tlsFor'>) {}

  /** Proxies one request for `target` (from matchNodeProxy) with its query string. */
  async serve(req: IncomingMessage, res: ServerResponse, target: { node: string; path: string }, search: string): Promise<void> {
    req.resume();
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') throw new ApiError('MethodNotAllowed', `${method} is not supported on nodes/proxy (only GET)`);
    if (target.path.split('/').includes('..')) throw new ApiError('BadRequest', `invalid proxy path ${target.path.slice(0, 200)}`);
    const agent = await this.agents.agentOfNode(target.node);
    await new Promise<void>((resolve, reject) => {
      const up = https.request(`https://${agent}${target.path}${search}`, { ...this.agents.tlsFor(target.node), method, headers: { accept: req.headers.accept ?? '*/*' } }, (ans) => {
        const headers: Record<string, string> = { 'Content-Type': ans.headers['content-type'] ?? 'application/octet-stream' };
        if (ans.headers['content-length']) headers['Content-Length'] = ans.headers['content-length'];
        res.writeHead(ans.statusCode ?? 502, headers);
        ans.pipe(res);
        ans.on('end', resolve);
        ans.on('error', () => resolve());
      });
      up.on('error', (err) => {
        if (res.headersSent) {
          res.destroy();
          resolve();
        } else reject(new ApiError('ServiceUnavailable', `the agent of node ${target.node} at ${agent} cannot be reached: ${err.message}`));
      });
      res.on('close', () => up.destroy());
      up.end();
    });
  }
}
