import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Node } from '../../../api/core/v1/node.js';
import { CycleState, type Status } from '../../framework.js';
import { PodInfo } from '../../pod-info.js';
import { testNode, testPod, testSnapshot } from '../../test-objects.js';
import { NodeRuntimeHandler } from './node-runtime-handler.js';

const withHandlers = (node: Node, names: string[]): Node => ({
  ...node,
  status: { ...node.status, runtimeHandlers: names.map((name) => ({ name, features: { recursiveReadOnlyMounts: false, userNamespaces: true } })) },
});

describe('NodeRuntimeHandler', () => {
  const snapshot = testSnapshot([withHandlers(testNode('vm'), ['runc', 'nubis-microvm']), withHandlers(testNode('plain'), ['runc']), testNode('old')]);
  snapshot.setRuntimeClass('secure', 'nubis-microvm');
  snapshot.setRuntimeClass('runc', 'runc');
  const plugin = new NodeRuntimeHandler({ snapshot });
  const run = (runtimeClassName?: string) => {
    const pod = new PodInfo(testPod('p', { spec: runtimeClassName ? { runtimeClassName } : {} }));
    const state = new CycleState();
    const pre = plugin.preFilter(state, pod);
    if (pre.code !== 'Success') return pre;
    return Object.fromEntries(['vm', 'plain', 'old'].map((n) => [n, plugin.filter(state, pod, snapshot.get(n)!).reasons.join() || 'fits']));
  };

  it('has nothing to say about pods without a RuntimeClass', () => {
    assert.equal((run() as Status).code, 'Skip');
  });

  it("admits only the nodes that report the class's handler", () => {
    assert.deepEqual(run('secure'), { vm: 'fits', plain: 'node(s) didn\'t support runtime handler "nubis-microvm"', old: 'node(s) didn\'t support runtime handler "nubis-microvm"' });
  });

  it('treats a node that reports no handlers as runc-only', () => {
    assert.deepEqual(run('runc'), { vm: 'fits', plain: 'fits', old: 'fits' });
  });

  it('rejects every node, retrying on RuntimeClass changes, while the class is unknown', () => {
    const s = run('gone') as Status;
    assert.equal(s.code, 'UnschedulableAndUnresolvable');
    assert.deepEqual(s.reasons, ['RuntimeClass "gone" not found']);
    assert.ok(plugin.events.includes('RuntimeClassChange') && plugin.events.includes('NodeRuntimeHandlersChange'));
  });
});
