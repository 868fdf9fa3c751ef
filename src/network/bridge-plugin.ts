import { createHash } from 'node:crypto';
import type { Host } from '../host/host.js';
import { isNubisError, messageOf, NubisError } from '../lib/errors.js';
import { logger } from '../lib/log.js';
import { gatewayIp } from '../lib/cidr.js';
import { NodeIpam } from './ipam.js';
import { ipBatch, netnsRunner, type NetnsRunner } from './netns-runner.js';
import { SourceGuard } from './source-guard.js';

const log = logger('network');

/** The sandbox the plugin wires up (the agent's PodNetns, restated: network/ may not import agent/). */
export interface PodSandboxRef {
  podUid: string;
  namespace: string;
  name: string;
  netnsPath: string;
}

export interface BridgePluginOptions {
  host: Host;
  /** This node's pod range, assigned by the control plane (e.g. 10.42.3.0/24). */
  podRange: string;
  /** Where the node's address allocations persist (one file per address). */
  ipamDir: string;
  /** Bridge name (default nubis0); tests pick their own. */
  bridge?: string;
  /** Prefix of host-side veth names (default "nv"); names are prefix + pod uid hash, at most 15 chars. */
  vethPrefix?: string;
  /** The node's network namespace when it is not ours (tests run each node in its own namespace). */
  nodeNetns?: string;
  mtu?: number;
  /** Turn on IPv4 forwarding in the node namespace (default true; pods need it to leave the node). */
  enableForwarding?: boolean;
}

/**
 * Pod networking over a node bridge: the bridge holds the range's gateway address; each pod gets a veth
 * pair whose peer becomes eth0 in the sandbox with an address from the node range, loopback up and a
 * default route via the gateway. Structurally an agent `NetworkPlugin`.
 */
export class BridgePlugin {
  readonly name = 'bridge';
  readonly ipam: NodeIpam;
  readonly bridge: string;
  private readonly host: Host;
  private readonly node: NetnsRunner;
  private readonly prefix: string;
  private readonly gateway: string;
  private readonly prefixLen: number;
  private bridgeReady: Promise<void> | undefined;
  private readonly guard: SourceGuard;

  constructor(private readonly opts: BridgePluginOptions) {
    this.host = opts.host;
    this.ipam = new NodeIpam(opts.ipamDir, opts.podRange);
    this.bridge = opts.bridge ?? 'nubis0';
    this.prefix = opts.vethPrefix ?? 'nv';
    if (this.bridge.length > 15) throw new NubisError('Invalid', `bridge name "${this.bridge}" is longer than 15 characters`);
    if (this.prefix.length > 5) throw new NubisError('Invalid', `veth prefix "${this.prefix}" is longer than 5 characters`);
    this.node = netnsRunner(opts.host, opts.nodeNetns);
    this.guard = new SourceGuard(this.node, this.prefix, this.bridge);
    this.gateway = gatewayIp(this.ipam.range);
    this.prefixLen = this.ipam.range.prefix;
  }

  /** The host-side veth name of a pod: prefix + hash of its uid, at most 15 characters. */
  vethName(podUid: string): string {
    return this.prefix + createHash('sha256').update(podUid).digest('hex').slice(0, 15 - this.prefix.length);
  }

  /** Creates the bridge with the gateway address (once; safe to repeat). */
  ensureBridge(): Promise<void> {
    this.bridgeReady ??= this.makeBridge().catch((err) => {
      this.bridgeReady = undefined;
      throw err;
    });
    return this.bridgeReady;
  }

  private async makeBridge(): Promise<void> {
    const shown = await this.node('ip', ['link', 'show', 'dev', this.bridge], { allowFailure: true });
    const lines = shown.code === 0 ? [] : [`link add ${this.bridge} type bridge`];
    lines.push(
      `addr replace ${this.gateway}/${this.prefixLen} dev ${this.bridge}`,
      `link set ${this.bridge} up`,
    );
    await ipBatch(this.node, lines);
    await this.guard.ensure();
    if (this.opts.enableForwarding ?? true) await this.node('sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
  }

  async setUp(sandbox: PodSandboxRef): Promise<{ ips: string[] }> {
    await this.ensureBridge();
    const veth = this.vethName(sandbox.podUid);
    const pod = netnsRunner(this.host, sandbox.netnsPath);
    const ip = await this.ipam.allocate(sandbox.podUid);
    try {
      await this.guard.allow(veth, ip);
      const mtu = this.opts.mtu ? ` mtu ${this.opts.mtu}` : '';
      const hostSide = [
        `link add ${veth}${mtu} type veth peer name eth0 netns ${sandbox.netnsPath}`,
        `link set dev ${veth} master ${this.bridge}`,
        // Hairpin: a pod reaching a Service that picks the pod itself.
        `link set dev ${veth} type bridge_slave hairpin on`,
        `link set dev ${veth} up`,
      ];
      // The usual case (a new sandbox) takes two execs; only when that fails is the pod looked at: it may
      // be set up already (an agent restart) or hold a veth of an earlier attempt, which goes.
      const made = await this.node('ip', ['-batch', '-'], { input: hostSide.join('\n') + '\n', allowFailure: true });
      if (made.code !== 0) {
        if (await this.alreadySetUp(veth, pod, ip)) return { ips: [ip] };
        await this.node('ip', ['link', 'del', 'dev', veth], { allowFailure: true });
        await ipBatch(this.node, hostSide);
      }
      await ipBatch(pod, [
        'link set lo up',
        `addr add ${ip}/${this.prefixLen} dev eth0`,
        'link set eth0 up',
        `route replace default via ${this.gateway} dev eth0`,
      ]);
      log.debug(`pod ${sandbox.namespace}/${sandbox.name} has ${ip} on ${veth}`);
      return { ips: [ip] };
    } catch (err) {
      await this.node('ip', ['link', 'del', 'dev', veth], { allowFailure: true }).catch(() => {});
      await this.guard.forget(veth, ip).catch(() => {});
      await this.ipam.release(sandbox.podUid);
      const code = isNubisError(err) ? err.code : 'Internal';
      throw new NubisError(code, `cannot set up the network of pod ${sandbox.namespace}/${sandbox.name}: ${messageOf(err)}`, { cause: err });
    }
  }

  private async alreadySetUp(veth: string, pod: NetnsRunner, ip: string): Promise<boolean> {
    const hostSide = await this.node('ip', ['link', 'show', 'dev', veth], { allowFailure: true });
    if (hostSide.code !== 0) return false;
    const addr = await pod('ip', ['-4', '-o', 'addr', 'show', 'dev', 'eth0'], { allowFailure: true });
    return addr.code === 0 && addr.stdout.includes(` ${ip}/${this.prefixLen} `);
  }

  /** Removes the pod's veth pair (deleting the host side removes both) and releases its address. */
  async tearDown(sandbox: { podUid: string; namespace: string; name: string }): Promise<void> {
    const veth = this.vethName(sandbox.podUid);
    await this.node('ip', ['link', 'del', 'dev', veth], { allowFailure: true });
    const ip = await this.ipam.addressOf(sandbox.podUid);
    if (ip) await this.guard.forget(veth, ip);
    await this.ipam.release(sandbox.podUid);
  }

  /**
   * Removes what pods no longer alive left behind (after an agent restart): their addresses and any veth
   * of ours that belongs to no live pod. Returns the addresses released.
   */
  async reclaim(livePodUids: Iterable<string>): Promise<string[]> {
    const live = new Set(livePodUids);
    const keep = new Set([...live].map((u) => this.vethName(u)));
    const links = await this.node('ip', ['-o', 'link', 'show', 'type', 'veth'], { allowFailure: true });
    for (const line of links.stdout.split('\n')) {
      const name = /^\d+:\s+([^:@\s]+)/.exec(line)?.[1];
      if (name && name.startsWith(this.prefix) && name.length === 15 && !keep.has(name)) {
        await this.node('ip', ['link', 'del', 'dev', name], { allowFailure: true });
      }
    }
    const released = await this.ipam.reclaim(live);
    const held = [...(await this.ipam.list())].filter(([, owner]) => live.has(owner)).map(([ip, owner]): [string, string] => [this.vethName(owner), ip]);
    await this.guard.reset(held);
    return released;
  }

  /** Whether any pod's veth is still on the bridge. */
  async hasPods(): Promise<boolean> {
    const res = await this.node('ip', ['-o', 'link', 'show', 'master', this.bridge], { allowFailure: true });
    return res.code === 0 && res.stdout.trim() !== '';
  }

  /** Removes the bridge (node shutdown, tests). Pods' veths go with it only if already torn down. */
  async removeBridge(): Promise<void> {
    this.bridgeReady = undefined;
    await this.node('ip', ['link', 'del', 'dev', this.bridge], { allowFailure: true });
    await this.guard.remove();
  }
}
