import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Deployment } from '../../api/apps/v1/deployment.js';
import type { ReplicaSet } from '../../api/apps/v1/replica-set.js';
import type { PodTemplateSpec } from '../../api/core/v1/pod-types.js';
import { equalIgnoreHash, fenceposts, maxUnavailable, REVISION, REVISION_HISTORY, scaledValue, setNewReplicaSetAnnotations, templateHash } from './deployment-util.js';

const template = (image: string): PodTemplateSpec => ({ metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image }] } });
const deployment = (replicas: number, ru: { maxSurge?: number | string; maxUnavailable?: number | string } = {}): Deployment => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', annotations: { team: 'a', 'kubectl.kubernetes.io/last-applied-configuration': '{}' } },
  spec: { replicas, selector: { matchLabels: { app: 'web' } }, template: template('x'), strategy: { type: 'RollingUpdate', rollingUpdate: ru } },
});

describe('deployment bookkeeping', () => {
  it('hashes templates stably, in Kubernetes\' alphabet, ignoring key order, nulls and collision count changes the hash', () => {
    const a = templateHash(template('nginx:1'));
    assert.match(a, /^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
    const reordered = { spec: { containers: [{ image: 'nginx:1', name: 'c' }] }, metadata: { labels: { app: 'web' }, creationTimestamp: null } } as unknown as PodTemplateSpec;
    assert.equal(templateHash(reordered), a);
    assert.notEqual(templateHash(template('nginx:2')), a);
    assert.notEqual(templateHash(template('nginx:1'), 1), a);
  });

  it('compares templates without the pod-template-hash label', () => {
    const withHash = template('nginx:1');
    withHash.metadata!.labels!['pod-template-hash'] = 'abc';
    assert.equal(equalIgnoreHash(withHash, template('nginx:1')), true);
    assert.equal(equalIgnoreHash(withHash, template('nginx:2')), false);
  });

  it('resolves surge up and unavailability down, never both zero', () => {
    assert.equal(scaledValue('25%', 10, true), 3);
    assert.equal(scaledValue('25%', 10, false), 2);
    assert.deepEqual(fenceposts(deployment(10)), { surge: 3, unavailable: 2 });
    assert.deepEqual(fenceposts(deployment(1, { maxSurge: 0, maxUnavailable: '10%' })), { surge: 0, unavailable: 1 });
    assert.equal(maxUnavailable(deployment(2, { maxUnavailable: 5, maxSurge: 1 })), 2);
    assert.equal(maxUnavailable({ ...deployment(3), spec: { ...deployment(3).spec, strategy: { type: 'Recreate' } } }), 0);
  });

  it('annotates new and rolled-back ReplicaSets as Kubernetes does', () => {
    const d = deployment(3, { maxSurge: 1 });
    const fresh = { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'web-1' }, spec: { selector: {}, template: template('x') } } as ReplicaSet;
    assert.equal(setNewReplicaSetAnnotations(d, fresh, 1, false), true);
    assert.deepEqual(fresh.metadata.annotations, { team: 'a', [REVISION]: '1', 'deployment.kubernetes.io/desired-replicas': '3', 'deployment.kubernetes.io/max-replicas': '4' });
    assert.equal(setNewReplicaSetAnnotations(d, fresh, 1, true), false, 'nothing to change');
    // Rolled back to: the old revision goes into the history.
    assert.equal(setNewReplicaSetAnnotations(d, fresh, 3, true), true);
    assert.equal(fresh.metadata.annotations![REVISION], '3');
    assert.equal((fresh.metadata.annotations as Record<string, string>)[REVISION_HISTORY], '1');
    setNewReplicaSetAnnotations(d, fresh, 5, true);
    assert.equal((fresh.metadata.annotations as Record<string, string>)[REVISION_HISTORY], '1,3');
  });
});
