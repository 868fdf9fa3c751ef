import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import type { KubeObject } from '../../meta.js';
import { podType } from './pod.js';
import type { Pod } from './pod-types.js';

const type = podType();
const pod = (extra = ''): Pod =>
  parse(`
apiVersion: v1
kind: Pod
metadata: { name: web, namespace: default, labels: { app: web } }
spec:
  containers:
  - name: nginx
    image: nginx
    ports: [{ containerPort: 80, name: http }]
    readinessProbe: { httpGet: { port: http } }
    env:
    - name: POD_IP
      valueFrom: { fieldRef: { fieldPath: status.podIP } }
    volumeMounts: [{ name: conf, mountPath: /etc/nginx/conf.d }]
    resources: { limits: { cpu: 500m, memory: 128Mi } }
  - name: log
    image: busybox:1.36
    command: [sh, -c, 'tail -f /dev/null']
  volumes:
  - name: conf
    configMap: { name: nginx-conf }
${extra}`) as Pod;

const fields = (obj: KubeObject, old?: KubeObject) => type.validate(obj, old).map((e) => `${e.field} ${e.type}`);

describe('Pod defaults', () => {
  it('fills what kubectl get -o yaml shows after create', () => {
    const p = pod();
    type.defaults(p);
    const [nginx, log] = p.spec.containers as [any, any];
    assert.equal(p.spec.restartPolicy, 'Always');
    assert.equal(p.spec.dnsPolicy, 'ClusterFirst');
    assert.equal(p.spec.terminationGracePeriodSeconds, 30);
    assert.equal(p.spec.schedulerName, 'default-scheduler');
    assert.equal(p.spec.enableServiceLinks, true);
    assert.equal(p.spec.serviceAccountName, 'default');
    assert.equal(nginx.imagePullPolicy, 'Always', 'untagged image');
    assert.equal(log.imagePullPolicy, 'IfNotPresent', 'tagged image');
    assert.equal(nginx.terminationMessagePath, '/dev/termination-log');
    assert.equal(nginx.terminationMessagePolicy, 'File');
    assert.equal(nginx.ports[0].protocol, 'TCP');
    assert.deepEqual(nginx.readinessProbe, { httpGet: { port: 'http', path: '/', scheme: 'HTTP' }, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 });
    assert.equal(nginx.env[0].valueFrom.fieldRef.apiVersion, 'v1');
    assert.deepEqual(nginx.resources.requests, { cpu: '500m', memory: '128Mi' }, 'requests default to limits');
    assert.equal(p.spec.volumes![0]!.configMap!.defaultMode, 420);
    assert.deepEqual(p.spec.tolerations!.map((t) => t.key), ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']);
    assert.equal(p.status?.phase, 'Pending');
    assert.equal(p.status?.qosClass, 'Burstable');
    assert.deepEqual(fields(p), []);
  });

  it('is idempotent', () => {
    const p = pod();
    type.defaults(p);
    const once = structuredClone(p);
    type.defaults(p);
    assert.deepEqual(p, once);
  });
});

describe('Pod validation', () => {
  it('accepts a valid pod', () => assert.deepEqual(fields(pod()), []));

  it('reports each invalid field with its path', () => {
    const cases: Array<[(p: any) => void, string]> = [
      [(p) => (p.spec.containers = []), 'spec.containers FieldValueRequired'],
      [(p) => delete p.spec.containers[1].image, 'spec.containers[1].image FieldValueRequired'],
      [(p) => (p.spec.containers[1].name = 'Log_1'), 'spec.containers[1].name FieldValueInvalid'],
      [(p) => (p.spec.containers[1].name = 'nginx'), 'spec.containers[1].name FieldValueDuplicate'],
      [(p) => (p.spec.containers[0].ports[0].containerPort = 70000), 'spec.containers[0].ports[0].containerPort FieldValueInvalid'],
      [(p) => (p.spec.containers[0].ports[0].protocol = 'HTTP'), 'spec.containers[0].ports[0].protocol FieldValueNotSupported'],
      [(p) => (p.spec.containers[0].volumeMounts[0].name = 'nope'), 'spec.containers[0].volumeMounts[0].name FieldValueNotFound'],
      [(p) => (p.spec.containers[0].env[0].name = '1BAD'), 'spec.containers[0].env[0].name FieldValueInvalid'],
      [(p) => (p.spec.containers[0].resources.requests = { cpu: '1' }), 'spec.containers[0].resources.requests FieldValueInvalid'],
      [(p) => (p.spec.containers[0].resources.limits.memory = 'lots'), 'spec.containers[0].resources.limits[memory] FieldValueInvalid'],
      [(p) => (p.spec.restartPolicy = 'Sometimes'), 'spec.restartPolicy FieldValueNotSupported'],
      [(p) => (p.spec.volumes[0] = { name: 'conf' }), 'spec.volumes[0] FieldValueRequired'],
      [(p) => (p.spec.volumes.push({ name: 'conf', emptyDir: {} })), 'spec.volumes[1].name FieldValueDuplicate'],
      [(p) => (p.metadata.name = 'Web'), 'metadata.name FieldValueInvalid'],
      [(p) => (p.metadata.labels = { 'bad key!': 'x' }), 'metadata.labels FieldValueInvalid'],
      [(p) => delete p.metadata.namespace, 'metadata.namespace FieldValueRequired'],
    ];
    for (const [mutate, expected] of cases) {
      const p = pod();
      mutate(p);
      assert.ok(fields(p).includes(expected), `${expected} in ${JSON.stringify(fields(p))}`);
    }
  });

  it('allows image updates but forbids other spec changes', () => {
    const old = pod();
    type.defaults(old);
    const images = structuredClone(old);
    images.spec.containers[0]!.image = 'nginx:1.27';
    assert.deepEqual(fields(images, old), []);
    const command = structuredClone(old);
    command.spec.containers[1]!.command = ['true'];
    assert.deepEqual(fields(command, old), ['spec FieldValueForbidden']);
    const renamed = structuredClone(old);
    renamed.metadata.name = 'other';
    assert.ok(fields(renamed, old).includes('metadata.name FieldValueInvalid'));
  });
});

describe('Pod table', () => {
  const now = Date.parse('2024-05-01T12:00:00Z');
  it('prints NAME READY STATUS RESTARTS AGE and the wide columns', () => {
    const p = pod();
    p.metadata.creationTimestamp = '2024-05-01T11:55:00Z';
    p.spec.nodeName = 'node-1';
    p.status = {
      phase: 'Running',
      podIP: '10.88.0.5',
      containerStatuses: [
        { name: 'nginx', ready: true, restartCount: 0, image: 'nginx', imageID: '', state: { running: { startedAt: '2024-05-01T11:56:00Z' } } },
        {
          name: 'log', ready: false, restartCount: 3, image: 'busybox', imageID: '',
          state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1, finishedAt: '2024-05-01T11:58:00Z' } },
        },
      ],
    };
    assert.deepEqual(type.table.columns.filter((c) => c.priority === 0).map((c) => c.name), ['Name', 'Ready', 'Status', 'Restarts', 'Age']);
    assert.deepEqual(type.table.cells(p, now), ['web', '1/2', 'CrashLoopBackOff', '3 (2m ago)', '5m', '10.88.0.5', 'node-1', '<none>', '<none>']);
  });

  it('shows Pending, init progress, Completed and Terminating like kubectl', () => {
    const p = pod();
    assert.equal(type.table.cells(p)[2], '');
    p.status = { phase: 'Pending' };
    assert.equal(type.table.cells(p)[2], 'Pending');
    p.spec.initContainers = [{ name: 'init', image: 'busybox' }];
    p.status.initContainerStatuses = [{ name: 'init', ready: false, restartCount: 0, image: '', imageID: '', state: { running: {} } }];
    assert.equal(type.table.cells(p)[2], 'Init:0/1');
    p.status = { phase: 'Succeeded', containerStatuses: [{ name: 'nginx', ready: false, restartCount: 0, image: '', imageID: '', state: { terminated: { exitCode: 0, reason: 'Completed' } } }] };
    delete p.spec.initContainers;
    assert.equal(type.table.cells(p)[2], 'Completed');
    p.metadata.deletionTimestamp = '2024-05-01T12:00:00Z';
    assert.equal(type.table.cells(p)[2], 'Terminating');
  });

  it('answers field selectors', () => {
    const p = pod();
    p.spec.nodeName = 'n1';
    assert.equal(type.fieldValue(p, 'spec.nodeName'), 'n1');
    assert.equal(type.fieldValue(p, 'spec.hostNetwork'), 'false');
    assert.equal(type.fieldValue(p, 'status.phase'), '');
    assert.equal(type.fieldValue(p, 'metadata.name'), 'web');
    assert.equal(type.fieldValue(p, 'spec.containers'), undefined);
  });
});

describe('pod graceful deletion', () => {
  it('gives bound, unfinished pods the requested period, else the spec or 30 s; others go at once', () => {
    const bound = pod();
    bound.spec.nodeName = 'n1';
    assert.equal(type.gracefulDeletion!(bound, undefined), 30);
    assert.equal(type.gracefulDeletion!(bound, 5), 5);
    assert.equal(type.gracefulDeletion!(bound, -3), 0);
    bound.spec.terminationGracePeriodSeconds = 12;
    assert.equal(type.gracefulDeletion!(bound, undefined), 12);
    assert.equal(type.gracefulDeletion!(pod(), undefined), 0, 'not scheduled');
    bound.status = { phase: 'Succeeded' };
    assert.equal(type.gracefulDeletion!(bound, undefined), 0, 'finished');
  });
});
