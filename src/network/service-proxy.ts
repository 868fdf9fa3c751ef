import { isNubisError } from '../lib/errors.js';
import { logger } from '../lib/log.js';
import { IptablesServiceRules } from './iptables-service-rules.js';
import { netnsRunner } from './netns-runner.js';
import { ServiceRules, type HostPortRule, type ServiceRule, type ServiceRulesOptions } from './service-rules.js';

const log = logger('network');

/** What the agent drives: the kernel rules of every Service on this node. */
export interface ServiceProxy {
  readonly backend: 'nftables' | 'iptables';
  /** Replaces every rule (start-up, restart, periodic resync). */
  sync(services: ServiceRule[]): Promise<void>;
  /** Adds or changes one service. */
  update(service: ServiceRule): Promise<void>;
  remove(key: string): Promise<void>;
  /** Replaces every hostPort of the node's pods. */
  setHostPorts(list: HostPortRule[]): Promise<void>;
  /** Removes every rule and chain of ours. */
  clear(): Promise<void>;
}

/**
 * Picks nftables when the `nft` tool works in the node's namespace, else the iptables fallback
 * (`prefer` forces one).
 */
export async function createServiceProxy(opts: ServiceRulesOptions, prefer?: 'nftables' | 'iptables'): Promise<ServiceProxy> {
  let backend = prefer;
  if (!backend) {
    const probe = await netnsRunner(opts.host, opts.netns)('nft', ['list', 'tables'], { allowFailure: true }).catch((err: unknown) => {
      if (isNubisError(err, 'Unavailable')) return undefined;
      throw err;
    });
    backend = probe?.code === 0 ? 'nftables' : 'iptables';
    if (backend === 'iptables') log.info('nft is missing or refused: services use the iptables fallback');
  }
  if (backend === 'nftables') return new ServiceRules(opts);
  return new IptablesServiceRules({ host: opts.host, netns: opts.netns, masqMark: opts.masqMark, serviceCidr: opts.serviceCidr, nodePortRange: opts.nodePortRange });
}

