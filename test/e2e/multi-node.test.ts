/**
 * A server and three agents as separate processes, on SQLite and on etcd: a Deployment spreads over the
 * three nodes, and the pods of a SIGKILLed agent come back Running on the other nodes once its node is
 * NotReady (short grace and eviction times set by flags).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Node } from '../../src/api/core/v1/node.js';
import { EtcdCluster } from '../integration/store/etcd-cluster.js';
import { deployment, E2eCluster, eventually, NODES } from './cluster.js';

function spreadAndRecover(store: 'sqlite' | 'etcd') {
  describe(`three agents on ${store}`, () => {
    let etcd: EtcdCluster | undefined;
    let c: E2eCluster;
    before(async () => {
      if (store === 'etcd') etcd = await EtcdCluster.start(1);
      c = await E2eCluster.start({ etcd: etcd?.endpoints, agents: 3 });
    });
    after(async () => {
      try {
        await c?.close();
      } finally {
        await etcd?.stop();
      }
    });

    it('spreads 6 replicas over 3 nodes, and recreates a killed agent\'s pods on the others', async () => {
      await c.nubis(['apply', '-f', '-'], { input: deployment('spread', 6) });
      const running = await eventually('6 Ready replicas', async () => {
        const pods = await c.readyPods('app=spread');
        return pods.length === 6 ? pods : undefined;
      }, 90_000).catch((e: Error) => assert.fail(`${e.message}\n${c.logs()}`));
      const nodes = new Set(running.map((p) => p.spec.nodeName));
      assert.equal(nodes.size, 3, `replicas on ${[...nodes].join(', ')}`);

      const victim = c.agents[2]!;
      const lost = running.filter((p) => p.spec.nodeName === victim.name).map((p) => p.metadata.name);
      assert.ok(lost.length > 0);
      await victim.proc.stop('SIGKILL');
      await eventually(`${victim.name} to become NotReady`, async () => {
        const n = await c.client.get<Node>(NODES, victim.name);
        return n.status?.conditions?.find((x) => x.type === 'Ready')?.status !== 'True';
      }, 30_000);
      const after = await eventually('6 Ready replicas on the two live nodes', async () => {
        const pods = await c.readyPods('app=spread');
        return pods.length === 6 && pods.every((p) => p.spec.nodeName !== victim.name) ? pods : undefined;
      }, 60_000);
      assert.ok(lost.every((name) => !after.some((p) => p.metadata.name === name)), 'the lost pods were replaced by new ones');
      assert.equal(new Set(after.map((p) => p.spec.nodeName)).size, 2);
      const table = (await c.nubis(['get', 'nodes'])).stdout;
      assert.match(table, new RegExp(`${victim.name}\\s+(NotReady|Unknown)`));
    });
  });
}

spreadAndRecover('sqlite');
spreadAndRecover('etcd');
