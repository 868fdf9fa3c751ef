import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Table } from '../../client/rest-client.js';
import { parseLabelChanges } from './kube-label.js';
import { alignColumns, formatObjects, parseOutput, tableRows, toJson } from './kube-print.js';
import { parseResourceArgs, qualifiedName } from './kube-session.js';

const table: Table = {
  kind: 'Table',
  apiVersion: 'meta.k8s.io/v1',
  metadata: {},
  columnDefinitions: [
    { name: 'Name', type: 'string', format: 'name', description: '', priority: 0 },
    { name: 'Ready', type: 'string', format: '', description: '', priority: 0 },
    { name: 'IP', type: 'string', format: '', description: '', priority: 1 },
  ],
  rows: [
    { cells: ['web', '0/1', '10.0.0.7'], object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'default', labels: { app: 'web' } } } },
    { cells: ['a', '1/1', null], object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a', namespace: 'team' } } },
  ],
};

test('tables align as kubectl\'s tabwriter does: width max(6, longest + 3), last column unpadded', () => {
  assert.equal(alignColumns([['NAME', 'READY'], ['web', '0/1']]), 'NAME   READY\nweb    0/1\n');
  assert.equal(alignColumns([['A', 'B', 'C'], ['x', '', 'z']]), 'A     B     C\nx           z\n');
  const { header, rows } = tableRows(table, { withNamespace: true, showLabels: true });
  assert.deepEqual(header, ['NAMESPACE', 'NAME', 'READY', 'LABELS']);
  assert.deepEqual(rows, [
    ['default', 'web', '0/1', 'app=web'],
    ['team', 'a', '1/1', '<none>'],
  ]);
  const wide = tableRows(table, { wide: true, kindPrefix: { kind: 'Pod', group: '' } as never, labelColumns: ['app'] });
  assert.deepEqual(wide.header, ['NAME', 'READY', 'IP', 'APP']);
  assert.deepEqual(wide.rows[1], ['pod/a', '1/1', '', '']);
});

test('output formats: names, JSON like Go (sorted, 4 spaces, HTML escaped), a List for several objects', () => {
  assert.deepEqual(parseOutput('jsonpath={.a}'), { kind: 'jsonpath', template: '{.a}' });
  assert.throws(() => parseOutput('xml'), /unable to match a printer/);
  assert.equal(toJson({ b: '<&>', a: 1 }), '{\n    "a": 1,\n    "b": "\\u003c\\u0026\\u003e"\n}\n');
  const dep = { resource: { group: 'apps', version: 'v1', resource: 'deployments', kind: 'Deployment', namespaced: true }, object: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' } } };
  assert.equal(formatObjects({ kind: 'name' }, [dep], true), 'deployment.apps/web\n');
  assert.equal(JSON.parse(formatObjects({ kind: 'json' }, [dep, dep], false)).kind, 'List');
  assert.equal(JSON.parse(formatObjects({ kind: 'json' }, [dep], true)).kind, 'Deployment');
  assert.equal(qualifiedName({ kind: 'ConfigMap', group: '' }, 'x'), 'configmap/x');
});

test('resource arguments and label changes are read as kubectl reads them', () => {
  assert.deepEqual(parseResourceArgs(['pods']), [{ type: 'pods', names: [] }]);
  assert.deepEqual(parseResourceArgs(['pod', 'a', 'b']), [{ type: 'pod', names: ['a', 'b'] }]);
  assert.deepEqual(parseResourceArgs(['pods,svc']), [{ type: 'pods', names: [] }, { type: 'svc', names: [] }]);
  assert.deepEqual(parseResourceArgs(['pod/a', 'deploy/b', 'pod/c']), [{ type: 'pod', names: ['a', 'c'] }, { type: 'deploy', names: ['b'] }]);
  assert.throws(() => parseResourceArgs([]), /specify the type of resource/);
  assert.throws(() => parseResourceArgs(['pod', 'x/y']), /single resource and name/);
  assert.deepEqual(parseLabelChanges(['cm', 'x', 'a=1', 'example.com/b=', 'c-']), { resources: ['cm', 'x'], set: { a: '1', 'example.com/b': '' }, remove: ['c'] });
  assert.throws(() => parseLabelChanges(['cm', 'x', 'a=1', 'a-']), /both modify and remove/);
  assert.throws(() => parseLabelChanges(['cm', 'x', 'bad key=1']), /invalid label key/);
});
