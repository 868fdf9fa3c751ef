/**
 * Pods speak only with their own address. A bridge-family nftables table drops, at the bridge port
 * where a pod's frames enter, IPv4 and ARP whose sender address is not the one the pod was given (a
 * pod with CAP_NET_RAW or NET_ADMIN could otherwise pose as another tenant's pod), and all IPv6 (pods
 * have none; link-local IPv6 would pass between pods of a bridge below every IPv4 rule). Fail closed: a
 * port of ours with no entry sends nothing.
 */
import { nftApply, type NetnsRunner } from './netns-runner.js';

export class SourceGuard {
  readonly table: string;

  constructor(
    private readonly run: NetnsRunner,
    /** Host-side port names of pods start with this (the bridge plugin's veth prefix). */
    private readonly portPrefix: string,
    bridge: string,
  ) {
    this.table = `bridge nubis-guard-${bridge}`;
  }

  /** Makes the table (again: safe to repeat; entries stay). */
  async ensure(): Promise<void> {
    const t = this.table;
    const port = `iifname "${this.portPrefix}*"`;
    await nftApply(
      this.run,
      [
        `add table ${t}`,
        `add set ${t} pod-sources { type ifname . ipv4_addr; }`,
        `add chain ${t} prerouting { type filter hook prerouting priority -300; policy accept; }`,
        `flush chain ${t} prerouting`,
        `add rule ${t} prerouting ${port} ether type ip iifname . ip saddr != @pod-sources drop`,
        `add rule ${t} prerouting ${port} ether type arp iifname . arp saddr ip != @pod-sources drop`,
        `add rule ${t} prerouting ${port} ether type ip6 drop`,
      ].join('\n') + '\n',
      'pod source guard',
    );
  }

  /** Lets the pod behind `port` send as `ip`. */
  allow(port: string, ip: string): Promise<void> {
    return nftApply(this.run, `add element ${this.table} pod-sources { "${port}" . ${ip} }\n`, 'pod source entry');
  }

  /** Forgets a pod's entry (a missing one is fine). */
  async forget(port: string, ip: string): Promise<void> {
    await this.run('nft', ['delete', 'element', ...this.table.split(' '), 'pod-sources', `{ "${port}" . ${ip} }`], { allowFailure: true });
  }

  /** Exactly these entries (after an agent restart). */
  reset(entries: Array<[port: string, ip: string]>): Promise<void> {
    const elems = entries.map(([p, ip]) => `"${p}" . ${ip}`);
    return nftApply(this.run, `flush set ${this.table} pod-sources\n${elems.length ? `add element ${this.table} pod-sources { ${elems.join(', ')} }\n` : ''}`, 'pod source entries');
  }

  /** Removes the table (the node's networking goes away). */
  async remove(): Promise<void> {
    await this.run('nft', ['delete', 'table', ...this.table.split(' ')], { allowFailure: true });
  }
}
