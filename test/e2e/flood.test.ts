/**
 * `nubis server` flooded by one non-admin user (a separate process, loopback only, bounded in time and
 * count): the scheduler and controllers, which act as their own identities and are not held to users'
 * in-flight limits, keep working (a Deployment scaled during the flood gets its pods created and bound,
 * the control-plane Lease is renewed), and SIGTERM during the flood stops the server cleanly within its
 * shutdown grace, leaving no process or listener behind. Then the server starts again on the same data
 * dir and port, and its control plane works with fresh credentials. The audit log must show the
 * control plane's requests under its own names and no 403 for any of them.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Lease } from '../../src/api/coordination/v1/lease.js';
import type { ResourceInfo } from '../../src/client/rest-client.js';
import { SHUTDOWN_GRACE_MS } from '../../src/cmd/process-flags.js';
import { addTokenEntry } from '../../src/apiserver/tokens.js';
import { auditRecords, controlPlaneRefusals } from '../integration/controllers/harness.js';
import { DEPLOYMENTS, deployment, E2eCluster, eventually, REPO } from './cluster.js';
import type { FloodConfig, FloodStats } from './flooder.js';

const LEASES: ResourceInfo = { group: 'coordination.k8s.io', version: 'v1', resource: 'leases', kind: 'Lease', namespaced: true };

/** The flooding process and the last progress line it printed. */
class Flood {
  readonly proc: ChildProcess;
  readonly exited: Promise<number | null>;
  last: FloodStats = { sent: 0, codes: {}, errors: 0, elapsedMs: 0 };
  log = '';

  constructor(config: FloodConfig) {
    this.proc = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'test/e2e/flooder.ts')], { cwd: REPO, env: { ...process.env, FLOOD: JSON.stringify(config) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let partial = '';
    this.proc.stdout!.on('data', (c: Buffer) => {
      const lines = (partial + c.toString()).split('\n');
      partial = lines.pop()!;
      for (const l of lines) this.last = JSON.parse(l) as FloodStats;
    });
    this.proc.stderr!.on('data', (c: Buffer) => (this.log += c.toString()));
    this.exited = new Promise((resolve) => this.proc.on('exit', (code) => resolve(code)));
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  async stop(): Promise<void> {
    if (this.running) this.proc.kill('SIGTERM');
    await this.exited;
  }
}

/** Processes whose command line names `needle` (other than this test's own). */
function processesNaming(needle: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmdline.includes(needle)) found.push(`${pid}: ${cmdline}`);
    } catch {
      // gone while we looked
    }
  }
  return found;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

describe('a server flooded by one user', () => {
  let c: E2eCluster;
  let flood: Flood | undefined;
  before(async () => {
    c = await E2eCluster.start({ agents: 1 });
  });
  after(async () => {
    await flood?.stop();
    // The cluster's cleanup deletes the pods through a server: start it again if the test left it stopped.
    if (c?.servers[0] && !c.servers[0].proc.running) await c.startServer(0, Number(new URL(c.servers[0].url).port)).catch(() => undefined);
    await c?.close();
  });

  it('keeps scheduling and reconciling, and stops within its grace on SIGTERM', async () => {
    const server = c.servers[0]!;
    const port = Number(new URL(server.url).port);
    const token = `flood-${randomBytes(24).toString('hex')}`;
    await addTokenEntry(server.dataDir, token, { id: 'flooder', user: 'flooder', groups: [] });
    await c.kubectl(['create', 'namespace', 'flood']);
    await c.kubectl(['create', 'rolebinding', 'flooder', '--clusterrole', 'edit', '--user', 'flooder', '-n', 'flood']);
    await c.nubis(['apply', '-f', '-'], { input: deployment('steady', 1) });
    await eventually('the first replica', async () => (await c.readyPods('app=steady')).length === 1, 60_000);

    flood = new Flood({
      url: server.url,
      ca: readFileSync(path.join(server.dataDir, 'apiserver/pki/ca.crt'), 'utf8'),
      token,
      namespace: 'flood',
      concurrency: 200,
      connectionLoops: 20,
      durationMs: 60_000,
      maxRequests: 500_000,
      maxCreates: 2_000,
      stalledConnections: 50,
      watches: 100,
    });
    await eventually('the flood to reach the user\'s in-flight limit', async () => (flood!.last.codes['429'] ?? 0) > 100 && flood!.last.sent > 2_000, 30_000);

    const lease = async () => (await c.client.get<Lease>(LEASES, 'nubis-control-plane', { namespace: 'kube-system' })).spec?.renewTime;
    const renewals = new Set([await lease()]);
    const scaledAt = Date.now();
    await c.client.patch(DEPLOYMENTS, 'steady', { spec: { replicas: 3 } }, 'merge', { namespace: 'default' });
    await eventually('3 replicas created and bound during the flood', async () => {
      const pods = (await c.pods('app=steady')).filter((p) => !p.metadata.deletionTimestamp);
      return pods.length === 3 && pods.every((p) => p.spec.nodeName === 'e2e-node-0');
    }, 10_000); // ~0.5 s unflooded; ~1 s flooded (when the loops queued behind the flood's connections: 3 to 25 s)
    const boundMs = Date.now() - scaledAt;
    // The leader renews every second (FAST_SERVER_FLAGS) and must not miss its 3 s deadline.
    await eventually('the control-plane Lease renewed 3 times during the flood', async () => renewals.add(await lease()).size > 3, 15_000);
    assert.ok(flood.running, `the flood was still going: ${JSON.stringify(flood.last)}`);
    assert.doesNotMatch(server.proc.out, /failed to renew|stopped leading/, 'the control plane kept its leadership through the flood');
    const during = flood.last;

    const stopAt = Date.now();
    server.proc.proc.kill('SIGTERM');
    const code = await server.proc.exited;
    const stopMs = Date.now() - stopAt;
    const stats = (await flood.exited, flood.last);
    process.stderr.write(`flood: ${JSON.stringify(stats)}; pods bound ${boundMs} ms after the scale; server stopped ${stopMs} ms after SIGTERM\n`);
    assert.equal(code, 0, `nubis server exited cleanly: ${server.proc.out.slice(-3000)}`);
    assert.ok(stopMs < SHUTDOWN_GRACE_MS, `stopped within the ${SHUTDOWN_GRACE_MS} ms grace (took ${stopMs} ms)`);
    assert.match(server.proc.out, /nubis server: stopped/);
    assert.ok(stats.done, 'the flood ended by itself once the server was gone');
    assert.ok(stats.sent > during.sent, 'the flood went on until SIGTERM');
    assert.equal(await portOpen(port), false, 'nothing listens on the port any more');
    assert.deepEqual(processesNaming(server.dataDir), [], 'no process of the server is left');

    assert.deepEqual(controlPlaneRefusals(server.dataDir), [], 'the control plane was never refused');
    const audit = auditRecords(server.dataDir);
    const did = (user: string, verb: string, resource: string, subresource?: string) => audit.some((l) => l.user === user && l.verb === verb && l.resource === resource && l.subresource === subresource && l.code < 300);
    assert.ok(did('system:kube-scheduler', 'create', 'pods', 'binding'), 'the scheduler binds as system:kube-scheduler');
    assert.ok(did('system:serviceaccount:kube-system:replicaset-controller', 'create', 'pods'), 'the ReplicaSet controller creates pods as its own account');
    assert.ok(did('system:kube-controller-manager', 'update', 'leases'), 'the controller manager renews its Lease as itself');
    assert.ok(!audit.some((l) => l.user === 'admin' && l.resource === 'pods' && l.subresource === 'binding'), 'nothing binds as the admin');

    // Started again on the same data dir and port (the agent keeps its address), with new credentials.
    await c.startServer(0, port);
    await c.client.patch(DEPLOYMENTS, 'steady', { spec: { replicas: 1 } }, 'merge', { namespace: 'default' });
    await eventually('the restarted control plane to scale down', async () => (await c.pods('app=steady')).length === 1, 60_000);
    assert.deepEqual(controlPlaneRefusals(server.dataDir), [], 'the restarted control plane was never refused');
  });
});
