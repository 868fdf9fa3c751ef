/**
 * Node IPAM: gives every Node a pod range (spec.podCIDR and spec.podCIDRs) cut from the cluster CIDR
 * (default 10.42.0.0/16 in /24s, as k3s). Ranges already on nodes are respected, including ranges set by
 * hand; a range goes back to the pool when its node is deleted. When the cluster CIDR is exhausted the
 * node gets a CIDRNotAvailable event and its agent keeps waiting, its pods Pending.
 */
import type { Node } from '../../api/core/v1/node.js';
import type { Informer } from '../../client/informer.js';
import { allocateSubnet, formatCidr, parseCidr, type Cidr } from '../../lib/cidr.js';
import { invalid, isNubisError } from '../../lib/errors.js';
import { logger } from '../../lib/log.js';
import { type Controller, type ControllerDeps, runController } from '../controller.js';
import { NODES } from '../resources.js';
import { type ReconcileResult, WorkQueue } from '../work-queue.js';

const log = logger('node-ipam-controller');

export const DEFAULT_CLUSTER_CIDR = '10.42.0.0/16';

export interface NodeIpamOptions {
  clusterCidr?: string;
  /** Prefix length of each node's range (default 24). */
  nodeMaskSize?: number;
}

export class NodeIpamController implements Controller {
  readonly name = 'nodeipam';
  readonly queue = new WorkQueue();
  private readonly nodes: Informer<Node>;
  private readonly cluster: Cidr;
  private readonly mask: number;
  /** Ranges this controller gave out that the cache may not show yet (node name -> range). */
  private readonly given = new Map<string, string>();

  constructor(
    private readonly deps: ControllerDeps,
    opts: NodeIpamOptions = {},
  ) {
    this.cluster = parseCidr(opts.clusterCidr ?? DEFAULT_CLUSTER_CIDR);
    this.mask = opts.nodeMaskSize ?? 24;
    if (this.mask < this.cluster.prefix || this.mask > 30) {
      throw invalid(`node range size /${this.mask} does not fit the cluster CIDR ${formatCidr(this.cluster)} (between /${this.cluster.prefix} and /30)`);
    }
    this.nodes = deps.informers.get<Node>(NODES);
    // A node that goes frees its range: nodes still waiting for one try again at once.
    const waiting = () => {
      for (const n of this.nodes.cache.list()) if (!n.spec?.podCIDR) this.queue.add(n.metadata.name);
    };
    this.nodes.addHandlers({ add: (n) => this.queue.add(n.metadata.name), update: (_o, n) => this.queue.add(n.metadata.name), delete: waiting });
  }

  run(signal: AbortSignal): Promise<void> {
    return runController(this.deps, this.queue, signal, 1, (key) => this.sync(key), log);
  }

  /** Ranges on nodes in the cache, and those given out that the cache may not show yet. */
  private used(): string[] {
    const out: string[] = [];
    for (const [name, cidr] of this.given) {
      if (this.nodes.cache.get(name)?.spec?.podCIDR || !this.nodes.cache.get(name)) this.given.delete(name);
      else out.push(cidr);
    }
    for (const n of this.nodes.cache.list()) {
      for (const c of n.spec?.podCIDRs ?? (n.spec?.podCIDR ? [n.spec.podCIDR] : [])) {
        try {
          parseCidr(c);
          out.push(c);
        } catch {
          // not IPv4 or malformed: not ours to manage
        }
      }
    }
    return out;
  }

  async sync(name: string): Promise<ReconcileResult> {
    const node = this.nodes.cache.get(name);
    if (!node || node.spec?.podCIDR || node.metadata.deletionTimestamp) return;
    let cidr: string;
    try {
      cidr = allocateSubnet(formatCidr(this.cluster), this.mask, this.used());
    } catch (err) {
      if (!isNubisError(err, 'Invalid')) throw err;
      this.deps.recorder.event(node, 'Warning', 'CIDRNotAvailable', `Node ${name} status is now: CIDRNotAvailable (${err.message})`);
      return { requeueAfterMs: 30_000 };
    }
    // A merge patch on the main resource: the update fails nothing else the agent writes (status).
    this.given.set(name, cidr);
    try {
      await this.deps.client.patch(NODES, name, { spec: { podCIDR: cidr, podCIDRs: [cidr] } }, 'merge');
    } catch (err) {
      this.given.delete(name);
      throw err;
    }
    log.info(`node ${name} gets pod range ${cidr}`);
  }
}
