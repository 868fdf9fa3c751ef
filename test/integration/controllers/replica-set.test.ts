/**
 * The ReplicaSet controller against a real API server: creates pods to match replicas, replaces a
 * deleted pod, scales down deleting not-ready pods first, adopts a matching orphan and releases a pod
 * whose labels stop matching, and reports ready/available counts.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { ReplicaSet } from '../../../src/api/apps/v1/replica-set.js';
import type { Pod } from '../../../src/api/core/v1/pod-types.js';
import { EVENTS, PODS, REPLICASETS } from '../../../src/controllers/resources.js';
import { ControllerRig, eventually, namespace } from './harness.js';

let rig: ControllerRig;
before(async () => {
  rig = await ControllerRig.start({ enabled: ['replicaset'] });
});
after(async () => rig?.close());

const podTemplate = (labels: Record<string, string>) => ({ metadata: { labels }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });

async function podsOf(ns: string, selector: string): Promise<Pod[]> {
  const list = await rig.client.list<Pod>(PODS, { namespace: ns, labelSelector: selector });
  return list.items.filter((p) => !p.metadata.deletionTimestamp);
}

test('keeps replicas, heals a deleted pod, scales down not-ready first, adopts and releases', async () => {
  const c = rig.client;
  const ns = await namespace(c, 'rs-basic');
  // Only pods labelled ready=yes become Ready.
  rig.pods.policy = (p) => p.metadata.namespace !== ns || p.metadata.labels?.ready === 'yes';
  const rs: ReplicaSet = {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'web', namespace: ns },
    spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: podTemplate({ app: 'web' }) as never },
  };
  await c.create(REPLICASETS, rs);
  const first = await eventually('3 pods', async () => ((await podsOf(ns, 'app=web')).length === 3 ? podsOf(ns, 'app=web') : undefined));
  for (const p of first) {
    assert.equal(p.metadata.ownerReferences?.[0]?.kind, 'ReplicaSet');
    assert.equal(p.metadata.ownerReferences?.[0]?.controller, true);
    assert.equal(p.metadata.ownerReferences?.[0]?.blockOwnerDeletion, true);
    assert.match(p.metadata.name, /^web-[a-z0-9]{5}$/);
  }

  // Self-healing: a deleted pod is replaced by a new one.
  await c.delete(PODS, first[0]!.metadata.name, { namespace: ns });
  await eventually('a replacement pod', async () => {
    const now = await podsOf(ns, 'app=web');
    return now.length === 3 && !now.some((p) => p.metadata.name === first[0]!.metadata.name);
  });

  // Make two of them ready; scaling to 2 must delete the not-ready one.
  const three = await podsOf(ns, 'app=web');
  for (const p of three.slice(0, 2)) await c.patch(PODS, p.metadata.name, { metadata: { labels: { ready: 'yes' } } }, 'merge', { namespace: ns });
  rig.pods.poke();
  await eventually('status readyReplicas=2', async () => (await c.get<ReplicaSet>(REPLICASETS, 'web', { namespace: ns })).status?.readyReplicas === 2);
  await c.scale(REPLICASETS, 'web', 2, { namespace: ns });
  const two = await eventually('2 pods, both ready', async () => {
    const now = await podsOf(ns, 'app=web');
    return now.length === 2 && now.every((p) => p.metadata.labels?.ready === 'yes') ? now : undefined;
  });
  assert.deepEqual(two.map((p) => p.metadata.name).sort(), three.slice(0, 2).map((p) => p.metadata.name).sort());
  const st = await eventually('status settles', async () => {
    const r = await c.get<ReplicaSet>(REPLICASETS, 'web', { namespace: ns });
    return r.status?.replicas === 2 && r.status.availableReplicas === 2 && r.status.observedGeneration === r.metadata.generation ? r.status : undefined;
  });
  assert.equal(st.fullyLabeledReplicas, 2);

  // Releasing: a pod relabelled out of the selector loses its owner and is replaced.
  await c.patch(PODS, two[0]!.metadata.name, { metadata: { labels: { app: 'other' } } }, 'merge', { namespace: ns });
  await eventually('released pod has no owner', async () => ((await c.get<Pod>(PODS, two[0]!.metadata.name, { namespace: ns })).metadata.ownerReferences ?? []).length === 0);
  await eventually('replacement for the released pod', async () => (await podsOf(ns, 'app=web')).length === 2);

  // Adoption: an orphan matching the selector is adopted (and then one pod too many is removed).
  await c.patch(PODS, two[0]!.metadata.name, { metadata: { labels: { app: 'web' } } }, 'merge', { namespace: ns });
  await eventually('back to 2 pods after adopting', async () => {
    const now = await podsOf(ns, 'app=web');
    return now.length === 2 && now.every((p) => p.metadata.ownerReferences?.[0]?.name === 'web');
  });

  const events = await c.list(EVENTS, { namespace: ns });
  const reasons = new Set(events.items.map((e) => (e as { reason?: string }).reason));
  assert.ok(reasons.has('SuccessfulCreate') && reasons.has('SuccessfulDelete'), `events: ${[...reasons].join(',')}`);
});
