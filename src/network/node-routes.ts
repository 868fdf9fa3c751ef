import type { Host } from '../host/host.js';
import { invalid } from '../lib/errors.js';
import { formatCidr, parseCidr, parseIp } from '../lib/cidr.js';
import { netnsRunner, type NetnsRunner } from './netns-runner.js';

/** A route to another node's pod range through that node's address. */
export interface NodeRoute {
  cidr: string;
  via: string;
}

/** The routing protocol number that marks routes as ours (rt_protos: 0..255; 4 "static" is avoided). */
export const NUBIS_ROUTE_PROTO = 157;

/**
 * Routes between nodes: pod-to-pod traffic across nodes goes straight to the other node (no NAT). The
 * routes are tagged with their own protocol number, so `reconcile` can tell ours from everyone else's
 * and removes exactly the stale ones.
 */
export class NodeRoutes {
  private readonly run: NetnsRunner;

  constructor(
    host: Host,
    private readonly opts: { nodeNetns?: string; proto?: number } = {},
  ) {
    this.run = netnsRunner(host, opts.nodeNetns);
  }

  private get proto(): string {
    return String(this.opts.proto ?? NUBIS_ROUTE_PROTO);
  }

  /** Our routes now in the table, destination to gateway. */
  async list(): Promise<NodeRoute[]> {
    const res = await this.run('ip', ['-j', '-4', 'route', 'show', 'proto', this.proto]);
    const rows = JSON.parse(res.stdout || '[]') as { dst: string; gateway?: string }[];
    return rows.map((r) => ({ cidr: r.dst.includes('/') ? r.dst : `${r.dst}/32`, via: r.gateway ?? '' }));
  }

  /** Makes our routes exactly `desired`: adds or changes what differs, removes ours that are not wanted. */
  async reconcile(desired: NodeRoute[]): Promise<{ added: string[]; removed: string[] }> {
    const want = new Map<string, string>();
    for (const r of desired) {
      const cidr = formatCidr(parseCidr(r.cidr));
      parseIp(r.via);
      if (want.has(cidr) && want.get(cidr) !== r.via) throw invalid(`two routes for ${cidr}: via ${want.get(cidr)} and ${r.via}`);
      want.set(cidr, r.via);
    }
    const have = new Map((await this.list()).map((r) => [r.cidr, r.via]));
    const added: string[] = [];
    const removed: string[] = [];
    for (const [cidr, via] of want) {
      if (have.get(cidr) === via) continue;
      await this.run('ip', ['route', 'replace', cidr, 'via', via, 'proto', this.proto]);
      added.push(cidr);
    }
    for (const cidr of have.keys()) {
      if (want.has(cidr)) continue;
      await this.run('ip', ['route', 'del', cidr, 'proto', this.proto], { allowFailure: true });
      removed.push(cidr);
    }
    return { added, removed };
  }
}
