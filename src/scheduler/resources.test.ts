import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Resources, addResourceList, podRequests } from './resources.js';
import { testPod } from './test-objects.js';

const Mi = 2 ** 20;

describe('addResourceList', () => {
  it('parses Kubernetes quantities into millicores and bytes', () => {
    const cases: Array<[string | number, number, number]> = [
      ['100m', 100, 1],
      ['1.5', 1500, 2],
      ['2e3', 2_000_000, 2000],
      [2, 2000, 2],
      ['0.1', 100, 1],
      ['1.1', 1100, 2],
    ];
    for (const [q, milli, bytes] of cases) {
      const r = new Resources();
      addResourceList(r, { cpu: q, memory: q });
      assert.equal(r.milliCpu, milli, `cpu ${q}`);
      assert.equal(r.memory, bytes, `memory ${q}`);
    }
    const r = new Resources();
    const pods = addResourceList(r, { memory: '128Mi', 'ephemeral-storage': '1G', pods: '110', 'example.com/gpu': '2' });
    assert.equal(r.memory, 128 * Mi);
    assert.equal(r.ephemeralStorage, 1e9);
    assert.equal(pods, 110);
    assert.equal(r.getScalar('example.com/gpu'), 2);
  });

  it('ignores malformed quantities rather than counting garbage', () => {
    const r = new Resources();
    addResourceList(r, { cpu: 'lots', memory: '1Qi' });
    assert.equal(r.milliCpu, 0);
    assert.equal(r.memory, 0);
  });
});

describe('podRequests', () => {
  it('sums containers and keeps 0 for fit but defaults for scoring when requests are missing', () => {
    const pod = testPod('p', {
      containers: [
        { name: 'a', resources: { requests: { cpu: '250m', memory: '64Mi' } } },
        { name: 'b', resources: {} },
      ],
    });
    const r = podRequests(pod.spec);
    assert.equal(r.requests.milliCpu, 250);
    assert.equal(r.requests.memory, 64 * Mi);
    assert.equal(r.nonZeroMilliCpu, 350); // b counts 100m for scoring
    assert.equal(r.nonZeroMemory, 264 * Mi); // b counts 200Mi for scoring
  });

  it('takes the largest init container when it exceeds the sum of app containers, then adds overhead', () => {
    const pod = testPod('p', {
      containers: [
        { name: 'a', resources: { requests: { cpu: '200m', memory: '100Mi' } } },
        { name: 'b', resources: { requests: { cpu: '200m', memory: '100Mi' } } },
      ],
      spec: {
        initContainers: [
          { name: 'migrate', resources: { requests: { cpu: '1', memory: '50Mi' } } },
          { name: 'warm', resources: { requests: { cpu: '100m', memory: '300Mi' } } },
        ],
        overhead: { cpu: '50m', memory: '10Mi' },
      },
    });
    const r = podRequests(pod.spec);
    assert.equal(r.requests.milliCpu, 1000 + 50);
    assert.equal(r.requests.memory, 300 * Mi + 10 * Mi);
  });

  it('counts sidecars (restartable init containers) alongside the app containers', () => {
    const pod = testPod('p', {
      containers: [{ name: 'a', resources: { requests: { cpu: '500m', memory: '100Mi' } } }],
      spec: {
        initContainers: [
          { name: 'proxy', restartPolicy: 'Always', resources: { requests: { cpu: '100m', memory: '50Mi' } } },
          { name: 'setup', resources: { requests: { cpu: '550m', memory: '10Mi' } } },
        ],
      },
    });
    const r = podRequests(pod.spec);
    // running: 500m + 100m sidecar = 600m; init phase: setup 550m + sidecar 100m = 650m.
    assert.equal(r.requests.milliCpu, 650);
    assert.equal(r.requests.memory, 150 * Mi);
  });

  it('keeps extended resources', () => {
    const pod = testPod('p', { containers: [{ name: 'a', resources: { requests: { 'example.com/gpu': '1' } } }] });
    assert.equal(podRequests(pod.spec).requests.getScalar('example.com/gpu'), 1);
  });
});
