import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Pod } from '../api/core/v1/pod-types.js';
import { compareForDeletion, podAvailability } from './pod-util.js';

const pod = (name: string, o: { node?: string; phase?: Pod['status'] extends infer S ? (S extends { phase?: infer P } ? P : never) : never; readySince?: string; created?: string; restarts?: number } = {}): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, creationTimestamp: o.created ?? '2024-01-01T00:00:00Z' },
  spec: { containers: [{ name: 'c' }], ...(o.node ? { nodeName: o.node } : {}) },
  status: {
    phase: o.phase ?? 'Running',
    conditions: o.readySince ? [{ type: 'Ready', status: 'True', lastTransitionTime: o.readySince }] : [],
    containerStatuses: [{ name: 'c', ready: !!o.readySince, restartCount: o.restarts ?? 0, image: '', imageID: '' }],
  },
});

describe('pods', () => {
  it('deletes unscheduled, then pending, then not ready, then recently ready, restarted and newest pods first', () => {
    const pods = [
      pod('old-ready', { node: 'n', readySince: '2024-01-01T00:00:00Z' }),
      pod('new-ready', { node: 'n', readySince: '2024-01-02T00:00:00Z' }),
      pod('not-ready', { node: 'n' }),
      pod('pending', { node: 'n', phase: 'Pending' }),
      pod('unscheduled', { phase: 'Pending' }),
      pod('restarty', { node: 'n', readySince: '2024-01-01T00:00:00Z', restarts: 3 }),
    ];
    assert.deepEqual([...pods].sort(compareForDeletion).map((p) => p.metadata.name), ['unscheduled', 'pending', 'not-ready', 'new-ready', 'restarty', 'old-ready']);
  });

  it('is available only after minReadySeconds of readiness, saying how long to wait', () => {
    const p = pod('p', { node: 'n', readySince: '2024-01-01T00:00:00Z' });
    const t = Date.parse('2024-01-01T00:00:05Z');
    assert.deepEqual(podAvailability(p, 0, t), { available: true });
    assert.equal(podAvailability(p, 10, t).available, false);
    assert.ok((podAvailability(p, 10, t).waitMs ?? 0) >= 5000);
    assert.equal(podAvailability(p, 5, t).available, true);
    assert.equal(podAvailability(pod('q'), 0, t).available, false);
  });
});
