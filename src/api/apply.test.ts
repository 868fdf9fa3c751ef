import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { isNubisError } from '../lib/errors.js';
import { ApplyConflictError, fromFieldsV1, recordUpdate, serverSideApply } from './apply.js';
import type { KubeObject } from './meta.js';
import { builtinResources } from './registry.js';

const schema = builtinResources().byKind('apps', 'v1', 'Deployment')!.schema;
const opts = (fieldManager: string, extra: Record<string, unknown> = {}) => ({ fieldManager, apiVersion: 'apps/v1', now: '2024-05-01T12:00:00Z', ...extra });
const config = (replicas: number | undefined, containers: string) =>
  parse(`
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: default, labels: { app: web } }
spec:
  ${replicas === undefined ? '' : `replicas: ${replicas}`}
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers: ${containers}
`) as KubeObject;

const twoContainers = '[{ name: web, image: "nginx:1.25" }, { name: log, image: "busybox:1.36" }]';

describe('serverSideApply', () => {
  it('creates an object and records the manager\'s fields in FieldsV1', () => {
    const created = serverSideApply(undefined, config(2, twoContainers), schema, opts('kubectl'));
    assert.equal((created.spec as any).replicas, 2);
    const [entry] = created.metadata.managedFields as any[];
    assert.equal(entry.manager, 'kubectl');
    assert.equal(entry.operation, 'Apply');
    assert.equal(entry.fieldsType, 'FieldsV1');
    const paths = fromFieldsV1(entry.fieldsV1).map((p) => p.join('/'));
    assert.ok(paths.includes('f:spec/f:replicas'));
    assert.ok(paths.includes('f:spec/f:template/f:spec/f:containers/k:{"name":"web"}/f:image'));
    assert.ok(paths.includes('f:metadata/f:labels/f:app'));
    assert.equal(paths.some((p) => p.includes('f:name/') || p === 'f:metadata/f:name'), false, 'identity fields are not owned');
  });

  it('removes fields the manager stops applying, keeps fields others set', () => {
    let live = serverSideApply(undefined, config(2, twoContainers), schema, opts('kubectl'));
    const edited = structuredClone(live);
    (edited.metadata.annotations ??= {})['note'] = 'by hand';
    recordUpdate(live, edited, schema, opts('kubectl-edit'));
    live = edited;
    live = serverSideApply(live, config(undefined, '[{ name: web, image: "nginx:1.27" }]'), schema, opts('kubectl'));
    const spec = live.spec as any;
    assert.equal('replicas' in spec, false, 'replicas dropped from the applied config is removed');
    assert.deepEqual(spec.template.spec.containers, [{ name: 'web', image: 'nginx:1.27' }]);
    assert.equal(live.metadata.annotations?.['note'], 'by hand');
    assert.deepEqual((live.metadata.managedFields as any[]).map((e) => `${e.manager}/${e.operation}`).sort(), ['kubectl-edit/Update', 'kubectl/Apply']);
  });

  it('reports a conflict with another manager, and force takes the field over', () => {
    const live = serverSideApply(undefined, config(2, twoContainers), schema, opts('kubectl'));
    const scaled = structuredClone(live);
    (scaled.spec as any).replicas = 5;
    recordUpdate(live, scaled, schema, opts('hpa-controller'));
    assert.throws(
      () => serverSideApply(scaled, config(3, twoContainers), schema, opts('kubectl')),
      (err) =>
        err instanceof ApplyConflictError &&
        isNubisError(err, 'Conflict') &&
        err.message === 'Apply failed with 1 conflict: conflict with "hpa-controller" using apps/v1: .spec.replicas' &&
        err.details.causes[0]!.reason === 'FieldManagerConflict' &&
        err.details.causes[0]!.field === '.spec.replicas',
    );
    const imaged = structuredClone(scaled);
    (imaged.spec as any).template.spec.containers[0].image = 'nginx:1.26';
    recordUpdate(scaled, imaged, schema, opts('kubectl-edit'));
    assert.throws(
      () => serverSideApply(imaged, config(3, twoContainers), schema, opts('kubectl')),
      (err) =>
        err instanceof ApplyConflictError &&
        err.message ===
          'Apply failed with 2 conflicts: conflicts with "hpa-controller" using apps/v1:\n- .spec.replicas\nconflicts with "kubectl-edit" using apps/v1:\n- .spec.template.spec.containers[name="web"].image',
    );
    const same = serverSideApply(scaled, config(5, twoContainers), schema, opts('kubectl'));
    assert.equal((same.spec as any).replicas, 5, 'the same value is shared, no conflict');
    const forced = serverSideApply(scaled, config(3, twoContainers), schema, opts('kubectl', { force: true }));
    assert.equal((forced.spec as any).replicas, 3);
    const hpa = (forced.metadata.managedFields as any[]).find((e) => e.manager === 'hpa-controller');
    assert.equal(hpa, undefined, 'the controller lost its only field');
  });
});

describe('recordUpdate of a huge object', () => {
  it('records 160,000 field paths without overflowing the stack', () => {
    const containers = Array.from({ length: 20_000 }, (_, i) => ({ name: `c${i}`, image: 'busybox', ports: [{ containerPort: 80 + (i % 100) }], env: [{ name: 'A', value: 'b' }] }));
    const obj = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { template: { spec: { containers } } } } as unknown as KubeObject;
    recordUpdate(undefined, obj, schema, opts('kubectl'));
    const entry = (obj.metadata.managedFields as Array<{ fieldsV1: Record<string, unknown> }>)[0]!;
    const paths = fromFieldsV1(entry.fieldsV1);
    assert.ok(paths.length > 150_000, `${paths.length} paths`);
  });
});
