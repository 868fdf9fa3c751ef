import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CycleState } from '../../framework.js';
import { PodInfo } from '../../pod-info.js';
import { testNode, testPod, testSnapshot } from '../../test-objects.js';
import { NodeName } from './node-name.js';

describe('NodeName', () => {
  const plugin = new NodeName();
  const snap = testSnapshot([testNode('a'), testNode('b')]);

  it('skips pods without spec.nodeName', () => {
    assert.equal(plugin.preFilter(new CycleState(), new PodInfo(testPod('p'))).code, 'Skip');
  });

  it('admits only the named node', () => {
    const pod = new PodInfo(testPod('p', { spec: { nodeName: 'b' } }));
    assert.equal(plugin.preFilter(new CycleState(), pod).code, 'Success');
    assert.equal(plugin.filter(new CycleState(), pod, snap.get('b')!).code, 'Success');
    const s = plugin.filter(new CycleState(), pod, snap.get('a')!);
    assert.equal(s.code, 'UnschedulableAndUnresolvable');
    assert.deepEqual(s.reasons, ["node(s) didn't match the requested node name"]);
  });
});
