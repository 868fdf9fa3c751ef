import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CycleState } from '../../framework.js';
import { PodInfo } from '../../pod-info.js';
import { testNode, testPod, testSnapshot } from '../../test-objects.js';
import { SelectorSpread } from './selector-spread.js';

describe('SelectorSpread', () => {
  it('scores nodes with fewer pods of the same controller higher', () => {
    const snap = testSnapshot(
      [testNode('n1'), testNode('n2'), testNode('n3')],
      [
        testPod('web-1', { owner: 'web-rs', nodeName: 'n1' }),
        testPod('web-2', { owner: 'web-rs', nodeName: 'n1' }),
        testPod('web-3', { owner: 'web-rs', nodeName: 'n2' }),
        testPod('other', { owner: 'other-rs', nodeName: 'n3' }),
      ],
    );
    const plugin = new SelectorSpread();
    const pod = new PodInfo(testPod('web-4', { owner: 'web-rs' }));
    const state = new CycleState();
    assert.equal(plugin.preScore(state, pod).code, 'Success');
    const scores = Float64Array.from(snap.nodeList.map((n) => plugin.score(state, pod, n)));
    assert.deepEqual([...scores], [2, 1, 0]);
    plugin.normalizeScore(state, pod, scores, 3);
    assert.deepEqual([...scores], [0, 50, 100]);
  });

  it('skips pods without a controller', () => {
    assert.equal(new SelectorSpread().preScore(new CycleState(), new PodInfo(testPod('solo'))).code, 'Skip');
  });
});
