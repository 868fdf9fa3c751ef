import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Affinity, NodeSelectorRequirement } from '../../affinity-types.js';
import { CycleState } from '../../framework.js';
import { PodInfo } from '../../pod-info.js';
import { testNode, testPod, testSnapshot } from '../../test-objects.js';
import { NodeAffinity } from './node-affinity.js';
import { requirementMatches } from './node-selector.js';

const plugin = new NodeAffinity();
const snap = testSnapshot([
  testNode('ssd-a', { labels: { disk: 'ssd', zone: 'a', cores: '16' } }),
  testNode('hdd-b', { labels: { disk: 'hdd', zone: 'b', cores: '4' } }),
  testNode('bare'),
]);
const podWith = (spec: { nodeSelector?: Record<string, string>; affinity?: Affinity }) => new PodInfo(testPod('p', { spec }));
const feasible = (pod: PodInfo) => ['ssd-a', 'hdd-b', 'bare'].filter((n) => plugin.filter(new CycleState(), pod, snap.get(n)!).code === 'Success');
const required = (...terms: NodeSelectorRequirement[][]): Affinity => ({
  nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms.map((matchExpressions) => ({ matchExpressions })) } },
});

describe('NodeAffinity filter', () => {
  it('skips pods with neither nodeSelector nor required node affinity', () => {
    assert.equal(plugin.preFilter(new CycleState(), podWith({})).code, 'Skip');
  });

  it('applies nodeSelector', () => {
    assert.deepEqual(feasible(podWith({ nodeSelector: { disk: 'ssd' } })), ['ssd-a']);
    const s = plugin.filter(new CycleState(), podWith({ nodeSelector: { disk: 'ssd' } }), snap.get('bare')!);
    assert.equal(s.code, 'UnschedulableAndUnresolvable');
    assert.deepEqual(s.reasons, ["node(s) didn't match Pod's node affinity/selector"]);
  });

  it('supports In, NotIn, Exists, DoesNotExist, Gt and Lt; terms are ORed, expressions ANDed', () => {
    assert.deepEqual(feasible(podWith({ affinity: required([{ key: 'zone', operator: 'In', values: ['a', 'c'] }]) })), ['ssd-a']);
    assert.deepEqual(feasible(podWith({ affinity: required([{ key: 'zone', operator: 'NotIn', values: ['a'] }]) })), ['hdd-b', 'bare']);
    assert.deepEqual(feasible(podWith({ affinity: required([{ key: 'disk', operator: 'Exists' }]) })), ['ssd-a', 'hdd-b']);
    assert.deepEqual(feasible(podWith({ affinity: required([{ key: 'disk', operator: 'DoesNotExist' }]) })), ['bare']);
    assert.deepEqual(feasible(podWith({ affinity: required([{ key: 'cores', operator: 'Gt', values: ['8'] }]) })), ['ssd-a']);
    assert.deepEqual(feasible(podWith({ affinity: required([{ key: 'cores', operator: 'Lt', values: ['8'] }]) })), ['hdd-b']);
    assert.deepEqual(
      feasible(podWith({ affinity: required([{ key: 'disk', operator: 'In', values: ['ssd'] }, { key: 'zone', operator: 'In', values: ['b'] }]) })),
      [],
    );
    assert.deepEqual(
      feasible(podWith({ affinity: required([{ key: 'disk', operator: 'In', values: ['ssd'] }], [{ key: 'zone', operator: 'In', values: ['b'] }]) })),
      ['ssd-a', 'hdd-b'],
    );
  });

  it('requires both nodeSelector and node affinity, matches metadata.name fields, and an empty term list matches nothing', () => {
    const both = podWith({ nodeSelector: { disk: 'hdd' }, affinity: required([{ key: 'zone', operator: 'In', values: ['a'] }]) });
    assert.deepEqual(feasible(both), []);
    const byName = podWith({
      affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['bare'] }] }] } } },
    });
    assert.deepEqual(feasible(byName), ['bare']);
    assert.deepEqual(feasible(podWith({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] } } } })), []);
  });

  it('does not match Gt/Lt on non-integers', () => {
    assert.equal(requirementMatches({ key: 'v', operator: 'Gt', values: ['1'] }, { v: '2.5' }), false);
    assert.equal(requirementMatches({ key: 'v', operator: 'Gt', values: ['x'] }, { v: '2' }), false);
    assert.equal(requirementMatches({ key: 'v', operator: 'Gt', values: ['1'] }, {}), false);
  });
});

describe('NodeAffinity score', () => {
  it('sums the weights of matching preferred terms and scales the best to 100', () => {
    const pod = podWith({
      affinity: {
        nodeAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 80, preference: { matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }] } },
            { weight: 20, preference: { matchExpressions: [{ key: 'zone', operator: 'Exists' }] } },
          ],
        },
      },
    });
    const state = new CycleState();
    assert.equal(plugin.preScore(state, pod).code, 'Success');
    const names = ['ssd-a', 'hdd-b', 'bare'];
    const scores = Float64Array.from(names.map((n) => plugin.score(state, pod, snap.get(n)!)));
    assert.deepEqual([...scores], [100, 20, 0]);
    plugin.normalizeScore(state, pod, scores, 3);
    assert.deepEqual([...scores], [100, 20, 0]);
    assert.equal(plugin.preScore(new CycleState(), podWith({})).code, 'Skip');
  });
});
