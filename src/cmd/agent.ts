/**
 * `nubis agent --server URL --token T (--ca-cert-hash sha256:… | --ca-file F)`: joins this machine to a
 * server as a node and runs its pods. The connection (server, CA, token) is kept in
 * `<data-dir>/agent.kubeconfig`, so a restarted agent needs no flags but the data dir. Stopping the agent
 * (SIGINT/SIGTERM) leaves the pods running; the next agent on the same data dir adopts them.
 */
import os from 'node:os';
import path from 'node:path';
import { mkdir, readFile } from 'node:fs/promises';
import { CommanderError } from 'commander';
import YAML from 'yaml';
import { startAgent, type Agent } from '../agent/index.js';
import { connect } from '../client/connect.js';
import { RestClient } from '../client/rest-client.js';
import { RealHost } from '../host/real-host.js';
import { resolveDataDir } from '../lib/data-dir.js';
import { invalid } from '../lib/errors.js';
import { exists, writeFileAtomic } from '../lib/files.js';
import { logger, setLogLevel, type Level } from '../lib/log.js';
import { checkJoinToken, discoverCa } from './join.js';
import { certificateNode, renewalTime } from '../client/certificates.js';
import { renewNodeCertificate, requestNodeCertificate, type NodeCredentials } from './node-certificate.js';
import { aborted, daemonProgram, DEFAULT_CLUSTER_NETWORK, parseDuration, stopSignal } from './process-flags.js';
import { failed } from './server.js';

const log = logger('agent');

export function agentKubeconfigFile(dataDir: string): string {
  return path.join(dataDir, 'agent.kubeconfig');
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** A kubeconfig for the agent: the server, its CA, and the node's certificate (or, to join, the token). */
export function agentKubeconfig(server: string, caPem: string, credential: { token: string } | NodeCredentials, nodeName: string): string {
  const user = 'token' in credential ? { token: credential.token } : { 'client-certificate-data': b64(credential.cert), 'client-key-data': b64(credential.key) };
  return YAML.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'nubis', cluster: { server, 'certificate-authority-data': b64(caPem) } }],
    users: [{ name: `system:node:${nodeName}`, user }],
    contexts: [{ name: 'nubis', context: { cluster: 'nubis', user: `system:node:${nodeName}` } }],
    'current-context': 'nubis',
  });
}

export interface AgentFlags {
  dataDir?: string;
  logLevel: Level;
  server?: string;
  token?: string;
  caCertHash?: string;
  caFile?: string;
  nodeName?: string;
  address: string;
  listen?: string;
  port: string;
  runtime?: string;
  insecureRegistry: string[];
  leaseInterval: string;
  statusInterval: string;
  podNetwork: string;
  masqueradeOutside?: boolean;
  clusterCidr?: string;
  serviceCidr?: string;
}

/** The credentials in agent.kubeconfig, if they are this node's certificate from `ca` and not yet due for renewal. */
async function keptCredentials(file: string, nodeName: string, ca: string): Promise<NodeCredentials | undefined> {
  try {
    const doc = YAML.parse(await readFile(file, 'utf8')) as { users?: Array<{ user?: Record<string, string> }>; clusters?: Array<{ cluster?: Record<string, string> }> };
    const user = doc.users?.[0]?.user ?? {};
    const cert = Buffer.from(user['client-certificate-data'] ?? '', 'base64').toString('utf8');
    const key = Buffer.from(user['client-key-data'] ?? '', 'base64').toString('utf8');
    const keptCa = Buffer.from(doc.clusters?.[0]?.cluster?.['certificate-authority-data'] ?? '', 'base64').toString('utf8');
    if (!cert || !key || keptCa !== ca || certificateNode(cert) !== nodeName || Date.now() >= renewalTime(cert)) return undefined;
    return { cert, key };
  } catch {
    return undefined;
  }
}

/**
 * Joins this machine as node `nodeName`: its certificate (the one kept in agent.kubeconfig while it is
 * good, else a new one asked for with the join token) goes into agent.kubeconfig with the server and CA.
 */
export async function joinAsNode(dataDir: string, nodeName: string, join: { server: string; ca: string; token: string }): Promise<void> {
  const file = agentKubeconfigFile(dataDir);
  const server = join.server.replace(/\/$/, '');
  let creds = await keptCredentials(file, nodeName, join.ca);
  if (!creds) {
    const bootstrap = new RestClient({ server, ca: join.ca, token: join.token }, { userAgent: `nubis-agent/${nodeName}` });
    try {
      creds = await requestNodeCertificate(bootstrap, nodeName);
    } finally {
      bootstrap.close();
    }
  }
  await mkdir(dataDir, { recursive: true });
  await writeFileAtomic(file, agentKubeconfig(server, join.ca, creds, nodeName), 0o600);
}

/** The node's client from agent.kubeconfig; its certificate is renewed in the background until `signal` aborts. */
export async function nodeClient(dataDir: string, nodeName: string, signal: AbortSignal): Promise<RestClient> {
  const file = agentKubeconfigFile(dataDir);
  if (!(await exists(file))) throw invalid(`this agent has not joined a server yet (no ${file}): give --server URL --token T --ca-cert-hash sha256:…`);
  const client = (await connect({ flag: file }, undefined, { userAgent: `nubis-agent/${nodeName}` })).client;
  const save = async (c: NodeCredentials) => writeFileAtomic(file, agentKubeconfig(client.connection.server, String(client.connection.ca ?? ''), c, nodeName), 0o600);
  renewNodeCertificate(client, nodeName, save, signal, (msg) => log.info(msg));
  return client;
}

/** Joins with the flags when they are given, then connects as the node. */
async function agentClient(dataDir: string, f: AgentFlags, nodeName: string, signal: AbortSignal): Promise<RestClient> {
  if (f.server || f.token) {
    if (!f.server || !f.token) throw invalid('joining needs both --server URL and --token T');
    checkJoinToken(f.token);
    let ca: string;
    if (f.caFile) ca = await readFile(f.caFile, 'utf8');
    else if (f.caCertHash) ca = await discoverCa(f.server, f.token, f.caCertHash);
    else throw invalid('joining needs --ca-cert-hash sha256:… (printed by `nubis server`) or --ca-file FILE, to know the server is the right one');
    await joinAsNode(dataDir, nodeName, { server: f.server, ca, token: f.token });
  }
  return nodeClient(dataDir, nodeName, signal);
}

/** Agent timing flags shared by `agent` and `up`. */
export function agentTiming(f: Pick<AgentFlags, 'leaseInterval' | 'statusInterval'>) {
  return { leaseIntervalMs: parseDuration(f.leaseInterval, 'lease-interval'), statusIntervalMs: parseDuration(f.statusInterval, 'status-interval') };
}

/** Starts an agent and returns it; used by `agent` and `up`. */
export async function startNodeAgent(client: RestClient, dataDir: string, f: AgentFlags, nodeName: string, signal: AbortSignal): Promise<Agent> {
  const port = Number(f.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw invalid(`invalid --agent-port "${f.port}"`);
  if (f.podNetwork !== 'bridge' && f.podNetwork !== 'none') throw invalid(`invalid --pod-network "${f.podNetwork}": bridge or none`);
  return startAgent({
    client,
    nodeName,
    dataDir,
    host: new RealHost(),
    address: f.address,
    listen: f.listen,
    port,
    runtime: f.runtime,
    insecureRegistries: f.insecureRegistry,
    timing: agentTiming(f),
    network: f.podNetwork === 'bridge' ? 'bridge' : undefined,
    masqueradeOutside: f.masqueradeOutside ? { clusterCidr: f.clusterCidr ?? DEFAULT_CLUSTER_NETWORK.clusterCidr, serviceCidr: f.serviceCidr ?? DEFAULT_CLUSTER_NETWORK.serviceCidr } : undefined,
    signal,
  });
}

/** The agent's flags (also offered by `nubis up`). */
export function withAgentFlags<T extends ReturnType<typeof daemonProgram>>(cmd: T, portFlag = '--port'): T {
  cmd
    .option('--node-name <name>', 'the Node name (default: the host name)')
    .option('--address <ip>', 'the node address the server reaches the agent at', '127.0.0.1')
    .option('--listen <ip>', 'where the agent endpoint listens (default: the address)')
    .option(`${portFlag} <port>`, 'the agent endpoint port (0: any free port)', '10250')
    .option('--runtime <name>', 'OCI runtime: runc or crun', 'runc')
    .option('--insecure-registry <host:port>', 'a registry reached over plain HTTP (repeatable)', (v: string, p: string[]) => [...p, v], [] as string[])
    .option('--lease-interval <duration>', 'how often the node lease is renewed', '5s')
    .option('--status-interval <duration>', 'how often node status is computed', '10s')
    .option('--pod-network <mode>', 'bridge: pod IPs, Services, DNS and routes between nodes; none: pods get loopback only', 'bridge')
    .option('--masquerade-outside', 'masquerade pod traffic that leaves the cluster CIDR (pods reach other networks through the node)');
  return cmd;
}

export async function runAgentCommand(argv: string[]): Promise<number> {
  const program = withAgentFlags(
    daemonProgram('nubis agent', 'join this machine to a Nubis server as a node and run its pods')
      .option('--server <url>', 'the server to join (https://host:port)')
      .option('--token <token>', 'a join token (printed by `nubis server`)')
      .option('--ca-cert-hash <sha256:hex>', 'the server CA\'s public key hash (printed by `nubis server`)')
      .option('--ca-file <file>', 'the server CA certificate (instead of --ca-cert-hash)')
      .option('--cluster-cidr <cidr>', 'the cluster\'s pod addresses (as given to the server; for --masquerade-outside)', DEFAULT_CLUSTER_NETWORK.clusterCidr)
      .option('--service-cidr <cidr>', 'the cluster\'s Service addresses (as given to the server; for --masquerade-outside)', DEFAULT_CLUSTER_NETWORK.serviceCidr),
  );
  try {
    program.parse(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 125;
    throw err;
  }
  const f = program.opts<AgentFlags>();
  setLogLevel(f.logLevel);
  const signal = stopSignal();
  let client: RestClient | undefined;
  try {
    const dataDir = resolveDataDir(f.dataDir);
    const nodeName = f.nodeName ?? os.hostname().toLowerCase();
    client = await agentClient(dataDir, f, nodeName, signal);
    const agent = await startNodeAgent(client, dataDir, f, nodeName, signal);
    process.stdout.write(`nubis agent: node ${nodeName} joined ${client.connection.server}; endpoint on port ${agent.port}\n`);
    await aborted(signal);
    await agent.done;
    return 0;
  } catch (err) {
    return failed(err, 'agent');
  } finally {
    client?.close();
  }
}
