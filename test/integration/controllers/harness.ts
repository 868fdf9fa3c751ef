/**
 * Controller tests without an agent: a real API server (TestServer), a client, the controllers under
 * test, and a PodSimulator standing in for node agents — it marks pods Running and Ready with an IP
 * through the status subresource (when its policy says so) and finishes the deletion of terminating
 * pods, as an agent would.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { KubeObject } from '../../../src/api/meta.js';
import type { Pod } from '../../../src/api/core/v1/pod-types.js';
import { Informer } from '../../../src/client/informer.js';
import { connectionFor, loadKubeconfig, selectContext } from '../../../src/client/kubeconfig.js';
import { RestClient } from '../../../src/client/rest-client.js';
import { isControlPlaneUser } from '../../../src/apiserver/authz/control-plane-policy.js';
import { controlPlaneClients, type ControlPlaneClients } from '../../../src/cmd/control-plane-credentials.js';
import { startControllers, type ControllersOptions, type RunningControllers } from '../../../src/controllers/index.js';
import { LEASES, NODES, PODS } from '../../../src/controllers/resources.js';
import { isNubisError } from '../../../src/lib/errors.js';
import { TestServer } from '../apiserver/harness.js';

export { eventually } from '../apiserver/harness.js';

export async function clientFor(s: TestServer): Promise<RestClient> {
  return new RestClient(await connectionFor(selectContext((await loadKubeconfig({ flag: s.kubeconfig })).config)));
}

/** The scheduler's, controller manager's and controllers' own clients, as `nubis server` makes them. */
export function controlPlaneFor(s: TestServer, signal: AbortSignal): Promise<ControlPlaneClients> {
  return controlPlaneClients(s.dataDir, s.server, signal);
}

/** One line of an API server's audit log (apiserver/audit-log.ts). */
export interface AuditRecord {
  user: string;
  verb: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  code: number;
}

/** Every audit record of a data dir, rotated files included. */
export function auditRecords(dataDir: string): AuditRecord[] {
  const dir = path.join(dataDir, 'apiserver');
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.startsWith('audit.log')) : [];
  return files.flatMap((f) => readFileSync(path.join(dir, f), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditRecord));
}

/** The requests of the scheduler, controller manager or a controller that RBAC refused (403): none, if their roles are complete. */
export function controlPlaneRefusals(dataDir: string): string[] {
  return auditRecords(dataDir)
    .filter((r) => isControlPlaneUser(r.user) && r.code === 403)
    .map((r) => `${r.user}: ${r.verb} ${r.resource}${r.subresource ? `/${r.subresource}` : ''} ${r.namespace ?? ''}/${r.name ?? ''}`);
}

/** Whether a pod should be made Running and Ready now. */
export type ReadyPolicy = (pod: Pod) => boolean;

let ipCounter = 10;

/** Plays the node agents: pod status and the end of graceful deletion. */
export class PodSimulator {
  readonly informer: Informer<Pod>;
  readonly #abort = new AbortController();
  #done: Promise<void> | undefined;
  /** Which pods become Running+Ready (default: every pod). Change it at any time, then call `poke()`. */
  policy: ReadyPolicy = () => true;
  /** Which terminating pods are removed (as an agent does after stopping containers); not those of a "dead" node. */
  finishDelete: (pod: Pod) => boolean = () => true;
  readonly #busy = new Set<string>();

  constructor(private readonly client: RestClient) {
    this.informer = new Informer<Pod>(client, PODS);
    this.informer.addHandlers({ add: (p) => void this.#handle(p), update: (_o, p) => void this.#handle(p) });
  }

  start(): this {
    this.#done = this.informer.run(this.#abort.signal);
    return this;
  }

  /** Looks at every pod again (after a policy change). */
  poke(): void {
    for (const p of this.informer.cache.list()) void this.#handle(p);
  }

  async #handle(pod: Pod): Promise<void> {
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    if (this.#busy.has(key)) return;
    this.#busy.add(key);
    try {
      if (pod.metadata.deletionTimestamp) {
        if (this.finishDelete(pod)) await this.client.delete(PODS, pod.metadata.name, { namespace: pod.metadata.namespace, gracePeriodSeconds: 0 });
        return;
      }
      const phase = pod.status?.phase;
      if (phase === 'Succeeded' || phase === 'Failed') return;
      if (this.policy(pod) && !isReady(pod)) await setPodReady(this.client, pod, true);
    } catch (err) {
      if (!isNubisError(err, 'NotFound') && !isNubisError(err, 'Conflict')) throw err;
    } finally {
      this.#busy.delete(key);
    }
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#done;
  }
}

function isReady(pod: Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** Sets a pod Running with an IP and Ready=`ready` (or Pending/not ready) through the status subresource. */
export async function setPodReady(client: RestClient, pod: Pod, ready: boolean): Promise<Pod> {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const ip = pod.status?.podIP ?? `10.88.${Math.floor(ipCounter / 250)}.${(ipCounter++ % 250) + 2}`;
  const status = {
    ...(pod.status ?? {}),
    phase: 'Running' as const,
    podIP: ip,
    podIPs: [{ ip }],
    startTime: pod.status?.startTime ?? now,
    conditions: [
      { type: 'PodScheduled', status: 'True' as const, lastTransitionTime: now },
      { type: 'Ready', status: ready ? ('True' as const) : ('False' as const), lastTransitionTime: now },
      { type: 'ContainersReady', status: ready ? ('True' as const) : ('False' as const), lastTransitionTime: now },
    ],
  };
  return client.patch<Pod>(PODS, pod.metadata.name, { status }, 'merge', { namespace: pod.metadata.namespace, subresource: 'status' });
}

/** Sets a pod's phase (Succeeded/Failed for Jobs). */
export async function setPodPhase(client: RestClient, pod: Pod, phase: 'Succeeded' | 'Failed'): Promise<Pod> {
  return client.patch<Pod>(PODS, pod.metadata.name, { status: { phase, conditions: [{ type: 'Ready', status: 'False' }] } }, 'merge', { namespace: pod.metadata.namespace, subresource: 'status' });
}

/** A Ready node with room for pods. */
export function fakeNode(name: string, labels: Record<string, string> = {}): KubeObject {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', ...labels } },
    spec: {},
    status: {
      capacity: { cpu: '4', memory: '8Gi', pods: '110' },
      allocatable: { cpu: '4', memory: '8Gi', pods: '110' },
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'ready', lastHeartbeatTime: now, lastTransitionTime: now }],
      addresses: [{ type: 'InternalIP', address: '127.0.0.1' }, { type: 'Hostname', address: name }],
    },
  };
}

/** Creates a node (with its status) and its lease in kube-node-lease. */
export async function addNode(client: RestClient, name: string, labels: Record<string, string> = {}): Promise<void> {
  const node = fakeNode(name, labels);
  const saved = await client.create(NODES, { ...node, status: undefined });
  await client.updateStatus(NODES, { ...saved, status: node.status });
  await renewLease(client, name);
}

/** Creates or renews a node's lease, as an agent does every few seconds. */
export async function renewLease(client: RestClient, node: string): Promise<void> {
  const now = new Date().toISOString().replace('Z', '000Z');
  try {
    await client.patch(LEASES, node, { spec: { renewTime: now } }, 'merge', { namespace: 'kube-node-lease' });
  } catch (err) {
    if (!isNubisError(err, 'NotFound')) throw err;
    await client.create(LEASES, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: node, namespace: 'kube-node-lease' }, spec: { holderIdentity: node, leaseDurationSeconds: 40, renewTime: now } });
  }
}

/**
 * A server, an admin client, the controllers (each as its own identity, as `nubis server` runs them) and
 * a pod simulator; `close()` stops and removes them all, and fails if RBAC refused the controllers anything.
 */
export class ControllerRig {
  readonly abort = new AbortController();
  private constructor(
    readonly server: TestServer,
    readonly client: RestClient,
    readonly running: RunningControllers,
    readonly pods: PodSimulator,
    readonly identities: ControlPlaneClients,
  ) {}

  static async start(opts: ControllersOptions = {}): Promise<ControllerRig> {
    const server = await TestServer.start({ gcIntervalMs: 500 });
    const client = await clientFor(server);
    const abort = new AbortController();
    const identities = await controlPlaneFor(server, abort.signal);
    const running = startControllers(identities.controllerManager, { clientFor: identities.controller, ...opts }, abort.signal);
    const pods = new PodSimulator(client).start();
    const rig = new ControllerRig(server, client, running, pods, identities);
    Object.defineProperty(rig, 'abort', { value: abort });
    await running.informers.waitForSync();
    return rig;
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.pods.stop();
    await this.running.done;
    this.identities.close();
    this.client.close();
    const refused = controlPlaneRefusals(this.server.dataDir);
    await this.server.close();
    if (refused.length > 0) throw new Error(`RBAC refused the control plane:\n  ${refused.join('\n  ')}`);
  }
}

/** A namespace for one test. */
export async function namespace(client: RestClient, name: string): Promise<string> {
  await client.create({ group: '', version: 'v1', resource: 'namespaces', kind: 'Namespace', namespaced: false }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  return name;
}
