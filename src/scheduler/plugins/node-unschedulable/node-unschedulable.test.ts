import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CycleState } from '../../framework.js';
import { PodInfo } from '../../pod-info.js';
import { testNode, testPod, testSnapshot } from '../../test-objects.js';
import { NodeUnschedulable } from './node-unschedulable.js';

describe('NodeUnschedulable', () => {
  const plugin = new NodeUnschedulable();
  const snap = testSnapshot([testNode('open'), testNode('cordoned', { unschedulable: true })]);

  it('rejects cordoned nodes and admits the others', () => {
    const pod = new PodInfo(testPod('p'));
    assert.equal(plugin.filter(new CycleState(), pod, snap.get('open')!).code, 'Success');
    assert.deepEqual(plugin.filter(new CycleState(), pod, snap.get('cordoned')!).reasons, ['node(s) were unschedulable']);
  });

  it('admits pods tolerating the unschedulable taint (DaemonSet pods do)', () => {
    const pod = new PodInfo(testPod('ds', { spec: { tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }] } }));
    assert.equal(plugin.filter(new CycleState(), pod, snap.get('cordoned')!).code, 'Success');
  });
});
