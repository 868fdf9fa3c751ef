import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Pod } from '../../api/core/v1/pod-types.js';
import type { ResourceQuota } from '../../api/core/v1/resource-quota.js';
import type { KubeObject } from '../../api/meta.js';
import { builtinResources } from '../../api/registry.js';
import { SqliteStore } from '../../store/sqlite/sqlite-store.js';
import { storeError } from '../object-ops.js';
import { ApiError } from '../status.js';
import type { AdmissionRequest } from './admission.js';
import { ResourceQuotaAdmission } from './resource-quota.js';

const registry = builtinResources();
const QUOTAS = { resource: 'resourcequotas' };
let dir: string;
let store: SqliteStore;
let nsCounter = 0;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'nubis-quota-admission-'));
  store = SqliteStore.open({ file: path.join(dir, 'store.db') });
});
after(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

/** The plugin, writing status as ObjectOps would (conditional on resourceVersion); `beforeWrite` runs first (a competing writer). */
function plugin(beforeWrite?: () => Promise<void>): { admission: ResourceQuotaAdmission; writes: () => number } {
  const admission = new ResourceQuotaAdmission(store, registry);
  let writes = 0;
  admission.writer = {
    async replace(t, _old, next) {
      await beforeWrite?.();
      writes++;
      return store.update(QUOTAS, next).catch((err) => Promise.reject(storeError(t, next.metadata.name, err)));
    },
  };
  return { admission, writes: () => writes };
}

async function namespaceWith(hard: Record<string, string>, extra: Partial<ResourceQuota['spec']> = {}): Promise<string> {
  const namespace = `ns${++nsCounter}`;
  await store.create(QUOTAS, { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'q', namespace }, spec: { hard, ...extra } });
  return namespace;
}

const quota = (namespace: string) => store.get<ResourceQuota>(QUOTAS, { namespace, name: 'q' });
const pod = (name: string, requests: Record<string, string> = {}): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name },
  spec: { containers: [{ name: 'c', image: 'busybox', resources: Object.keys(requests).length ? { requests } : {} }] },
});

function request(namespace: string, obj: KubeObject, opts: Partial<AdmissionRequest> = {}): AdmissionRequest {
  const resource = obj.kind === 'Pod' ? 'pods' : obj.kind === 'Service' ? 'services' : 'configmaps';
  return { user: { name: 'u', groups: [] }, operation: 'CREATE', type: registry.byResource('', resource)!, namespace, name: obj.metadata.name, object: { ...obj, metadata: { ...obj.metadata, namespace } }, dryRun: false, ...opts };
}

async function refused(p: Promise<void>, message: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof ApiError && err.reason === 'Forbidden' && err.message === message);
}

describe('ResourceQuota admission', () => {
  it('counts what the status does not record yet from the store, charges each create, and refuses the one over the limit', async () => {
    const ns = await namespaceWith({ pods: '2', 'count/configmaps': '5' });
    await store.create({ resource: 'pods' }, { ...pod('old'), metadata: { name: 'old', namespace: ns } });
    const { admission } = plugin();
    await admission.validate(request(ns, pod('a')));
    assert.deepEqual((await quota(ns)).status, { hard: { 'count/configmaps': '5', pods: '2' }, used: { 'count/configmaps': '0', pods: '2' } });
    await refused(admission.validate(request(ns, pod('b'))), 'pods "b" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2');
    // A dry run is checked but not charged; what the quota does not limit is not charged either.
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } };
    await admission.validate(request(ns, cm, { dryRun: true }));
    assert.equal((await quota(ns)).status?.used?.['count/configmaps'], '0');
    await admission.validate(request(ns, cm));
    assert.equal((await quota(ns)).status?.used?.['count/configmaps'], '1');
  });

  it('refuses pods that leave out what a quota limits, and applies scoped quotas only to the pods they select', async () => {
    const ns = await namespaceWith({ 'requests.cpu': '1', 'limits.memory': '1Gi' });
    const { admission } = plugin();
    await refused(admission.validate(request(ns, pod('p', { cpu: '100m' }))), 'pods "p" is forbidden: failed quota: q: must specify limits.memory for: c');
    const scoped = await namespaceWith({ pods: '1' }, { scopes: ['BestEffort'] });
    await admission.validate(request(scoped, pod('be')));
    await admission.validate(request(scoped, pod('burstable', { cpu: '100m' })));
    await refused(admission.validate(request(scoped, pod('be2'))), 'pods "be2" is forbidden: exceeded quota: q, requested: pods=1, used: pods=1, limited: pods=1');
  });

  it('charges a Service update what it adds', async () => {
    const ns = await namespaceWith({ 'services.nodeports': '1' });
    const { admission } = plugin();
    const svc = (name: string, type: string): KubeObject => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns, resourceVersion: '1' }, spec: { type, ports: [{ port: 80 }] } });
    await admission.validate(request(ns, svc('a', 'ClusterIP')));
    await admission.validate(request(ns, svc('a', 'NodePort'), { operation: 'UPDATE', oldObject: svc('a', 'ClusterIP') }));
    await admission.validate(request(ns, svc('a', 'NodePort'), { operation: 'UPDATE', oldObject: svc('a', 'NodePort') }));
    await refused(admission.validate(request(ns, svc('b', 'NodePort'))), 'services "b" is forbidden: exceeded quota: q, requested: services.nodeports=1, used: services.nodeports=1, limited: services.nodeports=1');
  });

  it('checks again after losing the conditional status write to a competing charge', async () => {
    const ns = await namespaceWith({ 'requests.cpu': '1' });
    await plugin().admission.validate(request(ns, pod('first', { cpu: '300m' })));
    let competed = false;
    // Another server charges 500m between this check and this write: the write conflicts, the check runs again.
    const { admission, writes } = plugin(async () => {
      if (competed) return;
      competed = true;
      const q = await quota(ns);
      await store.update(QUOTAS, { ...q, status: { ...q.status, used: { 'requests.cpu': '800m' } } });
    });
    await refused(admission.validate(request(ns, pod('second', { cpu: '400m' }))), 'pods "second" is forbidden: exceeded quota: q, requested: requests.cpu=400m, used: requests.cpu=800m, limited: requests.cpu=1');
    assert.equal(writes(), 1);
    await admission.validate(request(ns, pod('third', { cpu: '200m' })));
    assert.equal((await quota(ns)).status?.used?.['requests.cpu'], '1');
  });

  it('serializes the checks of one namespace: of ten concurrent creates against pods=3, three are charged', async () => {
    const ns = await namespaceWith({ pods: '3' });
    const { admission } = plugin();
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => admission.validate(request(ns, pod(`p${i}`)))));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 3);
    assert.equal((await quota(ns)).status?.used?.pods, '3');
  });

  it('leaves subresource writes, events and namespaces without quotas alone', async () => {
    const ns = await namespaceWith({ pods: '0' });
    const { admission, writes } = plugin();
    await admission.validate(request(ns, pod('s'), { operation: 'UPDATE', subresource: 'status', oldObject: pod('s') }));
    await admission.validate({ ...request(ns, { apiVersion: 'v1', kind: 'Event', metadata: { name: 'e' } }), type: registry.byResource('', 'events')! });
    await admission.validate(request('elsewhere', pod('x')));
    assert.equal(writes(), 0);
  });
});
