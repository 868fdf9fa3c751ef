import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Toleration } from '../../../api/core/v1/pod-types.js';
import { CycleState } from '../../framework.js';
import { PodInfo } from '../../pod-info.js';
import { testNode, testPod, testSnapshot } from '../../test-objects.js';
import { tolerates } from '../../tolerations.js';
import { TaintToleration } from './taint-toleration.js';

const plugin = new TaintToleration();
const snap = testSnapshot([
  testNode('clean'),
  testNode('gpu', { taints: [{ key: 'gpu', value: 'true', effect: 'NoSchedule' }] }),
  testNode('draining', { taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' }] }),
  testNode('soft', { taints: [{ key: 'spot', value: 'yes', effect: 'PreferNoSchedule' }] }),
]);
const pod = (tolerations: Toleration[] = []) => new PodInfo(testPod('p', { spec: { tolerations } }));
const feasible = (p: PodInfo) => ['clean', 'gpu', 'draining', 'soft'].filter((n) => plugin.filter(new CycleState(), p, snap.get(n)!).code === 'Success');

describe('TaintToleration', () => {
  it('rejects NoSchedule and NoExecute taints that are not tolerated, with the taint in the reason', () => {
    assert.deepEqual(feasible(pod()), ['clean', 'soft']);
    const s = plugin.filter(new CycleState(), pod(), snap.get('gpu')!);
    assert.equal(s.code, 'UnschedulableAndUnresolvable');
    assert.deepEqual(s.reasons, ['node(s) had untolerated taint {gpu: true}']);
  });

  it('admits tolerated taints (Equal with value, Exists, empty key with Exists tolerates all)', () => {
    assert.deepEqual(feasible(pod([{ key: 'gpu', operator: 'Equal', value: 'true', effect: 'NoSchedule' }])), ['clean', 'gpu', 'soft']);
    assert.deepEqual(feasible(pod([{ key: 'gpu', value: 'false' }])), ['clean', 'soft']);
    assert.deepEqual(feasible(pod([{ key: 'node.kubernetes.io/not-ready', operator: 'Exists' }])), ['clean', 'draining', 'soft']);
    assert.deepEqual(feasible(pod([{ operator: 'Exists' }])), ['clean', 'gpu', 'draining', 'soft']);
  });

  it('matches effects exactly when a toleration names one', () => {
    assert.equal(tolerates({ key: 'gpu', operator: 'Exists', effect: 'NoExecute' }, { key: 'gpu', effect: 'NoSchedule' }), false);
    assert.equal(tolerates({ key: 'gpu', operator: 'Exists' }, { key: 'gpu', effect: 'NoSchedule' }), true);
  });

  it('scores nodes with untolerated PreferNoSchedule taints lower', () => {
    const p = pod();
    const nodes = [snap.get('clean')!, snap.get('soft')!];
    const state = new CycleState();
    assert.equal(plugin.preScore(state, p, nodes, 2).code, 'Success');
    const scores = Float64Array.from(nodes.map((n) => plugin.score(state, p, n)));
    plugin.normalizeScore(state, p, scores, 2);
    assert.deepEqual([...scores], [100, 0]);
    const tolerant = pod([{ key: 'spot', operator: 'Exists', effect: 'PreferNoSchedule' }]);
    const st2 = new CycleState();
    plugin.preScore(st2, tolerant, nodes, 2);
    assert.equal(plugin.score(st2, tolerant, snap.get('soft')!), 0);
    assert.equal(plugin.preScore(new CycleState(), p, [snap.get('clean')!], 1).code, 'Skip');
  });
});
