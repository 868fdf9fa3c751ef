import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Pod } from '../../../api/core/v1/pod-types.js';
import type { Affinity, PodAffinityTerm } from '../../affinity-types.js';
import { CycleState } from '../../framework.js';
import { PodInfo } from '../../pod-info.js';
import type { ClusterSnapshot } from '../../snapshot.js';
import { testNode, testPod, testSnapshot } from '../../test-objects.js';
import { InterPodAffinity } from './inter-pod-affinity.js';

const HOST = 'kubernetes.io/hostname';
const ZONE = 'topology.kubernetes.io/zone';
const nodes = () => [
  testNode('a1', { labels: { [ZONE]: 'a' } }),
  testNode('a2', { labels: { [ZONE]: 'a' } }),
  testNode('b1', { labels: { [ZONE]: 'b' } }),
];
const term = (app: string, topologyKey = HOST, extra: Partial<PodAffinityTerm> = {}): PodAffinityTerm => ({ labelSelector: { matchLabels: { app } }, topologyKey, ...extra });

/** The nodes the pod may go to: PreFilter then Filter on each node. */
function feasible(snap: ClusterSnapshot, pod: Pod): string[] | string {
  const plugin = new InterPodAffinity({ snapshot: snap });
  const state = new CycleState();
  const info = new PodInfo(pod);
  const pre = plugin.preFilter(state, info);
  if (pre.code === 'Skip') return 'skip';
  return snap.nodeList.filter((n) => plugin.filter(state, info, n).code === 'Success').map((n) => n.name);
}
const withAffinity = (name: string, affinity: Affinity, labels: Record<string, string> = { app: name }, namespace = 'default') =>
  testPod(name, { labels, namespace, spec: { affinity } });

describe('InterPodAffinity filter', () => {
  it('skips pods without terms while no pod in the cluster has required anti-affinity', () => {
    const snap = testSnapshot(nodes(), [testPod('db', { labels: { app: 'db' }, nodeName: 'a1' })]);
    assert.equal(feasible(snap, testPod('web')), 'skip');
  });

  it('places a pod with required affinity next to a matching pod (hostname and zone)', () => {
    const snap = testSnapshot(nodes(), [testPod('db', { labels: { app: 'db' }, nodeName: 'a1' })]);
    assert.deepEqual(feasible(snap, withAffinity('web', { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term('db')] } })), ['a1']);
    assert.deepEqual(feasible(snap, withAffinity('web', { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term('db', ZONE)] } })), ['a1', 'a2']);
  });

  it('lets the first pod of a self-selecting group go anywhere, but not a pod whose affinity matches nothing', () => {
    const snap = testSnapshot(nodes());
    const selfish = withAffinity('cache', { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term('cache')] } });
    assert.deepEqual(feasible(snap, selfish), ['a1', 'a2', 'b1']);
    const lonely = withAffinity('web', { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term('db')] } });
    assert.deepEqual(feasible(snap, lonely), []);
  });

  it('keeps a pod with required anti-affinity away from matching pods', () => {
    const snap = testSnapshot(nodes(), [testPod('web-1', { labels: { app: 'web' }, nodeName: 'a1' })]);
    const pod = withAffinity('web-2', { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term('web')] } }, { app: 'web' });
    assert.deepEqual(feasible(snap, pod), ['a2', 'b1']);
    const zoned = withAffinity('web-2', { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term('web', ZONE)] } }, { app: 'web' });
    assert.deepEqual(feasible(snap, zoned), ['b1']);
  });

  it("honours existing pods' anti-affinity (symmetry)", () => {
    const loner = withAffinity('loner', { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term('noisy')] } });
    loner.spec.nodeName = 'a2';
    const snap = testSnapshot(nodes(), [loner]);
    assert.deepEqual(feasible(snap, testPod('noisy-1', { labels: { app: 'noisy' } })), ['a1', 'b1']);
    assert.deepEqual(feasible(snap, testPod('quiet', { labels: { app: 'quiet' } })), ['a1', 'a2', 'b1']);
  });

  it('matches terms in the own namespace by default, in listed namespaces, or through a namespaceSelector', () => {
    const other = testPod('db', { labels: { app: 'db' }, namespace: 'data', nodeName: 'b1' });
    const snap = testSnapshot(nodes(), [other]);
    snap.setNamespace('data', { team: 'storage' });
    const anti = (t: PodAffinityTerm) => withAffinity('web', { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [t] } });
    assert.deepEqual(feasible(snap, anti(term('db'))), ['a1', 'a2', 'b1']);
    assert.deepEqual(feasible(snap, anti(term('db', HOST, { namespaces: ['data'] }))), ['a1', 'a2']);
    assert.deepEqual(feasible(snap, anti(term('db', HOST, { namespaceSelector: { matchLabels: { team: 'storage' } } }))), ['a1', 'a2']);
    assert.deepEqual(feasible(snap, anti(term('db', HOST, { namespaceSelector: {} }))), ['a1', 'a2']);
    assert.deepEqual(feasible(snap, anti(term('db', HOST, { namespaceSelector: { matchLabels: { team: 'web' } } }))), ['a1', 'a2', 'b1']);
  });

  it('gives Kubernetes reasons', () => {
    const snap = testSnapshot(nodes(), [testPod('web-1', { labels: { app: 'web' }, nodeName: 'a1' })]);
    const plugin = new InterPodAffinity({ snapshot: snap });
    const state = new CycleState();
    const pod = new PodInfo(withAffinity('web-2', { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term('web')] } }, { app: 'web' }));
    plugin.preFilter(state, pod);
    assert.deepEqual(plugin.filter(state, pod, snap.get('a1')!).reasons, ["node(s) didn't match pod anti-affinity rules"]);
  });
});

describe('InterPodAffinity score', () => {
  it('prefers nodes near pods of preferred terms and away from preferred anti-affinity', () => {
    const snap = testSnapshot(nodes(), [testPod('db', { labels: { app: 'db' }, nodeName: 'a1' }), testPod('batch', { labels: { app: 'batch' }, nodeName: 'b1' })]);
    const plugin = new InterPodAffinity({ snapshot: snap });
    const pod = new PodInfo(
      withAffinity('web', {
        podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, podAffinityTerm: term('db', ZONE) }] },
        podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: term('batch') }] },
      }),
    );
    const state = new CycleState();
    assert.equal(plugin.preScore(state, pod).code, 'Success');
    const scores = Float64Array.from(snap.nodeList.map((n) => plugin.score(state, pod, n)));
    assert.deepEqual([...scores], [50, 50, -100]);
    plugin.normalizeScore(state, pod, scores, 3);
    assert.deepEqual([...scores], [100, 100, 0]);
  });

  it('skips when neither the pod nor any existing pod has affinity terms', () => {
    const snap = testSnapshot(nodes(), [testPod('db', { nodeName: 'a1' })]);
    assert.equal(new InterPodAffinity({ snapshot: snap }).preScore(new CycleState(), new PodInfo(testPod('web'))).code, 'Skip');
  });
});
