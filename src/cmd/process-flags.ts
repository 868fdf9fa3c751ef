/**
 * What the long-running commands (`up`, `server`, `agent`) share: splitting global options from the
 * command, durations as flags, the control-plane timing flags, and a stop signal tied to SIGINT/SIGTERM.
 */
import { setMaxListeners } from 'node:events';
import { Command, Option } from 'commander';
import { DEFAULT_NODE_PORT_RANGE, DEFAULT_SERVICE_CIDR } from '../apiserver/service-allocations.js';
import { DEFAULT_CLUSTER_CIDR } from '../controllers/node-ipam/node-ipam-controller.js';
import { assertNoOverlap, formatCidr, parseCidr } from '../lib/cidr.js';
import { invalid } from '../lib/errors.js';

/** The commands that run as processes of their own (loaded from a bundle apart from the CLI's). */
export const DAEMON_COMMANDS = ['up', 'down', 'server', 'agent'] as const;
export type DaemonCommand = (typeof DAEMON_COMMANDS)[number];

const GLOBAL_WITH_VALUE = new Set(['--data-dir', '--log-level']);

/** Splits `[global options] <command> [options]`; undefined when the command is not one of `commands`. */
export function commandArgv<C extends string>(argv: string[], commands: readonly C[]): { command: C; args: string[] } | undefined {
  const globals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if ((commands as readonly string[]).includes(a)) return { command: a as C, args: [...globals, ...argv.slice(i + 1)] };
    if (GLOBAL_WITH_VALUE.has(a)) {
      globals.push(a, argv[i + 1] ?? '');
      i++;
    } else if ([...GLOBAL_WITH_VALUE].some((g) => a.startsWith(`${g}=`))) {
      globals.push(a);
    } else {
      return undefined;
    }
  }
  return undefined;
}

/** "500ms", "20s", "5m", "1h" or plain seconds ("30") -> milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw invalid(`--${flag} takes a duration such as 500ms, 20s or 5m, not "${text}"`);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  return Math.round(n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit]!);
}

/** Control-plane timing (Kubernetes' kube-controller-manager flags). */
export interface ControlPlaneTiming {
  /** A node whose lease went unrenewed this long becomes NotReady (default 20 s). */
  nodeMonitorGracePeriodMs: number;
  /** How often nodes are checked (default 2 s). */
  nodeMonitorPeriodMs: number;
  /** How long pods stay on a NotReady node under the default tolerations (default 5 s). */
  podEvictionTimeoutMs: number;
  /** Leader election: lease duration, renew deadline, retry period (default 15 s, 10 s, 2 s). */
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export const DEFAULT_CONTROL_PLANE_TIMING: ControlPlaneTiming = {
  nodeMonitorGracePeriodMs: 20_000,
  nodeMonitorPeriodMs: 2_000,
  podEvictionTimeoutMs: 5_000,
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
};

/**
 * The longest time from a node's last lease renewal until its pods are deleted for recreation elsewhere:
 * the grace period, one monitor period to notice, and the eviction timeout (plus one monitor period until
 * the eviction pass runs). With the defaults: 20 + 2 + 5 + 2 = 29 s, within the 30 s promised.
 */
export function evictionBoundMs(t: ControlPlaneTiming): number {
  return t.nodeMonitorGracePeriodMs + 2 * t.nodeMonitorPeriodMs + t.podEvictionTimeoutMs;
}

/** Adds the control-plane timing flags to a command. */
export function withControlPlaneFlags(cmd: Command): Command {
  const d = DEFAULT_CONTROL_PLANE_TIMING;
  const s = (ms: number) => `${ms / 1000}s`;
  return cmd
    .addOption(new Option('--node-monitor-grace-period <duration>', 'a node whose lease is this old becomes NotReady').default(s(d.nodeMonitorGracePeriodMs)))
    .addOption(new Option('--node-monitor-period <duration>', 'how often node leases are checked').default(s(d.nodeMonitorPeriodMs)))
    .addOption(new Option('--pod-eviction-timeout <duration>', 'how long pods stay on a NotReady node before they are recreated elsewhere').default(s(d.podEvictionTimeoutMs)))
    .addOption(new Option('--leader-elect-lease-duration <duration>', 'leader election: how long a leader\'s lease lasts').default(s(d.leaseDurationMs)))
    .addOption(new Option('--leader-elect-renew-deadline <duration>', 'leader election: a leader that could not renew this long steps down').default(s(d.renewDeadlineMs)))
    .addOption(new Option('--leader-elect-retry-period <duration>', 'leader election: how often candidates try').default(s(d.retryPeriodMs)))
    .addOption(new Option('--cluster-cidr <cidr>', 'pod addresses: each node gets a /24 of it').default(DEFAULT_CLUSTER_NETWORK.clusterCidr))
    .addOption(new Option('--service-cidr <cidr>', 'Service ClusterIPs (its tenth address is the cluster DNS)').default(DEFAULT_CLUSTER_NETWORK.serviceCidr))
    .addOption(new Option('--service-node-port-range <from-to>', 'NodePorts').default(DEFAULT_CLUSTER_NETWORK.nodePortRange.join('-')));
}

/** The cluster's address plan (k3s's defaults). */
export interface ClusterNetwork {
  clusterCidr: string;
  serviceCidr: string;
  nodePortRange: [number, number];
}

export const DEFAULT_CLUSTER_NETWORK: ClusterNetwork = { clusterCidr: DEFAULT_CLUSTER_CIDR, serviceCidr: DEFAULT_SERVICE_CIDR, nodePortRange: DEFAULT_NODE_PORT_RANGE };

/** Reads the address-plan flags: the two ranges must be IPv4 CIDRs that do not overlap. */
export function clusterNetwork(o: Record<string, string>): ClusterNetwork {
  const clusterCidr = formatCidr(parseCidr(o.clusterCidr ?? DEFAULT_CLUSTER_NETWORK.clusterCidr));
  const serviceCidr = formatCidr(parseCidr(o.serviceCidr ?? DEFAULT_CLUSTER_NETWORK.serviceCidr));
  assertNoOverlap({ '--cluster-cidr': clusterCidr, '--service-cidr': serviceCidr });
  if (parseCidr(clusterCidr).prefix > 24) throw invalid(`--cluster-cidr ${clusterCidr} is too small: nodes get a /24 each`);
  if (parseCidr(serviceCidr).prefix > 28) throw invalid(`--service-cidr ${serviceCidr} is too small: at least a /28 (its tenth address is the cluster DNS)`);
  const m = /^(\d+)-(\d+)$/.exec(o.serviceNodePortRange ?? DEFAULT_CLUSTER_NETWORK.nodePortRange.join('-'));
  const range: [number, number] = m ? [Number(m[1]), Number(m[2])] : [NaN, NaN];
  if (!m || range[0] < 1 || range[1] > 65535 || range[0] > range[1]) throw invalid(`invalid --service-node-port-range "${o.serviceNodePortRange}": FROM-TO, e.g. 30000-32767`);
  return { clusterCidr, serviceCidr, nodePortRange: range };
}

/** Reads the control-plane timing flags added by withControlPlaneFlags. */
export function controlPlaneTiming(o: Record<string, string>): ControlPlaneTiming {
  return {
    nodeMonitorGracePeriodMs: parseDuration(o.nodeMonitorGracePeriod!, 'node-monitor-grace-period'),
    nodeMonitorPeriodMs: parseDuration(o.nodeMonitorPeriod!, 'node-monitor-period'),
    podEvictionTimeoutMs: parseDuration(o.podEvictionTimeout!, 'pod-eviction-timeout'),
    leaseDurationMs: parseDuration(o.leaderElectLeaseDuration!, 'leader-elect-lease-duration'),
    renewDeadlineMs: parseDuration(o.leaderElectRenewDeadline!, 'leader-elect-renew-deadline'),
    retryPeriodMs: parseDuration(o.leaderElectRetryPeriod!, 'leader-elect-retry-period'),
  };
}

/**
 * How long a server or `nubis up` may take to stop after SIGTERM (Kubernetes' components take up to a
 * minute; Nubis has nothing that needs more than a few seconds). Past it the process exits anyway.
 */
export const SHUTDOWN_GRACE_MS = 5_000;

/** An AbortSignal that aborts on the first SIGINT or SIGTERM (a second one exits at once). */
export function stopSignal(): AbortSignal {
  const abort = new AbortController();
  setMaxListeners(0, abort.signal);
  const onSignal = (sig: NodeJS.Signals) => {
    if (abort.signal.aborted) {
      process.stderr.write(`nubis: ${sig} again: exiting now\n`);
      process.exit(130);
    }
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return abort.signal;
}

/** Runs a shutdown, waiting for it at most `graceMs`: whether it finished in time. */
export async function closeWithin(close: () => Promise<void>, graceMs = SHUTDOWN_GRACE_MS): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), graceMs)));
  try {
    return await Promise.race([close().then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves when `signal` aborts. */
export function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
}

/** A commander program that throws instead of exiting, with the root's global options. */
export function daemonProgram(name: string, description: string): Command {
  return new Command(name)
    .description(description)
    .option('--data-dir <dir>', 'where all state lives (env NUBIS_DATA_DIR, default /var/lib/nubis)')
    .option('--log-level <level>', 'debug, info, warn or error', 'info')
    .exitOverride();
}
