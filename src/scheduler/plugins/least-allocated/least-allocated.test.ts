import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CycleState } from '../../framework.js';
import { PodInfo } from '../../pod-info.js';
import { testNode, testPod, testSnapshot } from '../../test-objects.js';
import { LeastAllocated, leastRequestedScore } from './least-allocated.js';

describe('NodeResourcesLeastAllocated', () => {
  it('computes the free fraction, 0 when over or without allocatable', () => {
    assert.equal(leastRequestedScore(1000, 4000), 75);
    assert.equal(leastRequestedScore(5000, 4000), 0);
    assert.equal(leastRequestedScore(10, 0), 0);
  });

  it('prefers the emptier node and averages CPU and memory', () => {
    const snap = testSnapshot(
      [testNode('busy', { cpu: '4', memory: '8Gi' }), testNode('idle', { cpu: '4', memory: '8Gi' })],
      [testPod('old', { cpu: '2', memory: '4Gi', nodeName: 'busy' })],
    );
    const plugin = new LeastAllocated();
    const pod = new PodInfo(testPod('p', { cpu: '1', memory: '2Gi' }));
    assert.equal(plugin.score(new CycleState(), pod, snap.get('busy')!), 25);
    assert.equal(plugin.score(new CycleState(), pod, snap.get('idle')!), 75);
  });

  it('counts pods without requests with the non-zero defaults', () => {
    const snap = testSnapshot([testNode('n', { cpu: '1', memory: '1Gi' })], [testPod('old', { nodeName: 'n' })]);
    const s = new LeastAllocated().score(new CycleState(), new PodInfo(testPod('p')), snap.get('n')!);
    // 200m of 1000m used (80 free), 400Mi of 1024Mi used (60.9 free)
    assert.ok(Math.abs(s - (80 + ((1024 - 400) * 100) / 1024) / 2) < 1e-9);
  });
});
