import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiVersionOf, builtinResources, ResourceRegistry } from './registry.js';
import { unknownFields } from './schema.js';

const registry = builtinResources();

describe('ResourceRegistry', () => {
  it('serves the issue\'s kinds with discovery data', () => {
    const kinds = registry.all().map((t) => `${apiVersionOf(t)}/${t.kind}`);
    for (const k of [
      'v1/Namespace', 'v1/Node', 'v1/Pod', 'v1/Service', 'v1/Endpoints', 'v1/ConfigMap', 'v1/Secret', 'v1/Event',
      'apps/v1/Deployment', 'apps/v1/ReplicaSet', 'apps/v1/DaemonSet', 'batch/v1/Job', 'coordination.k8s.io/v1/Lease',
      'discovery.k8s.io/v1/EndpointSlice',
    ]) assert.ok(kinds.includes(k), k);
    const pods = registry.byResource('', 'pods')!;
    assert.deepEqual(pods.shortNames, ['po']);
    assert.ok(pods.subresources.includes('binding') && pods.subresources.includes('eviction'));
    assert.deepEqual(registry.byResource('apps', 'deployments')!.subresources, ['status', 'scale']);
    assert.equal(registry.byResource('', 'nodes')!.namespaced, false);
  });

  it('looks kinds up by kind, object, short name and group-qualified name', () => {
    assert.equal(registry.byKind('apps', 'v1', 'Deployment')?.resource, 'deployments');
    assert.equal(registry.forObject({ apiVersion: 'batch/v1', kind: 'Job' })?.resource, 'jobs');
    assert.equal(registry.forObject({ apiVersion: 'v1', kind: 'Job' }), undefined);
    assert.equal(registry.find('deploy')?.kind, 'Deployment');
    assert.equal(registry.find('deployments.apps')?.kind, 'Deployment');
    assert.equal(registry.find('svc')?.kind, 'Service');
    assert.deepEqual(registry.groupVersions().get('apps'), ['v1']);
    assert.equal(registry.inGroupVersion('', 'v1').length, 11);
    assert.equal(registry.find('quota')?.kind, 'ResourceQuota');
    assert.equal(registry.find('limits')?.kind, 'LimitRange');
  });

  it('refuses a resource registered twice', () => {
    const t = registry.byResource('', 'pods')!;
    assert.throws(() => new ResourceRegistry([t, t]), /registered twice/);
  });

  it('every kind has consistent tables, field selectors and a schema that knows metadata', () => {
    for (const t of registry.all()) {
      assert.ok(t.table.columns.length >= 2 || t.ephemeral, t.kind);
      const obj = { apiVersion: apiVersionOf(t), kind: t.kind, metadata: { name: 'x', namespace: t.namespaced ? 'default' : undefined } };
      assert.equal(t.table.cells(structuredClone(obj)).length, t.table.columns.length, `${t.kind} cells match columns`);
      assert.ok(t.fieldSelectors.includes('metadata.name') && t.fieldValue(obj, 'metadata.name') === 'x', t.kind);
      assert.deepEqual(unknownFields({ ...obj, metadata: { name: 'x', labels: { a: 'b' }, managedFields: [{ manager: 'kubectl', fieldsV1: { 'f:a': {} } }] } }, t.schema), [], t.kind);
      assert.equal(t.patchMeta, t.schema);
    }
  });
});
