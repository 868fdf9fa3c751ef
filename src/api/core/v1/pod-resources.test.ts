import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Quantity } from '../../quantity.js';
import { podResources, type ResourceList } from './pod-resources.js';
import type { PodSpec } from './pod-types.js';

const shown = (l: ResourceList) => Object.fromEntries(Object.entries(l).map(([k, v]) => [k, v.toString()]));
const spec: PodSpec = {
  containers: [
    { name: 'a', image: 'x', resources: { requests: { cpu: '100m' }, limits: { cpu: '200m' } } },
    { name: 'b', image: 'x' },
  ],
  overhead: { cpu: '250m', memory: '160Mi' },
};

describe('podResources', () => {
  it('adds the overhead to the requests, and to the limits the pod sets only', () => {
    assert.deepEqual(shown(podResources(spec, 'requests')), { cpu: '350m', memory: '160Mi' });
    assert.deepEqual(shown(podResources(spec, 'limits')), { cpu: '450m' });
    assert.deepEqual(shown(podResources(spec, 'requests', { overhead: false })), { cpu: '100m' });
    assert.deepEqual(shown(podResources(spec, 'limits', { overhead: false })), { cpu: '200m' });
  });

  it('counts what a container does not request as `nonMissing` says (the scheduler\'s scoring defaults)', () => {
    const nonMissing = { cpu: Quantity.parse('100m')!, memory: Quantity.parse('200Mi')! };
    // a: 100m and 200Mi; b: 100m and 200Mi; then the overhead.
    assert.deepEqual(shown(podResources(spec, 'requests', { nonMissing })), { cpu: '450m', memory: '560Mi' });
  });
});
