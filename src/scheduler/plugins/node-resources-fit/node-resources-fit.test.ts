import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CycleState } from '../../framework.js';
import { PodInfo } from '../../pod-info.js';
import { testNode, testPod, testSnapshot } from '../../test-objects.js';
import { NodeResourcesFit } from './node-resources-fit.js';

const fit = new NodeResourcesFit();
const filter = (pod: ReturnType<typeof testPod>, snap: ReturnType<typeof testSnapshot>, node: string) =>
  fit.filter(new CycleState(), new PodInfo(pod), snap.get(node)!);

describe('NodeResourcesFit', () => {
  it("admits a pod whose requests fit in allocatable minus what the node's pods request", () => {
    const snap = testSnapshot([testNode('n1', { cpu: '2', memory: '4Gi' })], [testPod('old', { cpu: '1', memory: '2Gi', nodeName: 'n1' })]);
    assert.equal(filter(testPod('p', { cpu: '1', memory: '2Gi' }), snap, 'n1').code, 'Success');
    const s = filter(testPod('p', { cpu: '1500m', memory: '3Gi' }), snap, 'n1');
    assert.equal(s.code, 'Unschedulable');
    assert.deepEqual(s.reasons, ['Insufficient cpu', 'Insufficient memory']);
    assert.deepEqual(filter(testPod('p', { cpu: '1001m' }), snap, 'n1').reasons, ['Insufficient cpu']);
  });

  it('counts pods against allocatable pods even for pods without requests', () => {
    const snap = testSnapshot([testNode('n1', { pods: '1' })], [testPod('old', { nodeName: 'n1' })]);
    assert.deepEqual(filter(testPod('p'), snap, 'n1').reasons, ['Too many pods']);
  });

  it('checks extended resources the node may not have at all', () => {
    const gpuPod = testPod('p', { containers: [{ name: 'c', resources: { requests: { 'example.com/gpu': '1' } } }] });
    const snap = testSnapshot([testNode('plain'), testNode('gpu', { extra: { 'example.com/gpu': '1' } })]);
    assert.deepEqual(filter(gpuPod, snap, 'plain').reasons, ['Insufficient example.com/gpu']);
    assert.equal(filter(gpuPod, snap, 'gpu').code, 'Success');
  });

  it('treats a node without allocatable as full', () => {
    const node = testNode('bare');
    delete node.status!.allocatable;
    const s = filter(testPod('p', { cpu: '10m' }), testSnapshot([node]), 'bare');
    assert.deepEqual(s.reasons, ['Too many pods', 'Insufficient cpu']);
  });
});
