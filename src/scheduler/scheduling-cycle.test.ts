import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PodInfo } from './pod-info.js';
import { buildFramework, defaultProfile } from './registry.js';
import { SchedulingAlgorithm, fitErrorMessage, numFeasibleNodesToFind } from './scheduling-cycle.js';
import { ClusterSnapshot } from './snapshot.js';
import { testNode, testPod } from './test-objects.js';

function algorithm(snap: ClusterSnapshot, percentageOfNodesToScore = 0) {
  return new SchedulingAlgorithm(buildFramework(defaultProfile(), { snapshot: snap }), snap, { percentageOfNodesToScore, random: () => 0.5 });
}

describe('numFeasibleNodesToFind', () => {
  it('evaluates every node of small clusters and an adaptive share of big ones, never fewer than 100', () => {
    assert.equal(numFeasibleNodesToFind(0), 0);
    assert.equal(numFeasibleNodesToFind(60), 60);
    assert.equal(numFeasibleNodesToFind(100), 100);
    assert.equal(numFeasibleNodesToFind(150), 100); // 49.5% would be 74
    assert.equal(numFeasibleNodesToFind(1000), 417);
    assert.equal(numFeasibleNodesToFind(5000), 250);
    assert.equal(numFeasibleNodesToFind(20_000), 1000);
    assert.equal(numFeasibleNodesToFind(5000, 10), 500);
    assert.equal(numFeasibleNodesToFind(5000, 100), 5000);
    assert.equal(numFeasibleNodesToFind(500, 1), 100);
  });
});

describe('fitErrorMessage', () => {
  it('words the reasons as Kubernetes does, sorted', () => {
    const m = fitErrorMessage(3, new Map([["node(s) didn't match Pod's node affinity/selector", 2], ['Insufficient cpu', 1]]));
    assert.equal(m, "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match Pod's node affinity/selector.");
  });
});

describe('SchedulingAlgorithm', () => {
  it('aggregates the reasons of every rejected node into one message and names the rejecting plugins', () => {
    const snap = new ClusterSnapshot();
    snap.setNode(testNode('small', { cpu: '1', labels: { disk: 'ssd' } }));
    snap.setNode(testNode('hdd-1', { labels: { disk: 'hdd' } }));
    snap.setNode(testNode('hdd-2', { labels: { disk: 'hdd' } }));
    const r = algorithm(snap).schedule(new PodInfo(testPod('p', { cpu: '2', spec: { nodeSelector: { disk: 'ssd' } } })));
    assert.equal(r.kind, 'unschedulable');
    if (r.kind !== 'unschedulable') return;
    assert.equal(r.message, "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match Pod's node affinity/selector.");
    assert.deepEqual([...r.plugins].sort(), ['NodeAffinity', 'NodeResourcesFit']);
  });

  it('says so when there are no nodes', () => {
    const r = algorithm(new ClusterSnapshot()).schedule(new PodInfo(testPod('p')));
    assert.deepEqual(r, { kind: 'unschedulable', message: 'no nodes available to schedule pods', plugins: new Set() });
  });

  it('finds the one feasible node of a big cluster however far from the sampling start it is', () => {
    const snap = new ClusterSnapshot();
    for (let i = 0; i < 1000; i++) snap.setNode(testNode(`n${i}`, { labels: { pool: i === 998 ? 'gpu' : 'cpu' } }));
    const alg = algorithm(snap);
    const pod = new PodInfo(testPod('p', { spec: { nodeSelector: { pool: 'gpu' } } }));
    for (let k = 0; k < 3; k++) {
      const r = alg.schedule(pod);
      assert.equal(r.kind, 'scheduled');
      if (r.kind === 'scheduled') {
        assert.equal(r.nodeName, 'n998');
        assert.equal(r.evaluated, 1000);
      }
    }
  });

  it('samples a share of a big cluster and continues round-robin where the last cycle stopped', () => {
    const snap = new ClusterSnapshot();
    for (let i = 0; i < 1000; i++) snap.setNode(testNode(`n${i}`));
    const alg = algorithm(snap, 10); // 100 nodes per cycle
    const chosen = new Set<number>();
    for (let k = 0; k < 10; k++) {
      const r = alg.schedule(new PodInfo(testPod(`p${k}`, { cpu: '100m' })));
      assert.equal(r.kind, 'scheduled');
      if (r.kind !== 'scheduled') return;
      assert.equal(r.evaluated, 100);
      assert.equal(r.feasible, 100);
      const i = Number(r.nodeName.slice(1));
      assert.ok(i >= k * 100 && i < (k + 1) * 100, `cycle ${k} chose ${r.nodeName}`);
      chosen.add(i);
    }
    assert.equal(chosen.size, 10);
  });

  it('reports a plugin error instead of throwing', () => {
    const snap = new ClusterSnapshot();
    snap.setNode(testNode('n'));
    const fw = buildFramework(
      { schedulerName: 'broken', plugins: [{ name: 'Broken' }] },
      { snapshot: snap },
      new Map([['Broken', () => ({ name: 'Broken', filter: () => ({ code: 'Error', reasons: ['disk on fire'] }) as never })]]),
    );
    const r = new SchedulingAlgorithm(fw, snap).schedule(new PodInfo(testPod('p')));
    assert.deepEqual(r, { kind: 'error', message: 'Broken: disk on fire' });
  });
});
