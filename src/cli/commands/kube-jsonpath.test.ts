import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jsonPath } from './kube-jsonpath.js';

const list = {
  kind: 'List',
  items: [
    { metadata: { name: 'a', labels: { 'app.kubernetes.io/name': 'web' } }, spec: { containers: [{ name: 'c1', image: 'busybox' }, { name: 'c2', image: 'nginx' }], replicas: 3 }, status: { phase: 'Running' } },
    { metadata: { name: 'b', labels: {} }, spec: { containers: [{ name: 'c3', image: 'redis' }], replicas: 1 }, status: { phase: 'Pending' } },
  ],
};

test('fields, indexes, wildcards and slices', () => {
  assert.equal(jsonPath('{.items[0].metadata.name}', list), 'a');
  assert.equal(jsonPath('{.items[*].metadata.name}', list), 'a b');
  assert.equal(jsonPath('{.items[-1].metadata.name}', list), 'b');
  assert.equal(jsonPath('{.items[0:1].metadata.name}', list), 'a');
  assert.equal(jsonPath("{.items[0].metadata['name']}", list), 'a');
  assert.equal(jsonPath('{$.kind}', list), 'List');
  assert.equal(jsonPath('{.items[*].spec.containers[*].image}', list), 'busybox nginx redis');
  assert.equal(jsonPath('{..image}', list), 'busybox nginx redis');
  assert.equal(jsonPath('{.items[0].metadata.labels.app\\.kubernetes\\.io/name}', list), 'web');
  assert.equal(jsonPath('{.items[0].spec.containers[0]}', list), '{"name":"c1","image":"busybox"}');
  assert.equal(jsonPath('{.items[0].spec.replicas}', list), '3');
  assert.equal(jsonPath('{.items[0].nothing.here}', list), '');
  assert.equal(jsonPath('{.items[0].metadata[name,labels]}', list), 'a {"app.kubernetes.io/name":"web"}');
});

test('filters, range and literals', () => {
  assert.equal(jsonPath('{.items[?(@.status.phase=="Running")].metadata.name}', list), 'a');
  assert.equal(jsonPath("{.items[?(@.status.phase != 'Running')].metadata.name}", list), 'b');
  assert.equal(jsonPath('{.items[?(@.spec.replicas > 2)].metadata.name}', list), 'a');
  assert.equal(jsonPath('{.items[?(@.metadata.labels.app\\.kubernetes\\.io/name)].metadata.name}', list), 'a');
  assert.equal(jsonPath('{range .items[*]}{.metadata.name}{"\\t"}{.status.phase}{"\\n"}{end}', list), 'a\tRunning\nb\tPending\n');
  assert.equal(jsonPath('names: {range .items}[{.metadata.name}]{end}', list), 'names: [a][b]');
  assert.equal(jsonPath('{range .items[*]}{range .spec.containers[*]}{.name},{end}{end}', list), 'c1,c2,c3,');
});

test('malformed templates are Invalid', () => {
  assert.throws(() => jsonPath('{.items', list), /unclosed action/);
  assert.throws(() => jsonPath('{range .items[*]}{.x}', list), /without "end"/);
  assert.throws(() => jsonPath('{end}', list), /without "range"/);
});
