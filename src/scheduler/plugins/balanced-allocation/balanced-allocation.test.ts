import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CycleState } from '../../framework.js';
import { PodInfo } from '../../pod-info.js';
import { testNode, testPod, testSnapshot } from '../../test-objects.js';
import { BalancedAllocation } from './balanced-allocation.js';

describe('NodeResourcesBalancedAllocation', () => {
  it('prefers the node where CPU and memory fractions end up closest', () => {
    const snap = testSnapshot(
      [testNode('cpu-heavy', { cpu: '4', memory: '8Gi' }), testNode('even', { cpu: '4', memory: '8Gi' })],
      [testPod('cruncher', { cpu: '3', memory: '1Gi', nodeName: 'cpu-heavy' }), testPod('web', { cpu: '1', memory: '2Gi', nodeName: 'even' })],
    );
    const plugin = new BalancedAllocation();
    const pod = new PodInfo(testPod('p', { cpu: '1', memory: '2Gi' }));
    const heavy = plugin.score(new CycleState(), pod, snap.get('cpu-heavy')!);
    const even = plugin.score(new CycleState(), pod, snap.get('even')!);
    assert.equal(even, 100); // 2/4 CPU, 4/8Gi memory
    assert.equal(heavy, (1 - Math.abs(1 - 3 / 8) / 2) * 100);
    assert.ok(even > heavy);
  });
});
