/**
 * End-to-end harness: Nubis as a user runs it — the built `bin/nubis` (run `npm run build` first) as
 * separate processes on this machine: one or more `nubis server` (SQLite, or several on one etcd) and
 * agents joined with the printed token and CA hash, each with its own data dir, node name and agent
 * port on 127.0.0.1. Short node-monitor, eviction and leader-election times are passed as flags.
 * `close` deletes every workload, waits until the agents removed their containers, stops every process
 * and checks that nothing of any data dir is left on the machine.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Pod } from '../../src/api/core/v1/pod-types.js';
import { connect } from '../../src/client/connect.js';
import type { ResourceInfo, RestClient } from '../../src/client/rest-client.js';
import { leftovers, snapshotHost, type HostSnapshot } from '../helpers/leaks.js';
import { eventually } from '../integration/apiserver/harness.js';
import { controlPlaneRefusals } from '../integration/controllers/harness.js';

export { eventually };

export const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
export const NUBIS = path.join(REPO, 'bin', 'nubis');
export const PODS: ResourceInfo = { group: '', version: 'v1', resource: 'pods', kind: 'Pod', namespaced: true };
export const NODES: ResourceInfo = { group: '', version: 'v1', resource: 'nodes', kind: 'Node', namespaced: false };
export const DEPLOYMENTS: ResourceInfo = { group: 'apps', version: 'v1', resource: 'deployments', kind: 'Deployment', namespaced: true };

/** The short control-plane times of the tests (the defaults are checked in src/cmd/process-flags.test.ts). */
export const FAST_SERVER_FLAGS = [
  '--node-monitor-grace-period', '4s', '--node-monitor-period', '1s', '--pod-eviction-timeout', '2s',
  '--leader-elect-lease-duration', '4s', '--leader-elect-renew-deadline', '3s', '--leader-elect-retry-period', '1s',
];
const FAST_AGENT_FLAGS = ['--lease-interval', '1s', '--status-interval', '1s'];
/** Agents sharing this machine's network namespace cannot each own the node bridge: loopback-only pods. */
const SHARED_NETNS_FLAGS = ['--pod-network', 'none'];

/** Fails clearly when the CLI has not been built (e2e tests run what users run). */
export function requireBuild(): void {
  const bundle = path.join(REPO, 'dist', 'daemons.cjs');
  if (!existsSync(bundle)) throw new Error('dist/ is missing: the e2e tests run the built CLI; run `npm run build` first');
  const newest = statSync(path.join(REPO, 'src', 'cmd', 'up.ts')).mtimeMs;
  if (statSync(bundle).mtimeMs < newest) throw new Error('dist/ is older than src/cmd: run `npm run build` first');
}

/** One Nubis process with its output collected. */
export class NubisProcess {
  out = '';
  readonly exited: Promise<number | null>;
  readonly proc: ChildProcess;

  /** `netns`: run inside that network namespace (only the network: mounts and cgroups stay the host's). */
  constructor(readonly name: string, args: string[], netns?: string) {
    const [cmd, argv] = netns ? ['nsenter', [`--net=/run/netns/${netns}`, NUBIS, ...args]] : [NUBIS, args];
    this.proc = spawn(cmd, argv as string[], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KUBECONFIG: '' } });
    this.proc.stdout!.on('data', (c: Buffer) => (this.out += c.toString()));
    this.proc.stderr!.on('data', (c: Buffer) => (this.out += c.toString()));
    this.exited = new Promise((resolve) => this.proc.on('exit', (code) => resolve(code)));
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Waits until the output matches (fails early if the process exits). */
  async waitFor(re: RegExp, ms = 60_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = this.out.match(re);
      if (m) return m;
      if (!this.running) throw new Error(`${this.name} exited: ${this.out.slice(-2000)}`);
      if (Date.now() > deadline) throw new Error(`${this.name}: no ${re} within ${ms} ms: ${this.out.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.running) this.proc.kill(signal);
    await this.exited;
  }
}

export interface ServerInfo {
  dataDir: string;
  proc: NubisProcess;
  url: string;
  token: string;
  caHash: string;
}

export interface AgentInfo {
  name: string;
  dataDir: string;
  proc: NubisProcess;
}

export interface ClusterOptions {
  /** etcd endpoints (default: SQLite in the first server's data dir). */
  etcd?: string[];
  servers?: number;
  agents?: number;
  /**
   * Each agent in a network namespace of its own, joined to the server by a bridge the test makes
   * (10.250.<n>.0/24: server .1, agent i .11+i), with cluster networking (pod IPs, Services, DNS,
   * routes between the nodes). Without it, agents share this machine's namespace with loopback-only pods.
   */
  netns?: boolean;
}

/** The test network of a netns cluster: a bridge in this namespace, one namespace per node. */
export class TestNetwork {
  readonly bridge: string;
  readonly subnet: string;
  readonly namespaces: string[] = [];

  constructor(readonly tag: string, n: number) {
    this.bridge = `nbt${tag}`.slice(0, 15);
    this.subnet = `10.250.${n}`;
  }

  get serverIp(): string {
    return `${this.subnet}.1`;
  }

  nodeIp(i: number): string {
    return `${this.subnet}.${11 + i}`;
  }

  netns(i: number): string {
    return `nubis-e2e-${this.tag}-${i}`;
  }

  async up(): Promise<void> {
    await sh(`ip link add ${this.bridge} type bridge && ip addr add ${this.serverIp}/24 dev ${this.bridge} && ip link set ${this.bridge} up`);
  }

  /** A namespace for node `i` with eth0 on the bridge. */
  async addNode(i: number): Promise<string> {
    const ns = this.netns(i);
    const host = `nbv${this.tag}${i}`.slice(0, 15);
    await sh(`ip netns add ${ns}`);
    this.namespaces.push(ns);
    await sh(
      `ip link add ${host} type veth peer name eth0 netns ${ns} && ip link set ${host} master ${this.bridge} up && ` +
        `ip -n ${ns} link set lo up && ip -n ${ns} addr add ${this.nodeIp(i)}/24 dev eth0 && ip -n ${ns} link set eth0 up`,
    );
    return ns;
  }

  /** Runs a command inside node `i`'s namespace. */
  exec(i: number, command: string): Promise<string> {
    return sh(`ip netns exec ${this.netns(i)} ${command}`);
  }

  /** Deleting the namespaces removes everything in them (bridges, veths, rules); then the test bridge. */
  async down(): Promise<void> {
    for (const ns of this.namespaces) await sh(`ip netns delete ${ns}`).catch(() => undefined);
    await sh(`ip link del ${this.bridge}`).catch(() => undefined);
  }
}

function sh(command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('sh', ['-c', command], { timeout: 30_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${command}: ${stderr || err.message}`)) : resolve(stdout)));
  });
}

export class E2eCluster {
  servers: ServerInfo[] = [];
  agents: AgentInfo[] = [];
  client!: RestClient;
  readonly base = mkdtempSync(path.join(os.tmpdir(), 'nubis-e2e-'));
  readonly before: HostSnapshot = snapshotHost();
  readonly prefix = `/nubis-e2e-${process.pid}-${Date.now()}/`;
  readonly net: TestNetwork | undefined;

  private constructor(private readonly opts: ClusterOptions) {
    if (opts.netns) this.net = new TestNetwork(String(process.pid % 100000), 1 + (process.pid % 200));
  }

  static async start(opts: ClusterOptions = {}): Promise<E2eCluster> {
    requireBuild();
    const c = new E2eCluster(opts);
    try {
      await c.net?.up();
      for (let i = 0; i < (opts.servers ?? 1); i++) await c.startServer(i);
      c.client = (await connect({ flag: c.kubeconfig })).client;
      // Agents join the last server: the tests that kill a leader kill the first.
      for (let i = 0; i < (opts.agents ?? 3); i++) await c.startAgent(i);
    } catch (err) {
      await c.close().catch(() => undefined);
      throw err;
    }
    return c;
  }

  /** The admin kubeconfig of the server agents joined (servers after the first share its CA and tokens). */
  get kubeconfig(): string {
    return path.join(this.servers[this.servers.length - 1]!.dataDir, 'admin.kubeconfig');
  }

  /** Starts server `i` (again, on its data dir, when it ran before); `port` 0 picks a free one. */
  async startServer(i: number, port = 0): Promise<ServerInfo> {
    const dataDir = path.join(this.base, `server-${i}`);
    if (i > 0 && !this.servers[i]) {
      // A second server of the same cluster gets the first one's CA and tokens, as kubeadm copies them.
      const first = this.servers[0]!.dataDir;
      rmSync(dataDir, { recursive: true, force: true });
      for (const f of ['apiserver/pki/ca.crt', 'apiserver/pki/ca.key', 'apiserver/pki/service-account.key', 'apiserver/tokens.json', 'admin.kubeconfig', 'join-token']) {
        const to = path.join(dataDir, f);
        await import('node:fs/promises').then(async (fs) => {
          await fs.mkdir(path.dirname(to), { recursive: true, mode: 0o700 });
          await fs.copyFile(path.join(first, f), to);
        });
      }
    }
    const store = this.opts.etcd ? ['--etcd', this.opts.etcd.join(','), '--etcd-prefix', this.prefix] : [];
    const listen = this.net ? ['--listen', this.net.serverIp, '--advertise-address', this.net.serverIp] : ['--listen', '127.0.0.1'];
    const proc = new NubisProcess(`server-${i}`, ['--data-dir', dataDir, 'server', ...listen, '--port', String(port), ...store, ...FAST_SERVER_FLAGS]);
    // The token itself is never printed: the server names the file it is in.
    const m = await proc.waitFor(/--server (\S+) --token \$\(cat (\S+)\) --ca-cert-hash (\S+)/);
    const info = { dataDir, proc, url: m[1]!, token: readFileSync(m[2]!, 'utf8').trim(), caHash: m[3]! };
    this.servers[i] = info;
    return info;
  }

  /** Starts agent `i` (node e2e-node-<i>); joins with the token and CA hash the first time. */
  async startAgent(i: number): Promise<AgentInfo> {
    const s = this.servers[this.servers.length - 1]!;
    const name = `e2e-node-${i}`;
    const dataDir = path.join(this.base, `agent-${i}`);
    const join = existsSync(path.join(dataDir, 'agent.kubeconfig')) ? [] : ['--server', s.url, '--token', s.token, '--ca-cert-hash', s.caHash];
    let proc: NubisProcess;
    if (this.net) {
      const ns = this.net.namespaces.includes(this.net.netns(i)) ? this.net.netns(i) : await this.net.addNode(i);
      proc = new NubisProcess(name, ['--data-dir', dataDir, 'agent', ...join, '--node-name', name, '--address', this.net.nodeIp(i), '--port', '0', ...FAST_AGENT_FLAGS], ns);
    } else {
      proc = new NubisProcess(name, ['--data-dir', dataDir, 'agent', ...join, '--node-name', name, '--port', '0', ...FAST_AGENT_FLAGS, ...SHARED_NETNS_FLAGS]);
    }
    await proc.waitFor(/joined/);
    const info = { name, dataDir, proc };
    this.agents[i] = info;
    return info;
  }

  /** Runs the built CLI against the cluster. */
  nubis(args: string[], opts: { input?: string; allowFail?: boolean; timeoutMs?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
    return run(NUBIS, args, { ...opts, env: { KUBECONFIG: this.kubeconfig } });
  }

  /** Runs kubectl (1.32, on PATH) against the cluster. */
  kubectl(args: string[], opts: { input?: string; allowFail?: boolean; timeoutMs?: number } = {}) {
    return run('kubectl', ['--kubeconfig', this.kubeconfig, ...args], { ...opts, env: { KUBECACHEDIR: path.join(this.base, 'kubecache') } });
  }

  async pods(selector?: string): Promise<Pod[]> {
    return (await this.client.list<Pod>(PODS, { namespace: 'default', labelSelector: selector })).items;
  }

  /** Pods Running and Ready, not being deleted. */
  async readyPods(selector: string): Promise<Pod[]> {
    return (await this.pods(selector)).filter((p) => !p.metadata.deletionTimestamp && p.status?.phase === 'Running' && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
  }

  async close(): Promise<void> {
    const problems: string[] = [];
    try {
      if (this.client && this.servers.some((s) => s.proc.running)) {
        // Agents that were killed come back to remove their containers.
        for (let i = 0; i < this.agents.length; i++) if (this.agents[i] && !this.agents[i]!.proc.running) await this.startAgent(i).catch((e: Error) => problems.push(e.message));
        await this.client.deleteCollection(DEPLOYMENTS, { namespace: 'default' }).catch(() => undefined);
        await eventually('every pod to be deleted', async () => {
          for (const p of await this.pods()) await this.client.delete(PODS, p.metadata.name, { namespace: 'default', gracePeriodSeconds: 0 }).catch(() => undefined);
          return (await this.pods()).length === 0;
        }, 60_000).catch((e: Error) => problems.push(e.message));
        await eventually('the agents to remove every container', async () => this.agents.every((a) => !a || leftovers(a.dataDir).filter((l) => !l.startsWith('cgroup')).length === 0), 60_000).catch((e: Error) =>
          problems.push(e.message),
        );
      }
    } finally {
      this.client?.close();
      for (const a of this.agents) await a?.proc.stop();
      for (const s of this.servers) await s?.proc.stop();
      await this.net?.down();
      for (const a of this.agents) if (a) problems.push(...leftovers(a.dataDir, this.before).filter((l) => !l.startsWith('cgroup left:') || /^cgroup left: [^/]+\/nubis(\/|$)/.test(l)));
      // The scheduler and controllers act as their own identities: RBAC must never have refused them.
      for (const s of this.servers) if (s) problems.push(...controlPlaneRefusals(s.dataDir).map((r) => `RBAC refused the control plane: ${r}`));
      rmSync(this.base, { recursive: true, force: true });
    }
    if (problems.length > 0) throw new Error(`leftovers or failures after the test:\n  ${problems.join('\n  ')}`);
  }

  /** Output of every process (for failure messages). */
  logs(): string {
    return [...this.servers, ...this.agents].filter(Boolean).map((p) => `--- ${p.proc.name}\n${p.proc.out.slice(-3000)}`).join('\n');
  }
}

function run(cmd: string, args: string[], opts: { input?: string; allowFail?: boolean; timeoutMs?: number; env?: Record<string, string> }): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { env: { ...process.env, KUBECONFIG: '', HOME: os.tmpdir(), ...opts.env }, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      if (code !== 0 && !opts.allowFail) reject(new Error(`${path.basename(cmd)} ${args.join(' ')} failed (${code}): ${stderr}`));
      else resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
    });
    child.stdin!.end(opts.input ?? '');
  });
}

/** A Deployment of `replicas` busybox pods that stop at once on SIGTERM. */
export function deployment(name: string, replicas: number, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          terminationGracePeriodSeconds: 2,
          containers: [{ name: 'main', image: 'busybox', command: ['sh', '-c', 'trap "exit 0" TERM; echo started $HOSTNAME; while :; do sleep 1; done'] }],
          ...extra,
        },
      },
    },
  });
}

export function readText(file: string): string {
  return readFileSync(file, 'utf8');
}
