/**
 * An API server (test/integration/apiserver/harness.ts) plus a real node agent in this process with a
 * temp data dir, real containers (conmon + runc) and short intervals and back-offs; helpers to create
 * pods bound to the node and to wait for their status. The agent joins as a node does (a join token, then
 * its own certificate), so it works under the Node authorizer; the test acts as admin through `client`.
 * `close` deletes every pod, waits until the agent
 * has removed them, stops the agent and checks that nothing is left on the machine.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Pod, PodSpec } from '../../../src/api/core/v1/pod-types.js';
import type { KubeObject } from '../../../src/api/meta.js';
import { connectionFor, loadKubeconfig, selectContext } from '../../../src/client/kubeconfig.js';
import { RestClient, type ResourceInfo } from '../../../src/client/rest-client.js';
import { RealHost } from '../../../src/host/real-host.js';
import { startAgent, type Agent, type AgentTiming } from '../../../src/agent/index.js';
import { createJoinToken } from '../../../src/cmd/join.js';
import { requestNodeCertificate } from '../../../src/cmd/node-certificate.js';
import { agentDirsLeft, leftovers, snapshotHost, type HostSnapshot } from '../../helpers/leaks.js';
import { eventually, TestServer } from '../apiserver/harness.js';

export { eventually };

export const PODS: ResourceInfo = { group: '', version: 'v1', resource: 'pods', kind: 'Pod', namespaced: true };
export const NODES: ResourceInfo = { group: '', version: 'v1', resource: 'nodes', kind: 'Node', namespaced: false };

export const FAST: AgentTiming = {
  backoff: { initialMs: 1000, maxMs: 4000, resetAfterMs: 60_000 },
  pullBackoff: { initialMs: 500, maxMs: 2000, resetAfterMs: 60_000 },
  exitPollMs: 200,
  statusIntervalMs: 1000,
  heartbeatMs: 5000,
  leaseIntervalMs: 1000,
  probeMsPerSecond: 250,
  volumeRefreshMs: 1000,
};

export class AgentEnv {
  agent!: Agent;
  #abort = new AbortController();
  readonly host = new RealHost();

  private constructor(
    readonly api: TestServer,
    readonly client: RestClient,
    /** The agent's own client: the node's certificate. */
    readonly nodeClient: RestClient,
    readonly dataDir: string,
    readonly before: HostSnapshot,
    readonly nodeName: string,
  ) {}

  static async start(nodeName = 'node-1', timing: AgentTiming = FAST): Promise<AgentEnv> {
    const before = snapshotHost();
    const api = await TestServer.start();
    const conn = await connectionFor(selectContext((await loadKubeconfig({ flag: api.kubeconfig })).config));
    const client = new RestClient(conn);
    const token = await createJoinToken(api.dataDir);
    await eventually('the join token to be accepted', async () => (await api.request('GET', '/version', { token })).status === 200);
    const bootstrap = new RestClient({ server: conn.server, ca: conn.ca, token });
    const creds = await requestNodeCertificate(bootstrap, nodeName).finally(() => bootstrap.close());
    const nodeClient = new RestClient({ server: conn.server, ca: conn.ca, ...creds });
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'nubis-agent-'));
    const env = new AgentEnv(api, client, nodeClient, dataDir, before, nodeName);
    await env.startAgent(timing);
    return env;
  }

  async startAgent(timing: AgentTiming = FAST): Promise<Agent> {
    this.#abort = new AbortController();
    this.agent = await startAgent({ client: this.nodeClient, nodeName: this.nodeName, dataDir: this.dataDir, host: this.host, port: 0, timing, signal: this.#abort.signal });
    return this.agent;
  }

  /** Stops the agent (its pods keep running). */
  async stopAgent(): Promise<void> {
    this.#abort.abort();
    await this.agent.done;
  }

  /** Creates a pod bound to this node (no scheduler involved). */
  async createPod(name: string, spec: Partial<PodSpec> & { containers: PodSpec['containers'] }, meta: Partial<Pod['metadata']> = {}): Promise<Pod> {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', ...meta }, spec: { nodeName: this.nodeName, terminationGracePeriodSeconds: 2, ...spec } };
    return this.client.create<Pod>(PODS, pod as Pod);
  }

  create(r: ResourceInfo, obj: KubeObject): Promise<KubeObject> {
    return this.client.create(r, obj);
  }

  getPod(name: string, namespace = 'default'): Promise<Pod> {
    return this.client.get<Pod>(PODS, name, { namespace });
  }

  /** Waits until `check(pod)` holds; the message includes the last status seen. */
  async waitPod(name: string, what: string, check: (p: Pod) => boolean, ms = 60_000): Promise<Pod> {
    let last: Pod | undefined;
    try {
      return await eventually(
        `${name}: ${what}`,
        async () => {
          last = await this.getPod(name);
          return check(last) ? last : false;
        },
        ms,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}\nlast status: ${JSON.stringify(last?.status, null, 1)}`);
    }
  }

  waitRunning(name: string): Promise<Pod> {
    return this.waitPod(name, 'Running and Ready', (p) => p.status?.phase === 'Running' && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true);
  }

  /** Deletes a pod and waits until the agent finalized the deletion (the object is gone). */
  async deletePod(name: string, gracePeriodSeconds?: number): Promise<void> {
    await this.client.delete(PODS, name, { namespace: 'default', ...(gracePeriodSeconds !== undefined ? { gracePeriodSeconds } : {}) });
    await eventually(`${name} to be gone`, async () => this.getPod(name).then(() => false, () => true), 60_000);
  }

  /** Exec in a container through the driver: stdout as text. */
  kubectl(args: string[], opts: { input?: string; allowFail?: boolean; timeoutMs?: number } = {}) {
    return this.api.kubectl(args, opts);
  }

  async close(): Promise<void> {
    try {
      const list = await this.client.list<Pod>(PODS, {});
      for (const p of list.items) {
        await this.client.delete(PODS, p.metadata.name, { namespace: p.metadata.namespace, gracePeriodSeconds: 0 }).catch(() => {});
      }
      await eventually('every pod and its containers to be removed', async () => {
        const left = await this.client.list<Pod>(PODS, {});
        const workers = this.agent.pods.workers().length;
        return left.items.length === 0 && workers === 0;
      }, 60_000);
      await this.stopAgent();
      // Only the /nubis tree is the agent's: other cgroups named nubis-* belong to other runs on the machine.
      const left = leftovers(this.dataDir, this.before).filter((l) => !l.startsWith('cgroup left:') || /^cgroup left: [^/]+\/nubis(\/|$)/.test(l));
      const problems = [...left, ...agentDirsLeft(this.dataDir)];
      if (problems.length > 0) throw new Error(`leftovers after test:\n  ${problems.join('\n  ')}`);
    } finally {
      this.#abort.abort();
      this.client.close();
      this.nodeClient.close();
      await this.api.close();
      rmSync(this.dataDir, { recursive: true, force: true });
    }
  }
}

/** The container status of `name` in a pod. */
export function containerStatus(p: Pod, name: string) {
  const s = [...(p.status?.containerStatuses ?? []), ...(p.status?.initContainerStatuses ?? [])].find((c) => c.name === name);
  assert.ok(s, `no status for container ${name}: ${JSON.stringify(p.status)}`);
  return s;
}
