/**
 * Node IPAM against a real API server: nodes get distinct pod ranges from the cluster CIDR, a range set by
 * hand is respected, an exhausted cluster CIDR is an event on the node that says so, and a deleted
 * node's range is given out again.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Event } from '../../../src/api/core/v1/event.js';
import type { Node } from '../../../src/api/core/v1/node.js';
import { EVENTS, NODES } from '../../../src/controllers/resources.js';
import { ControllerRig, eventually, fakeNode } from './harness.js';

let rig: ControllerRig;

before(async () => {
  // A /22 holds four /24 node ranges.
  rig = await ControllerRig.start({ enabled: ['nodeipam'], nodeIpam: { clusterCidr: '10.60.0.0/22' } });
});
after(async () => {
  await rig?.close();
});

const rangeOf = async (name: string) =>
  eventually(`a pod range on ${name}`, async () => (await rig.client.get<Node>(NODES, name)).spec?.podCIDR, 10_000);

test('distinct ranges, hand-set ones respected, exhaustion reported, deleted ranges reused', async () => {
  const c = rig.client;
  // A node that comes with a range keeps it, and nobody else gets it.
  // (Nodes without status: the controller reads only names and ranges.)
  const node = (name: string, spec: Node['spec'] = {}) => c.create(NODES, { ...fakeNode(name), spec, status: undefined });
  await node('manual', { podCIDR: '10.60.1.0/24', podCIDRs: ['10.60.1.0/24'] });
  for (const n of ['a', 'b', 'c']) await node(n);
  const ranges = await Promise.all(['a', 'b', 'c'].map(rangeOf));
  assert.deepEqual([...ranges].sort(), ['10.60.0.0/24', '10.60.2.0/24', '10.60.3.0/24']);
  assert.deepEqual((await c.get<Node>(NODES, 'a')).spec?.podCIDRs, [(await c.get<Node>(NODES, 'a')).spec?.podCIDR]);

  // The fifth node finds the cluster CIDR full: it waits without a range, and an event says why.
  await node('late');
  const event = await eventually('a CIDRNotAvailable event', async () => {
    const list = (await c.list<Event>(EVENTS, { namespace: 'default' })).items;
    return list.find((e) => e.involvedObject.name === 'late' && e.reason === 'CIDRNotAvailable');
  }, 10_000);
  assert.equal(event.type, 'Warning');
  assert.match(event.message ?? '', /no free \/24 node range left in cluster CIDR 10\.60\.0\.0\/22/);
  assert.equal((await c.get<Node>(NODES, 'late')).spec?.podCIDR, undefined);

  // Another node goes: its range is given to the waiting one at once.
  const freed = (await c.get<Node>(NODES, 'b')).spec!.podCIDR!;
  await c.delete(NODES, 'b');
  assert.equal(await rangeOf('late'), freed);
});
