import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import type { KubeObject } from '../../meta.js';
import { unknownFields } from '../../schema.js';
import { daemonSetType } from './daemon-set.js';
import { deploymentType, type Deployment } from './deployment.js';
import { replicaSetType } from './replica-set.js';

const type = deploymentType();
const manifest = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
  namespace: default
  labels: { app: shop }
  annotations: { kubectl.kubernetes.io/last-applied-configuration: '{}' }
spec:
  selector:
    matchLabels: { app: shop }
  template:
    metadata:
      labels: { app: shop, tier: front }
    spec:
      containers:
      - name: web
        image: nginx:1.25
        ports: [{ containerPort: 80 }]
        livenessProbe:
          tcpSocket: { port: 80 }
          initialDelaySeconds: 5
        resources:
          requests: { cpu: 100m, memory: 64Mi }
      - name: cache
        image: redis:7
        args: [--save, '']
        securityContext:
          runAsNonRoot: true
          capabilities: { drop: [ALL] }
      affinity:
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
          - weight: 1
            podAffinityTerm: { topologyKey: kubernetes.io/hostname, labelSelector: { matchLabels: { app: shop } } }
      topologySpreadConstraints:
      - { maxSkew: 1, topologyKey: zone, whenUnsatisfiable: ScheduleAnyway }
`;
const deployment = (): Deployment => parse(manifest) as Deployment;
const fields = (obj: KubeObject, old?: KubeObject) => type.validate(obj, old).map((e) => `${e.field} ${e.type}`);

describe('Deployment', () => {
  it('defaults replicas, strategy, history, deadline and the template', () => {
    const d = deployment();
    type.defaults(d);
    assert.equal(d.spec.replicas, 1);
    assert.deepEqual(d.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } });
    assert.equal(d.spec.revisionHistoryLimit, 10);
    assert.equal(d.spec.progressDeadlineSeconds, 600);
    const spec = d.spec.template.spec;
    assert.equal(spec.restartPolicy, 'Always');
    assert.equal(spec.containers[0]!.imagePullPolicy, 'IfNotPresent');
    assert.equal(spec.containers[0]!.livenessProbe!.timeoutSeconds, 1);
    assert.equal(spec.serviceAccountName, undefined, 'admission-only defaults stay off templates');
    assert.equal(spec.tolerations, undefined);
    assert.deepEqual(fields(d), []);
  });

  it('leaves no rollingUpdate on Recreate', () => {
    const d = deployment();
    d.spec.strategy = { type: 'Recreate' };
    type.defaults(d);
    assert.deepEqual(d.spec.strategy, { type: 'Recreate' });
  });

  it('has no unknown fields in a realistic manifest, and finds misspelled ones', () => {
    assert.deepEqual(unknownFields(deployment(), type.schema), []);
    const d = deployment() as any;
    d.spec.template.spec.containers[1].imagee = 'x';
    d.spec.replica = 3;
    assert.deepEqual(unknownFields(d, type.schema), ['spec.template.spec.containers[1].imagee', 'spec.replica']);
  });

  it('reports selector, template and strategy errors with their paths', () => {
    const cases: Array<[(d: any) => void, string]> = [
      [(d) => delete d.spec.selector, 'spec.selector FieldValueRequired'],
      [(d) => (d.spec.selector = { matchLabels: { app: 'other' } }), 'spec.template.metadata.labels FieldValueInvalid'],
      [(d) => (d.spec.selector = {}), 'spec.selector FieldValueInvalid'],
      [(d) => (d.spec.replicas = -1), 'spec.replicas FieldValueInvalid'],
      [(d) => (d.spec.template.spec.restartPolicy = 'Never'), 'spec.template.spec.restartPolicy FieldValueNotSupported'],
      [(d) => delete d.spec.template.spec.containers[0].image, 'spec.template.spec.containers[0].image FieldValueRequired'],
      [(d) => (d.spec.strategy = { type: 'Recreate', rollingUpdate: {} }), 'spec.strategy.rollingUpdate FieldValueForbidden'],
      [(d) => (d.spec.strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: '0%' } }), 'spec.strategy.rollingUpdate.maxUnavailable FieldValueInvalid'],
      [(d) => (d.spec.strategy = { type: 'Blue' }), 'spec.strategy.type FieldValueNotSupported'],
    ];
    for (const [mutate, expected] of cases) {
      const d = deployment();
      mutate(d);
      assert.ok(fields(d).includes(expected), `${expected} in ${JSON.stringify(fields(d))}`);
    }
  });

  it('keeps the selector immutable on update', () => {
    const old = deployment();
    const next = deployment();
    next.spec.selector = { matchLabels: { app: 'shop', tier: 'front' } };
    assert.deepEqual(fields(next, old), ['spec.selector FieldValueInvalid']);
    next.spec.selector = old.spec.selector;
    next.spec.replicas = 5;
    assert.deepEqual(fields(next, old), []);
  });

  it('prints NAME READY UP-TO-DATE AVAILABLE AGE and wide columns', () => {
    const d = deployment();
    type.defaults(d);
    d.spec.replicas = 3;
    d.metadata.creationTimestamp = '2024-05-01T10:00:00Z';
    d.status = { replicas: 3, readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 };
    assert.deepEqual(type.table.cells(d, Date.parse('2024-05-03T13:00:00Z')), ['shop', '2/3', 3, 2, '2d3h', 'web,cache', 'nginx:1.25,redis:7', 'app=shop']);
    assert.deepEqual(type.table.columns.map((c) => c.name), ['Name', 'Ready', 'Up-to-date', 'Available', 'Age', 'Containers', 'Images', 'Selector']);
    assert.deepEqual(type.scale, { specReplicasPath: 'spec.replicas', statusReplicasPath: 'status.replicas', labelSelectorPath: 'spec.selector' });
  });
});

describe('ReplicaSet and DaemonSet', () => {
  it('share the template rules and print their columns', () => {
    const rsType = replicaSetType();
    const rs = { ...deployment(), kind: 'ReplicaSet' } as any;
    delete rs.spec.strategy;
    rsType.defaults(rs);
    assert.equal(rs.spec.replicas, 1);
    assert.deepEqual(rsType.validate(rs), []);
    rs.status = { replicas: 1, readyReplicas: 1 };
    assert.deepEqual(rsType.table.cells(rs).slice(0, 4), ['shop', 1, 1, 1]);

    const dsType = daemonSetType();
    const ds = { ...deployment(), kind: 'DaemonSet' } as any;
    dsType.defaults(ds);
    assert.deepEqual(ds.spec.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
    assert.deepEqual(dsType.validate(ds), []);
    ds.spec.selector = { matchLabels: { app: 'x' } };
    assert.ok(dsType.validate(ds).some((e) => e.field === 'spec.template.metadata.labels'));
  });
});
