import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jsonMergePatch, strategicMergePatch } from '../api/patch.js';
import { builtinResources } from '../api/registry.js';
import { threeWayMergePatch, twoWayMergePatch } from './three-way-patch.js';

const registry = builtinResources();
const podMeta = registry.byResource('', 'pods')!.patchMeta;
const deployMeta = registry.byResource('apps', 'deployments')!.patchMeta;

const pod = (labels: Record<string, string>, containers: Array<Record<string, unknown>>, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', labels },
  spec: { containers, ...extra },
});

test('changes what the file changed, removes what the file dropped, keeps what others set', () => {
  const original = pod({ app: 'web', tier: 'front' }, [{ name: 'c', image: 'busybox:1' }]);
  const modified = pod({ app: 'web' }, [{ name: 'c', image: 'busybox:2' }]);
  const current = {
    ...pod({ app: 'web', tier: 'front', owner: 'ops' }, [{ name: 'c', image: 'busybox:1', imagePullPolicy: 'IfNotPresent' }], { restartPolicy: 'Always' }),
    status: { phase: 'Pending' },
  };
  const patch = threeWayMergePatch(original, modified, current, podMeta);
  assert.deepEqual(patch.metadata, { labels: { tier: null } });
  const result = strategicMergePatch(current, patch, podMeta) as typeof current;
  assert.deepEqual(result.metadata.labels, { app: 'web', owner: 'ops' });
  assert.deepEqual(result.spec.containers, [{ name: 'c', image: 'busybox:2', imagePullPolicy: 'IfNotPresent' }]);
  assert.equal((result.spec as { restartPolicy?: string }).restartPolicy, 'Always');
  assert.deepEqual(result.status, { phase: 'Pending' });
});

test('a container dropped from the file is deleted by merge key; order follows the file', () => {
  const original = pod({}, [{ name: 'a', image: 'x' }, { name: 'b', image: 'y' }]);
  const modified = pod({}, [{ name: 'c', image: 'z' }, { name: 'a', image: 'x' }]);
  const current = pod({}, [{ name: 'a', image: 'x', tty: false }, { name: 'b', image: 'y' }]);
  const patch = threeWayMergePatch(original, modified, current, podMeta) as { spec: Record<string, unknown> };
  assert.deepEqual(patch.spec['$setElementOrder/containers'], [{ name: 'c' }, { name: 'a' }]);
  assert.ok((patch.spec.containers as Array<Record<string, unknown>>).some((c) => c.name === 'b' && c.$patch === 'delete'));
  const result = strategicMergePatch(current, patch, podMeta) as ReturnType<typeof pod>;
  assert.deepEqual(result.spec.containers, [{ name: 'c', image: 'z' }, { name: 'a', image: 'x', tty: false }]);
});

test('merged primitive lists add values and drop removed ones; nothing to do is an empty patch', () => {
  const base = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', finalizers: ['a/x', 'b/y'] }, spec: { containers: [{ name: 'c', image: 'i' }] } };
  const modified = { ...base, metadata: { name: 'p', finalizers: ['a/x', 'c/z'] } };
  const current = { ...base, metadata: { name: 'p', finalizers: ['a/x', 'b/y', 'd/w'] } };
  const patch = threeWayMergePatch(base, modified, current, podMeta) as { metadata: Record<string, unknown> };
  assert.deepEqual(patch.metadata['$deleteFromPrimitiveList/finalizers'], ['b/y']);
  assert.deepEqual(patch.metadata.finalizers, ['c/z']);
  const result = strategicMergePatch(current, patch, podMeta) as typeof base;
  assert.deepEqual(result.metadata.finalizers.sort(), ['a/x', 'c/z', 'd/w']);
  assert.deepEqual(threeWayMergePatch(modified, modified, { ...modified, status: { phase: 'Running' } }, podMeta), {});
});

test('a retainKeys struct lists the keys to keep (Deployment strategy)', () => {
  const d = (strategy: Record<string, unknown>) => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { strategy } });
  const current = d({ type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } });
  const patch = threeWayMergePatch(d({}), d({ type: 'Recreate' }), current, deployMeta) as { spec: { strategy: Record<string, unknown> } };
  assert.deepEqual(patch.spec.strategy.$retainKeys, ['type']);
  const result = strategicMergePatch(current, patch, deployMeta) as ReturnType<typeof d>;
  assert.deepEqual(result.spec.strategy, { type: 'Recreate' });
});

test('without a schema the patch is a JSON merge patch: lists replace, nulls delete', () => {
  const original = { apiVersion: 'x.dev/v1', kind: 'Thing', metadata: { name: 't' }, spec: { list: [1, 2], old: true } };
  const modified = { apiVersion: 'x.dev/v1', kind: 'Thing', metadata: { name: 't' }, spec: { list: [3] } };
  const current = { ...original, spec: { ...original.spec, other: 'kept' } };
  const patch = threeWayMergePatch(original, modified, current);
  assert.deepEqual(patch, { spec: { old: null, list: [3] } });
  assert.deepEqual((jsonMergePatch(current, patch) as typeof current).spec, { list: [3], other: 'kept' });
});

test('the two-way patch of an edit carries only the edit', () => {
  const before = pod({ app: 'web' }, [{ name: 'c', image: 'a' }], { restartPolicy: 'Always' });
  const after = pod({ app: 'web', x: '1' }, [{ name: 'c', image: 'a' }]);
  assert.deepEqual(twoWayMergePatch(before, after, podMeta), { metadata: { labels: { x: '1' } }, spec: { restartPolicy: null } });
});
