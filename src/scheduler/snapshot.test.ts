import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PodInfo } from './pod-info.js';
import { ClusterSnapshot } from './snapshot.js';
import { testNode, testPod } from './test-objects.js';

describe('ClusterSnapshot', () => {
  it('counts an assumed pod at once, keeps it when the binding is confirmed, and undoes it when forgotten', () => {
    const snap = new ClusterSnapshot();
    snap.setNode(testNode('n1'));
    const pod = testPod('p', { cpu: '500m', memory: '1Gi' });
    snap.assumePod(new PodInfo(pod), 'n1');
    const n1 = snap.get('n1')!;
    assert.equal(n1.requested.milliCpu, 500);
    assert.equal(n1.podCount, 1);
    assert.equal(snap.isAssumed('default/p'), true);

    snap.addPod(new PodInfo({ ...pod, spec: { ...pod.spec, nodeName: 'n1' } }), 'n1');
    assert.equal(snap.isAssumed('default/p'), false);
    assert.equal(n1.requested.milliCpu, 500);
    assert.equal(n1.podCount, 1);
    snap.forgetPod('default/p'); // confirmed: forget is a no-op
    assert.equal(n1.podCount, 1);

    snap.assumePod(new PodInfo(testPod('q', { cpu: '1' })), 'n1');
    assert.equal(n1.requested.milliCpu, 1500);
    snap.forgetPod('default/q');
    assert.equal(n1.requested.milliCpu, 500);
    assert.equal(n1.nonZeroMilliCpu, 500);
  });

  it('moves a pod an event reports on another node than assumed', () => {
    const snap = new ClusterSnapshot();
    snap.setNode(testNode('n1'));
    snap.setNode(testNode('n2'));
    snap.assumePod(new PodInfo(testPod('p', { cpu: '1' })), 'n1');
    snap.addPod(new PodInfo(testPod('p', { cpu: '1', nodeName: 'n2' })), 'n2');
    assert.equal(snap.get('n1')!.podCount, 0);
    assert.equal(snap.get('n2')!.requested.milliCpu, 1000);
  });

  it('keeps pods of a deleted node until they go, and lists only existing nodes', () => {
    const snap = new ClusterSnapshot();
    for (const n of ['a', 'b', 'c']) snap.setNode(testNode(n));
    snap.addPod(new PodInfo(testPod('p', { nodeName: 'a' })), 'a');
    snap.removeNode('a');
    assert.deepEqual(snap.nodeList.map((n) => n.name).sort(), ['b', 'c']);
    assert.equal(snap.get('a')?.node, null);
    snap.removePod('default/p');
    assert.equal(snap.get('a'), undefined);
    snap.setNode(testNode('a'));
    assert.deepEqual(snap.nodeList.map((n) => n.listIndex), [0, 1, 2]);
  });

  it('tracks pods with affinity for the inter-pod plugin', () => {
    const snap = new ClusterSnapshot();
    snap.setNode(testNode('n'));
    const anti = testPod('x', { nodeName: 'n', spec: { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: {}, topologyKey: 'kubernetes.io/hostname' }] } } } });
    snap.addPod(new PodInfo(anti), 'n');
    assert.equal(snap.podsWithRequiredAntiAffinity, 1);
    assert.equal(snap.get('n')!.podsWithRequiredAntiAffinity.length, 1);
    snap.removePod('default/x');
    assert.equal(snap.podsWithRequiredAntiAffinity, 0);
    assert.equal(snap.podsWithAffinity, 0);
  });
});
