import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../meta.js';
import { configMapType } from './config-map.js';
import { endpointsType } from './endpoints.js';
import { eventType } from './event.js';
import { namespaceType } from './namespace.js';
import { nodeType } from './node.js';
import { secretType } from './secret.js';
import { serviceType } from './service.js';

const errs = (type: { validate(o: KubeObject, old?: KubeObject): Array<{ field: string; type: string }> }, o: unknown, old?: unknown) =>
  type.validate(o as KubeObject, old as KubeObject | undefined).map((e) => `${e.field} ${e.type}`);
const meta = (name: string, namespace?: string) => ({ name, ...(namespace ? { namespace } : {}), creationTimestamp: '2024-05-01T11:00:00Z' });
const now = Date.parse('2024-05-01T12:00:00Z');

describe('Service', () => {
  const type = serviceType();
  const svc = (): any => ({ apiVersion: 'v1', kind: 'Service', metadata: meta('web', 'default'), spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } });

  it('defaults type, affinity, protocol and targetPort', () => {
    const s = svc();
    type.defaults(s);
    assert.equal(s.spec.type, 'ClusterIP');
    assert.equal(s.spec.sessionAffinity, 'None');
    assert.deepEqual(s.spec.ports, [{ port: 80, protocol: 'TCP', targetPort: 80 }]);
    assert.equal(s.spec.internalTrafficPolicy, 'Cluster');
    assert.deepEqual(errs(type, s), []);
  });

  it('validates ports, type, names and the immutable clusterIP', () => {
    const two = svc();
    two.spec.ports.push({ port: 80 });
    assert.deepEqual(errs(type, two), ['spec.ports[0].name FieldValueRequired', 'spec.ports[1].name FieldValueRequired', 'spec.ports[1] FieldValueDuplicate']);
    const bad = svc();
    bad.spec.type = 'Magic';
    bad.spec.ports[0].port = 0;
    bad.metadata.name = '1web';
    assert.deepEqual(errs(type, bad), ['metadata.name FieldValueInvalid', 'spec.type FieldValueNotSupported', 'spec.ports[0].port FieldValueInvalid']);
    const noPorts = svc();
    noPorts.spec.ports = [];
    assert.deepEqual(errs(type, noPorts), ['spec.ports FieldValueRequired']);
    const old = svc();
    old.spec.clusterIP = '10.96.0.10';
    const moved = svc();
    moved.spec.clusterIP = '10.96.0.11';
    assert.deepEqual(errs(type, moved, old), ['spec.clusterIPs[0] FieldValueInvalid']);
  });

  it('prints TYPE CLUSTER-IP EXTERNAL-IP PORT(S)', () => {
    const s = svc();
    s.spec.type = 'NodePort';
    s.spec.clusterIP = '10.96.0.10';
    s.spec.ports[0].nodePort = 30080;
    assert.deepEqual(type.table.cells(s, now), ['web', 'NodePort', '10.96.0.10', '<none>', '80:30080/TCP', '60m', 'app=web']);
    s.spec.type = 'LoadBalancer';
    assert.equal(type.table.cells(s, now)[3], '<pending>');
  });
});

describe('Secret and ConfigMap', () => {
  it('merges stringData into base64 data and defaults the type', () => {
    const type = secretType();
    const s: any = { apiVersion: 'v1', kind: 'Secret', metadata: meta('db', 'default'), data: { user: 'YWRtaW4=' }, stringData: { password: 's3cr3t' } };
    type.defaults(s);
    assert.equal(s.type, 'Opaque');
    assert.deepEqual(s.data, { user: 'YWRtaW4=', password: Buffer.from('s3cr3t').toString('base64') });
    assert.equal('stringData' in s, false);
    assert.deepEqual(errs(type, s), []);
    assert.deepEqual(type.table.cells(s, now), ['db', 'Opaque', 2, '60m']);
    assert.equal(type.fieldValue(s, 'type'), 'Opaque');
  });

  it('checks keys, base64, required keys per type, size and immutability', () => {
    const type = secretType();
    const s: any = { apiVersion: 'v1', kind: 'Secret', metadata: meta('tls', 'default'), type: 'kubernetes.io/tls', data: { 'bad key': 'x!' } };
    assert.deepEqual(errs(type, s), ['data[bad key] FieldValueInvalid', 'data FieldValueInvalid', 'data[tls.crt] FieldValueRequired', 'data[tls.key] FieldValueRequired']);
    const big: any = { apiVersion: 'v1', kind: 'Secret', metadata: meta('big', 'default'), data: { a: Buffer.alloc(1024 * 1024 + 1).toString('base64') } };
    assert.deepEqual(errs(type, big), ['data FieldValueTooLong']);
    const old: any = { apiVersion: 'v1', kind: 'Secret', metadata: meta('x', 'default'), immutable: true, data: { a: 'YQ==' } };
    const changed = { ...structuredClone(old), data: { a: 'Yg==' } };
    assert.deepEqual(errs(type, changed, old), ['data FieldValueForbidden']);
  });

  it('ConfigMap keys, duplicates across data and binaryData, table', () => {
    const type = configMapType();
    const cm: any = { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta('conf', 'default'), data: { 'app.properties': 'a=b', k: 'v' }, binaryData: { k: 'AA==' } };
    assert.deepEqual(errs(type, cm), ['binaryData FieldValueInvalid']);
    delete cm.binaryData;
    assert.deepEqual(errs(type, cm), []);
    assert.deepEqual(type.table.cells(cm, now), ['conf', 2, '60m']);
  });
});

describe('Namespace, Node, Endpoints, Event', () => {
  it('Namespace uses DNS labels, defaults finalizers, phase and the name label', () => {
    const type = namespaceType();
    const ns: any = { apiVersion: 'v1', kind: 'Namespace', metadata: meta('team-a') };
    type.defaults(ns);
    assert.deepEqual(ns.spec, { finalizers: ['kubernetes'] });
    assert.equal(ns.status.phase, 'Active');
    assert.equal(ns.metadata.labels['kubernetes.io/metadata.name'], 'team-a');
    assert.deepEqual(errs(type, ns), []);
    assert.deepEqual(errs(type, { ...ns, metadata: meta('a.b') }), ['metadata.name FieldValueInvalid']);
    assert.deepEqual(errs(type, { ...ns, metadata: meta('a', 'default') }), ['metadata.namespace FieldValueForbidden']);
    assert.deepEqual(type.table.cells(ns, now), ['team-a', 'Active', '60m']);
    assert.equal(type.verbs.includes('deletecollection'), false);
  });

  it('Node prints STATUS ROLES VERSION and validates taints', () => {
    const type = nodeType();
    const node: any = {
      apiVersion: 'v1', kind: 'Node', metadata: { ...meta('n1'), labels: { 'node-role.kubernetes.io/control-plane': '' } },
      spec: { unschedulable: true, taints: [{ key: 'dedicated', effect: 'NoSchedule' }] },
      status: { conditions: [{ type: 'Ready', status: 'True' }], nodeInfo: { kubeletVersion: 'v1.32.0-nubis' }, addresses: [{ type: 'InternalIP', address: '10.0.0.2' }] },
    };
    assert.deepEqual(type.table.cells(node, now).slice(0, 6), ['n1', 'Ready,SchedulingDisabled', 'control-plane', '60m', 'v1.32.0-nubis', '10.0.0.2']);
    assert.deepEqual(errs(type, node), []);
    node.spec.taints.push({ key: 'dedicated', effect: 'Sometimes' });
    assert.deepEqual(errs(type, node), ['spec.taints[1].effect FieldValueNotSupported']);
    assert.equal(type.fieldValue(node, 'spec.unschedulable'), 'true');
  });

  it('Endpoints print up to three addresses', () => {
    const type = endpointsType();
    const ep: any = {
      apiVersion: 'v1', kind: 'Endpoints', metadata: meta('web', 'default'),
      subsets: [{ addresses: ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'].map((ip) => ({ ip })), ports: [{ port: 80 }] }],
    };
    assert.equal(type.table.cells(ep, now)[1], '10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 1 more...');
    ep.subsets[0].addresses[0].ip = 'nope';
    assert.deepEqual(errs(type, ep), ['subsets[0].addresses[0].ip FieldValueInvalid']);
  });

  it('Event columns and involvedObject field selectors', () => {
    const type = eventType();
    const ev: any = {
      apiVersion: 'v1', kind: 'Event', metadata: meta('web.17a', 'default'), type: 'Warning', reason: 'BackOff', message: 'Back-off restarting',
      involvedObject: { kind: 'Pod', name: 'web', namespace: 'default' }, lastTimestamp: '2024-05-01T11:58:00Z', count: 4,
    };
    assert.deepEqual(type.table.cells(ev, now).slice(0, 4), ['2m', 'Warning', 'BackOff', 'pod/web']);
    assert.equal(type.fieldValue(ev, 'involvedObject.name'), 'web');
    assert.deepEqual(errs(type, ev), []);
    ev.involvedObject.namespace = 'other';
    assert.deepEqual(errs(type, ev), ['involvedObject.namespace FieldValueInvalid']);
  });
});
