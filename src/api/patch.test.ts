import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { isNubisError } from '../lib/errors.js';
import { jsonMergePatch, jsonPatch, strategicMergePatch } from './patch.js';
import { builtinResources } from './registry.js';

const registry = builtinResources();
const deploymentMeta = registry.byKind('apps', 'v1', 'Deployment')!.patchMeta;
const podMeta = registry.byKind('', 'v1', 'Pod')!.patchMeta;

const liveDeployment = () =>
  parse(`
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
  labels: { app: web }
  finalizers: [example.com/a]
spec:
  replicas: 2
  selector: { matchLabels: { app: web } }
  strategy:
    type: RollingUpdate
    rollingUpdate: { maxSurge: 25%, maxUnavailable: 25% }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
        ports:
        - { containerPort: 80, protocol: TCP }
        - { containerPort: 443, protocol: TCP }
        env:
        - { name: MODE, value: prod }
        - { name: LEVEL, value: info }
      - name: sidecar
        image: busybox:1.36
        command: [sleep, infinity]
      volumes:
      - name: data
        emptyDir: {}
      - name: conf
        configMap: { name: web-conf }
`) as Record<string, any>;

describe('jsonMergePatch (RFC 7386)', () => {
  it('merges objects, deletes on null and replaces arrays', () => {
    const target = { a: 'b', c: { d: 'e', f: 'g' }, list: [1, 2] };
    const out = jsonMergePatch(target, { a: 'z', c: { f: null }, list: [3] });
    assert.deepEqual(out, { a: 'z', c: { d: 'e' }, list: [3] });
    assert.deepEqual(target, { a: 'b', c: { d: 'e', f: 'g' }, list: [1, 2] }, 'input untouched');
  });

  it('follows the RFC 7386 examples', () => {
    assert.deepEqual(jsonMergePatch({ a: 'b' }, { a: 'c' }), { a: 'c' });
    assert.deepEqual(jsonMergePatch({ a: 'b' }, { b: 'c' }), { a: 'b', b: 'c' });
    assert.deepEqual(jsonMergePatch({ a: [{ b: 'c' }] }, { a: [1] }), { a: [1] });
    assert.deepEqual(jsonMergePatch(['a', 'b'], ['c', 'd']), ['c', 'd']);
    assert.deepEqual(jsonMergePatch({ a: 'foo' }, 'bar'), 'bar');
    assert.deepEqual(jsonMergePatch({}, { a: { bb: { ccc: null } } }), { a: { bb: {} } });
  });

  it('is what kubectl label sends (metadata.labels merge)', () => {
    const out = jsonMergePatch(liveDeployment(), { metadata: { labels: { tier: 'front', app: null } } }) as any;
    assert.deepEqual(out.metadata.labels, { tier: 'front' });
    assert.equal(out.spec.template.spec.containers.length, 2);
  });
});

describe('jsonPatch (RFC 6902)', () => {
  it('adds, removes, replaces, moves, copies and tests', () => {
    const out = jsonPatch(liveDeployment(), [
      { op: 'test', path: '/spec/replicas', value: 2 },
      { op: 'replace', path: '/spec/replicas', value: 5 },
      { op: 'add', path: '/metadata/labels/tier', value: 'front' },
      { op: 'add', path: '/spec/template/spec/containers/0/env/-', value: { name: 'NEW', value: '1' } },
      { op: 'remove', path: '/spec/template/spec/containers/1' },
      { op: 'copy', from: '/metadata/labels/app', path: '/metadata/labels/copied' },
      { op: 'move', from: '/metadata/labels/tier', path: '/metadata/labels/moved' },
    ]) as any;
    assert.equal(out.spec.replicas, 5);
    assert.deepEqual(out.metadata.labels, { app: 'web', copied: 'web', moved: 'front' });
    assert.deepEqual(out.spec.template.spec.containers.map((c: any) => c.name), ['nginx']);
    assert.equal(out.spec.template.spec.containers[0].env[2].name, 'NEW');
  });

  it('escapes ~0 and ~1 in keys (annotation names with slashes)', () => {
    const out = jsonPatch({ metadata: { annotations: {} } }, [{ op: 'add', path: '/metadata/annotations/example.com~1owner', value: 'me' }]) as any;
    assert.deepEqual(out.metadata.annotations, { 'example.com/owner': 'me' });
  });

  it('fails on a failed test, a missing path or a bad index, leaving the input alone', () => {
    const live = liveDeployment();
    const fails = (ops: unknown, pattern: RegExp) =>
      assert.throws(() => jsonPatch(live, ops), (err) => isNubisError(err, 'Invalid') && pattern.test((err as Error).message));
    fails([{ op: 'replace', path: '/spec/replicas', value: 9 }, { op: 'test', path: '/spec/replicas', value: 2 }], /test failed/);
    fails([{ op: 'remove', path: '/spec/nothing' }], /nonexistent|does not exist/);
    fails([{ op: 'add', path: '/spec/template/spec/containers/9', value: {} }], /out of bounds/);
    fails([{ op: 'frobnicate', path: '/a' }], /unknown op/);
    fails({ op: 'add' }, /array of operations/);
    assert.equal(live.spec.replicas, 2);
  });
});

describe('strategicMergePatch', () => {
  it('merges containers by name, ports by containerPort, env by name, volumes by name', () => {
    const out = strategicMergePatch(liveDeployment(), {
      spec: {
        template: {
          spec: {
            containers: [
              { name: 'nginx', image: 'nginx:1.27', ports: [{ containerPort: 8080 }], env: [{ name: 'LEVEL', value: 'debug' }] },
              { name: 'metrics', image: 'prom/node-exporter' },
            ],
            volumes: [{ name: 'cache', emptyDir: { medium: 'Memory' } }],
          },
        },
      },
    }, deploymentMeta) as any;
    const [nginx, sidecar, metrics] = out.spec.template.spec.containers;
    assert.equal(nginx.image, 'nginx:1.27');
    assert.deepEqual(nginx.ports.map((p: any) => p.containerPort), [80, 443, 8080]);
    assert.deepEqual(nginx.env, [{ name: 'MODE', value: 'prod' }, { name: 'LEVEL', value: 'debug' }]);
    assert.equal(sidecar.name, 'sidecar');
    assert.deepEqual(sidecar.command, ['sleep', 'infinity']);
    assert.equal(metrics.name, 'metrics');
    assert.deepEqual(out.spec.template.spec.volumes.map((v: any) => v.name), ['data', 'conf', 'cache']);
  });

  it('deletes list items with $patch: delete and replaces lists with $patch: replace', () => {
    const out = strategicMergePatch(liveDeployment(), {
      spec: {
        template: {
          spec: {
            containers: [
              { name: 'sidecar', $patch: 'delete' },
              { name: 'nginx', ports: [{ $patch: 'replace' }, { containerPort: 9090 }] },
            ],
            volumes: [{ name: 'data', $patch: 'delete' }],
          },
        },
      },
    }, deploymentMeta) as any;
    assert.deepEqual(out.spec.template.spec.containers.map((c: any) => c.name), ['nginx']);
    assert.deepEqual(out.spec.template.spec.containers[0].ports, [{ containerPort: 9090 }]);
    assert.deepEqual(out.spec.template.spec.volumes, [{ name: 'conf', configMap: { name: 'web-conf' } }]);
  });

  it('replaces or deletes maps with $patch on a map, and null deletes a field', () => {
    const out = strategicMergePatch(liveDeployment(), {
      metadata: { labels: { $patch: 'replace', only: 'this' } },
      spec: { strategy: { $patch: 'delete' }, replicas: null },
    }, deploymentMeta) as any;
    assert.deepEqual(out.metadata.labels, { only: 'this' });
    assert.equal('strategy' in out.spec, false);
    assert.equal('replicas' in out.spec, false);
  });

  it('honours $retainKeys (switching a Deployment to Recreate as kubectl apply does)', () => {
    const out = strategicMergePatch(liveDeployment(), {
      spec: { strategy: { $retainKeys: ['type'], type: 'Recreate', rollingUpdate: null } },
    }, deploymentMeta) as any;
    assert.deepEqual(out.spec.strategy, { type: 'Recreate' });
    const vol = strategicMergePatch(liveDeployment(), {
      spec: { template: { spec: { volumes: [{ name: 'data', $retainKeys: ['name', 'hostPath'], hostPath: { path: '/srv' } }] } } },
    }, deploymentMeta) as any;
    assert.deepEqual(vol.spec.template.spec.volumes[0], { name: 'data', hostPath: { path: '/srv' } });
  });

  it('merges finalizers as a set and removes values with $deleteFromPrimitiveList', () => {
    const out = strategicMergePatch(liveDeployment(), {
      metadata: { finalizers: ['example.com/b', 'example.com/a'] },
    }, deploymentMeta) as any;
    assert.deepEqual(out.metadata.finalizers, ['example.com/a', 'example.com/b']);
    const removed = strategicMergePatch(out, { metadata: { '$deleteFromPrimitiveList/finalizers': ['example.com/a'] } }, deploymentMeta) as any;
    assert.deepEqual(removed.metadata.finalizers, ['example.com/b']);
  });

  it('orders merged lists by $setElementOrder (kubectl apply) and never stores the directive', () => {
    const out = strategicMergePatch(liveDeployment(), {
      spec: {
        template: {
          spec: {
            '$setElementOrder/containers': [{ name: 'sidecar' }, { name: 'nginx' }],
            containers: [{ name: 'sidecar', image: 'busybox:1.37' }],
          },
        },
      },
    }, deploymentMeta) as any;
    assert.deepEqual(out.spec.template.spec.containers.map((c: any) => `${c.name}:${c.image}`), ['sidecar:busybox:1.37', 'nginx:nginx:1.25']);
    assert.equal(JSON.stringify(out).includes('$setElementOrder'), false);
  });

  it('replaces lists the schema does not merge (command, args, tolerations) and unknown fields', () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'a', image: 'x', command: ['a', 'b'] }], tolerations: [{ key: 'k', operator: 'Exists' }] }, extra: [1, 2] };
    const out = strategicMergePatch(pod, { spec: { containers: [{ name: 'a', command: ['c'] }], tolerations: [{ key: 'z', operator: 'Exists' }] }, extra: [3] }, podMeta) as any;
    assert.deepEqual(out.spec.containers[0].command, ['c']);
    assert.deepEqual(out.spec.tolerations, [{ key: 'z', operator: 'Exists' }]);
    assert.deepEqual(out.extra, [3]);
  });

  it('strips directives from values added where nothing was', () => {
    const out = strategicMergePatch({ metadata: { name: 'x' } }, { spec: { template: { spec: { containers: [{ name: 'a', $patch: 'merge', image: 'i' }] } } } }, deploymentMeta) as any;
    assert.deepEqual(out.spec.template.spec.containers, [{ name: 'a', image: 'i' }]);
  });

  it('rejects malformed patches', () => {
    assert.throws(() => strategicMergePatch({}, [], deploymentMeta), (err) => isNubisError(err, 'Invalid'));
    assert.throws(
      () => strategicMergePatch(liveDeployment(), { spec: { template: { spec: { containers: [{ image: 'no-name' }] } } } }, deploymentMeta),
      /merge key "name"/,
    );
    assert.throws(() => strategicMergePatch({}, { a: { $patch: 'explode' } }, deploymentMeta), /unknown patch directive/);
  });
});
