/**
 * Two servers on one etcd and two agents: the first server leads (runs scheduler and controllers);
 * SIGKILLed, the other server's elector takes the Lease over, and a new Deployment is still scheduled
 * and runs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Lease } from '../../src/api/coordination/v1/lease.js';
import type { ResourceInfo } from '../../src/client/rest-client.js';
import { EtcdCluster } from '../integration/store/etcd-cluster.js';
import { deployment, E2eCluster, eventually } from './cluster.js';

const LEASES: ResourceInfo = { group: 'coordination.k8s.io', version: 'v1', resource: 'leases', kind: 'Lease', namespaced: true };

describe('two servers on one etcd', () => {
  let etcd: EtcdCluster;
  let c: E2eCluster;
  before(async () => {
    etcd = await EtcdCluster.start(1);
    c = await E2eCluster.start({ etcd: etcd.endpoints, servers: 2, agents: 2 });
  });
  after(async () => {
    try {
      await c?.close();
    } finally {
      await etcd?.stop();
    }
  });

  it('the other server takes over the control loops when the leader is killed', async () => {
    const holder = async () => (await c.client.get<Lease>(LEASES, 'nubis-control-plane', { namespace: 'kube-system' })).spec?.holderIdentity ?? '';
    const first = await eventually('a leader', async () => (await holder()) || undefined, 30_000);
    // The first server started first and campaigned alone: it leads.
    assert.match(c.servers[0]!.proc.out, /leads: starting the scheduler and controllers/);
    assert.doesNotMatch(c.servers[1]!.proc.out, /leads:/);

    await c.nubis(['apply', '-f', '-'], { input: deployment('before', 2) });
    await eventually('2 replicas before the failover', async () => (await c.readyPods('app=before')).length === 2, 60_000);

    await c.servers[0]!.proc.stop('SIGKILL');
    const second = await eventually('a new leader', async () => {
      const h = await holder();
      return h && h !== first ? h : undefined;
    }, 30_000);
    assert.notEqual(second, first);
    await c.servers[1]!.proc.waitFor(/leads: starting the scheduler and controllers/, 10_000);

    await c.nubis(['apply', '-f', '-'], { input: deployment('after', 2) });
    const pods = await eventually('2 replicas scheduled and running after the failover', async () => {
      const ready = await c.readyPods('app=after');
      return ready.length === 2 ? ready : undefined;
    }, 60_000);
    assert.ok(pods.every((p) => p.spec.nodeName?.startsWith('e2e-node-')));
  });
});
