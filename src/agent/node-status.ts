/**
 * The node side of the agent: registers the Node (labels, capacity and allocatable from the machine,
 * addresses, the agent's port, nodeInfo), posts its status (conditions Ready, MemoryPressure,
 * DiskPressure, PIDPressure; images) every `statusIntervalMs` when it changed and at least every
 * `heartbeatMs`, and renews the node's Lease in kube-node-lease every `leaseIntervalMs`, which is what
 * the node lifecycle controller watches to tell a live node from a dead one.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import type { Node, NodeRuntimeHandler, NodeStatus } from '../api/core/v1/node.js';
import type { RestClient } from '../client/rest-client.js';
import type { Images } from '../image/images.js';
import { isNubisError } from '../lib/errors.js';
import { logger } from '../lib/log.js';
import { LEASES, NAMESPACES, NODES } from './resources.js';

const log = logger('agent');

export const KUBELET_VERSION = 'v1.32.0-nubis';
export const RUNTIME_VERSION = 'nubis://0.1.0';
export const LEASE_NAMESPACE = 'kube-node-lease';

/** Memory kept back from pods (the kubelet's default hard eviction threshold). */
const MEMORY_RESERVE = 100 * 2 ** 20;

export interface NodeStatusOptions {
  client: RestClient;
  nodeName: string;
  hostIP: string;
  port: number;
  dataDir: string;
  images: Images;
  statusIntervalMs: number;
  heartbeatMs: number;
  leaseIntervalMs: number;
  leaseDurationSeconds: number;
  labels?: Record<string, string>;
  /** The pod range this node's bridge already uses: a Node registered again (it was deleted) asks for it back. */
  podCIDR?: () => string | undefined;
  /** The RuntimeClass handlers this node can run, reported as status.runtimeHandlers (absent: not reported). */
  runtimeHandlers?: () => string[];
}

/** Parses /proc/meminfo into bytes per key. */
export function parseMeminfo(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(\w+):\s+(\d+)(?:\s+kB)?/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]) * (line.includes('kB') ? 1024 : 1));
  }
  return out;
}

function arch(): string {
  const a = os.arch();
  return a === 'x64' ? 'amd64' : a === 'ia32' ? '386' : a;
}

async function readText(file: string): Promise<string> {
  return (await fs.readFile(file, 'utf8').catch(() => '')).trim();
}

export interface MachineFacts {
  cpus: number;
  memoryBytes: number;
  memAvailableBytes: number;
  storageBytes: number;
  storageAvailableBytes: number;
  pidMax: number;
  processes: number;
}

export async function machineFacts(dataDir: string): Promise<MachineFacts> {
  const mem = parseMeminfo(await readText('/proc/meminfo'));
  const st = await fs.statfs(dataDir).catch(() => undefined);
  const pids = (await fs.readdir('/proc').catch(() => [] as string[])).filter((e) => /^\d+$/.test(e)).length;
  return {
    cpus: os.availableParallelism(),
    memoryBytes: mem.get('MemTotal') ?? os.totalmem(),
    memAvailableBytes: mem.get('MemAvailable') ?? os.freemem(),
    storageBytes: st ? st.blocks * st.bsize : 0,
    storageAvailableBytes: st ? st.bavail * st.bsize : 0,
    pidMax: Number(await readText('/proc/sys/kernel/pid_max')) || 32768,
    processes: pids,
  };
}

/** Capacity and allocatable of the node, as Kubernetes quantities. */
export function nodeResources(f: MachineFacts): { capacity: Record<string, string>; allocatable: Record<string, string> } {
  const ki = (b: number) => `${Math.floor(b / 1024)}Ki`;
  return {
    capacity: { cpu: String(f.cpus), memory: ki(f.memoryBytes), pods: '110', 'ephemeral-storage': ki(f.storageBytes) },
    allocatable: {
      cpu: String(f.cpus),
      memory: ki(Math.max(0, f.memoryBytes - MEMORY_RESERVE)),
      pods: '110',
      'ephemeral-storage': String(Math.floor(f.storageBytes * 0.9)),
    },
  };
}

type Condition = NonNullable<NodeStatus['conditions']>[number];

/** The node conditions from the machine's figures, keeping transition times of unchanged ones. */
export function nodeConditions(f: MachineFacts, old: Condition[] | undefined, now: string): Condition[] {
  const make = (type: string, bad: boolean, okReason: string, badReason: string, okMsg: string, badMsg: string, inverted = false): Condition => {
    const status = (inverted ? !bad : bad) ? 'True' : 'False';
    const prev = old?.find((c) => c.type === type);
    return {
      type,
      status,
      reason: bad ? badReason : okReason,
      message: bad ? badMsg : okMsg,
      lastHeartbeatTime: now,
      lastTransitionTime: prev?.status === status && prev.lastTransitionTime ? prev.lastTransitionTime : now,
    };
  };
  const memPressure = f.memAvailableBytes < MEMORY_RESERVE;
  const diskPressure = f.storageBytes > 0 && f.storageAvailableBytes < f.storageBytes * 0.1;
  const pidPressure = f.processes > f.pidMax * 0.9;
  return [
    make('MemoryPressure', memPressure, 'KubeletHasSufficientMemory', 'KubeletHasInsufficientMemory', 'kubelet has sufficient memory available', 'kubelet has insufficient memory available'),
    make('DiskPressure', diskPressure, 'KubeletHasNoDiskPressure', 'KubeletHasDiskPressure', 'kubelet has no disk pressure', 'kubelet has disk pressure'),
    make('PIDPressure', pidPressure, 'KubeletHasSufficientPID', 'KubeletHasInsufficientPID', 'kubelet has sufficient PID available', 'kubelet has insufficient PID available'),
    make('Ready', false, 'KubeletReady', 'KubeletNotReady', 'kubelet is posting ready status', 'kubelet is not ready', true),
  ];
}

/** status.runtimeHandlers: every handler runs pods in user namespaces; none makes read-only mounts recursively read-only. */
export function runtimeHandlerStatus(handlers: string[]): NodeRuntimeHandler[] {
  return handlers.map((name) => ({ name, features: { recursiveReadOnlyMounts: false, userNamespaces: true } }));
}

const isoNow = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

/** Registers the node and keeps its status and lease fresh. */
export class NodeReporter {
  #facts: MachineFacts | undefined;
  #lastPosted = '';
  #lastPostAt = 0;
  #conditions: Condition[] | undefined;

  constructor(private readonly o: NodeStatusOptions) {}

  /** The node's allocatable resources (for the downward API's limit defaults). */
  allocatable(): { cpu: number; memory: number } {
    const f = this.#facts;
    return { cpu: f?.cpus ?? os.availableParallelism(), memory: Math.max(0, (f?.memoryBytes ?? os.totalmem()) - MEMORY_RESERVE) };
  }

  async #nodeInfo(): Promise<NonNullable<NodeStatus['nodeInfo']>> {
    const osRelease = await readText('/etc/os-release');
    const pretty = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(osRelease)?.[1] ?? 'Linux';
    return {
      machineID: await readText('/etc/machine-id'),
      systemUUID: '',
      bootID: await readText('/proc/sys/kernel/random/boot_id'),
      kernelVersion: os.release(),
      osImage: pretty,
      containerRuntimeVersion: RUNTIME_VERSION,
      kubeletVersion: KUBELET_VERSION,
      kubeProxyVersion: KUBELET_VERSION,
      operatingSystem: 'linux',
      architecture: arch(),
    };
  }

  async #status(): Promise<NodeStatus> {
    const f = (this.#facts = await machineFacts(this.o.dataDir));
    this.#conditions = nodeConditions(f, this.#conditions, isoNow());
    const images = await this.o.images.list().catch(() => []);
    return {
      ...nodeResources(f),
      conditions: this.#conditions,
      addresses: [
        { type: 'InternalIP', address: this.o.hostIP },
        { type: 'Hostname', address: os.hostname() },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: this.o.port } },
      nodeInfo: await this.#nodeInfo(),
      images: images.map((i) => ({ names: [i.name, ...(i.digest ? [`${i.repository}@${i.digest}`] : [])], sizeBytes: i.size })),
      ...(this.o.runtimeHandlers ? { runtimeHandlers: runtimeHandlerStatus(this.o.runtimeHandlers()) } : {}),
    };
  }

  /** Creates the Node (or takes over an existing one) and posts its first status. */
  async register(): Promise<void> {
    const labels = {
      'kubernetes.io/hostname': this.o.nodeName,
      'kubernetes.io/os': 'linux',
      'kubernetes.io/arch': arch(),
      'beta.kubernetes.io/os': 'linux',
      'beta.kubernetes.io/arch': arch(),
      ...this.o.labels,
    };
    const range = this.o.podCIDR?.();
    const node: Node = { apiVersion: 'v1', kind: 'Node', metadata: { name: this.o.nodeName, labels }, spec: range ? { podCIDR: range, podCIDRs: [range] } : {} };
    try {
      await this.o.client.create(NODES, node);
      log.info(`registered node ${this.o.nodeName}`);
    } catch (err) {
      if (!isNubisError(err, 'AlreadyExists')) throw err;
      await this.o.client.patch(NODES, this.o.nodeName, { metadata: { labels } }, 'merge');
    }
    this.#lastPosted = '';
    await this.postStatus(true);
  }

  /** Posts the status when it changed (ignoring heartbeat times) or the heartbeat is due. */
  async postStatus(force = false): Promise<void> {
    const status = await this.#status();
    const key = JSON.stringify({ ...status, conditions: status.conditions?.map(({ lastHeartbeatTime: _h, ...c }) => c) });
    if (!force && key === this.#lastPosted && Date.now() - this.#lastPostAt < this.o.heartbeatMs) return;
    try {
      await this.o.client.patch(NODES, this.o.nodeName, { status }, 'merge', { subresource: 'status' });
    } catch (err) {
      if (!isNubisError(err, 'NotFound')) throw err;
      log.warn(`node ${this.o.nodeName} was deleted: registering it again`);
      return this.register();
    }
    this.#lastPosted = key;
    this.#lastPostAt = Date.now();
  }

  /** Renews (or creates) the node's lease. */
  async renewLease(): Promise<void> {
    const renewTime = new Date().toISOString().replace(/Z$/, '000Z');
    const spec = { holderIdentity: this.o.nodeName, leaseDurationSeconds: this.o.leaseDurationSeconds, renewTime };
    try {
      await this.o.client.patch(LEASES, this.o.nodeName, { spec }, 'merge', { namespace: LEASE_NAMESPACE });
      return;
    } catch (err) {
      if (!isNubisError(err, 'NotFound')) throw err;
    }
    // The server makes the namespace; a node may not (Forbidden), an older server may lack it.
    await this.o.client.create(NAMESPACES, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: LEASE_NAMESPACE } }).catch((err: unknown) => {
      if (!isNubisError(err, 'AlreadyExists') && !isNubisError(err, 'Forbidden')) throw err;
    });
    const node = await this.o.client.get(NODES, this.o.nodeName).catch(() => undefined);
    const owner = node?.metadata.uid ? [{ apiVersion: 'v1', kind: 'Node', name: this.o.nodeName, uid: node.metadata.uid }] : undefined;
    await this.o.client.create(LEASES, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.o.nodeName, namespace: LEASE_NAMESPACE, ...(owner ? { ownerReferences: owner } : {}) }, spec }).catch((err: unknown) => {
      if (!isNubisError(err, 'AlreadyExists')) throw err;
    });
  }

  /** Renews the lease and posts status on their intervals until `signal` aborts; failures are retried. */
  async run(signal: AbortSignal): Promise<void> {
    const loop = async (ms: number, what: string, fn: () => Promise<void>) => {
      while (!signal.aborted) {
        try {
          await fn();
        } catch (err) {
          log.warn(`${what} failed: ${(err as Error).message}`);
        }
        await delay(ms, undefined, { signal }).catch(() => undefined);
      }
    };
    await Promise.all([loop(this.o.leaseIntervalMs, 'lease renewal', () => this.renewLease()), loop(this.o.statusIntervalMs, 'node status', () => this.postStatus())]);
  }
}
