import type { Host } from '../host/host.js';
import { internal } from '../lib/errors.js';
import { netnsRunner, type NetnsRunner } from './netns-runner.js';
import { portId, validateHostPorts, validateServices, type HostPortRule, type ServiceRule } from './service-rules.js';

export interface IptablesServiceRulesOptions {
  host: Host;
  netns?: string;
  /** iptables-restore binary (default iptables-restore; iptables-legacy-restore where nf_tables is missing). */
  restore?: string;
  /** The matching iptables binary, used to hook our chains into the built-in ones. */
  iptables?: string;
  masqMark?: number;
  serviceCidr?: string;
  nodePortRange?: [number, number];
}

const SERVICES = 'NUBIS-SERVICES';
const NODEPORTS = 'NUBIS-NODEPORTS';
const HOSTPORTS = 'NUBIS-HOSTPORTS';
const POST = 'NUBIS-POSTROUTING';
const REJECT = 'NUBIS-REJECT';

/**
 * The fallback of `ServiceRules` for hosts without nftables: the same service model as iptables chains
 * in the nat table (a chain per service port choosing an endpoint chain with `statistic` probabilities,
 * `recent` lists for ClientIP affinity, NodePorts on local addresses, hairpin and NodePort connections
 * marked for masquerade) and a filter chain rejecting services without endpoints. iptables has no
 * transactions over sets, so every change rewrites all our chains with one `iptables-restore --noflush`
 * (atomic per table), and chains no longer wanted are deleted in the same restore.
 */
export class IptablesServiceRules {
  readonly backend = 'iptables' as const;
  private readonly run: NetnsRunner;
  private readonly mark: string;
  private readonly applied = new Map<string, ServiceRule>();
  private chains = new Set<string>();
  private hooked = false;
  private hostPorts: HostPortRule[] = [];

  constructor(private readonly opts: IptablesServiceRulesOptions) {
    this.run = netnsRunner(opts.host, opts.netns);
    this.mark = '0x' + (opts.masqMark ?? 0x4000).toString(16);
  }

  /** The iptables-restore input for `services`, deleting the chains in `stale`. */
  render(services: ServiceRule[], stale: Iterable<string> = []): { script: string; chains: Set<string> } {
    const nat: string[] = [];
    const chains = new Set([SERVICES, HOSTPORTS, NODEPORTS, POST]);
    const rules: string[] = [`-A ${POST} -m mark --mark ${this.mark}/${this.mark} -j MASQUERADE`];
    const rejects: string[] = [];
    for (const h of this.hostPorts) {
      const l4 = h.protocol.toLowerCase();
      const match = `-p ${l4} -m ${l4} --dport ${h.hostPort}`;
      rules.push(`-A ${HOSTPORTS} -s ${h.podIP}/32 ${match} -j MARK --or-mark ${this.mark}`, `-A ${HOSTPORTS} ${match} -j DNAT --to-destination ${h.podIP}:${h.containerPort}`);
    }
    for (const s of services) {
      if (!s.clusterIP || s.clusterIP === 'None') continue;
      const affinity = s.sessionAffinity === 'ClientIP';
      for (const p of s.ports) {
        const id = portId(s.key, p).toUpperCase();
        const l4 = p.protocol.toLowerCase();
        const match = `-d ${s.clusterIP}/32 -p ${l4} -m ${l4} --dport ${p.port}`;
        const ready = p.endpoints.filter((e) => e.ready);
        if (ready.length === 0) {
          rejects.push(`-A ${REJECT} ${match} -j REJECT`);
          continue;
        }
        const svc = `NUBIS-SVC-${id}`;
        chains.add(svc);
        rules.push(`-A ${SERVICES} ${match} -j ${svc}`);
        if (s.masquerade) rules.push(`-A ${svc} -j MARK --or-mark ${this.mark}`);
        if (p.nodePort) {
          const np = `NUBIS-NP-${id}`;
          chains.add(np);
          rules.push(`-A ${NODEPORTS} -p ${l4} -m ${l4} --dport ${p.nodePort} -j ${np}`);
          rules.push(`-A ${np} -j MARK --or-mark ${this.mark}`, `-A ${np} -j ${svc}`);
        }
        const seps = ready.map((e, i) => ({ e, name: `NUBIS-SEP-${id}-${i}` }));
        if (affinity) {
          const secs = s.affinityTimeoutSeconds ?? 10800;
          for (const { name } of seps) rules.push(`-A ${svc} -m recent --name ${name} --rcheck --seconds ${secs} --reap -j ${name}`);
        }
        seps.forEach(({ e, name }, i) => {
          chains.add(name);
          const left = seps.length - i;
          rules.push(left > 1 ? `-A ${svc} -m statistic --mode random --probability ${(1 / left).toFixed(10)} -j ${name}` : `-A ${svc} -j ${name}`);
          rules.push(`-A ${name} -s ${e.ip}/32 -j MARK --or-mark ${this.mark}`);
          if (affinity) rules.push(`-A ${name} -m recent --name ${name} --set`);
          rules.push(`-A ${name} -p ${l4} -j DNAT --to-destination ${e.ip}:${e.port}`);
        });
      }
    }
    rules.push(
      `-A ${SERVICES} -m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j ${HOSTPORTS}`,
      `-A ${SERVICES} -m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j ${NODEPORTS}`,
    );
    const gone = [...stale].filter((c) => !chains.has(c));
    nat.push('*nat', ...[...chains, ...gone].map((c) => `:${c} - [0:0]`), ...rules, ...gone.map((c) => `-X ${c}`), 'COMMIT');
    const filter = ['*filter', `:${REJECT} - [0:0]`, ...rejects, 'COMMIT'];
    return { script: [...nat, ...filter].join('\n') + '\n', chains };
  }

  async sync(services: ServiceRule[]): Promise<void> {
    validateServices(services, this.opts, this.hostPorts);
    await this.hook();
    // A restarted agent does not know its earlier chains: find them in the table.
    const stale = this.chains.size ? this.chains : await this.existingChains();
    const { script, chains } = this.render(services, stale);
    await this.restore(script);
    this.chains = chains;
    this.applied.clear();
    for (const s of services) this.applied.set(s.key, s);
  }

  /** Replaces every hostPort rule of the node (see `ServiceRules.setHostPorts`). */
  async setHostPorts(list: HostPortRule[]): Promise<void> {
    validateHostPorts(list, this.applied.values());
    const before = this.hostPorts;
    this.hostPorts = [...list];
    try {
      await this.sync([...this.applied.values()]);
    } catch (err) {
      this.hostPorts = before;
      throw err;
    }
  }

  async update(service: ServiceRule): Promise<void> {
    const next = [...this.applied.values()].filter((s) => s.key !== service.key);
    await this.sync([...next, service]);
  }

  async remove(key: string): Promise<void> {
    if (!this.applied.has(key)) return;
    await this.sync([...this.applied.values()].filter((s) => s.key !== key));
  }

  /** Removes every chain and hook of ours. */
  async clear(): Promise<void> {
    const ipt = this.opts.iptables ?? 'iptables';
    for (const [table, chain, target] of this.hooks()) {
      await this.run(ipt, ['-w', '-t', table, '-D', chain, '-j', target], { allowFailure: true });
    }
    const chains = await this.existingChains();
    const nat = ['*nat', ...[...chains].map((c) => `:${c} - [0:0]`), ...[...chains].map((c) => `-X ${c}`), 'COMMIT'];
    await this.restore([...nat, '*filter', `:${REJECT} - [0:0]`, `-X ${REJECT}`, 'COMMIT'].join('\n') + '\n');
    this.chains.clear();
    this.applied.clear();
    this.hostPorts = [];
    this.hooked = false;
  }

  private hooks(): [string, string, string][] {
    return [
      ['nat', 'PREROUTING', SERVICES],
      ['nat', 'OUTPUT', SERVICES],
      ['nat', 'POSTROUTING', POST],
      ['filter', 'FORWARD', REJECT],
      ['filter', 'OUTPUT', REJECT],
    ];
  }

  /** Jumps from the built-in chains to ours, added once (our chains must exist first). */
  private async hook(): Promise<void> {
    if (this.hooked) return;
    await this.restore(['*nat', `:${SERVICES} - [0:0]`, `:${HOSTPORTS} - [0:0]`, `:${NODEPORTS} - [0:0]`, `:${POST} - [0:0]`, 'COMMIT', '*filter', `:${REJECT} - [0:0]`, 'COMMIT'].join('\n') + '\n');
    const ipt = this.opts.iptables ?? 'iptables';
    for (const [table, chain, target] of this.hooks()) {
      const has = await this.run(ipt, ['-w', '-t', table, '-C', chain, '-j', target], { allowFailure: true });
      if (has.code !== 0) await this.run(ipt, ['-w', '-t', table, '-I', chain, '1', '-j', target]);
    }
    this.hooked = true;
  }

  private async existingChains(): Promise<Set<string>> {
    const res = await this.run(this.opts.iptables ?? 'iptables', ['-w', '-t', 'nat', '-S'], { allowFailure: true });
    const out = new Set<string>();
    for (const line of res.stdout.split('\n')) {
      const m = /^-N (NUBIS-\S+)/.exec(line);
      if (m) out.add(m[1]!);
    }
    return out;
  }

  private async restore(script: string): Promise<void> {
    const res = await this.run(this.opts.restore ?? 'iptables-restore', ['-w', '--noflush'], { input: script, allowFailure: true });
    if (res.code !== 0) throw internal(`iptables-restore refused the service rules: ${res.stderr.split('\n').slice(0, 3).join(' ').trim()}`);
  }
}
