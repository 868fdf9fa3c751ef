import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Pod } from '../../api/core/v1/pod-types.js';
import type { ResourceQuota } from '../../api/core/v1/resource-quota.js';
import type { KubeObject } from '../../api/meta.js';
import type { InformerHandlers } from '../../client/informer.js';
import type { KubeList, ResourceInfo, RestClient } from '../../client/rest-client.js';
import { conflict, notFound } from '../../lib/errors.js';
import type { InformerSet } from '../informer-set.js';
import { ResourceQuotaController } from './resource-quota-controller.js';

/** An API of a few objects: get, listAll and status writes conditional on resourceVersion, as the server does. */
class FakeApi {
  readonly objects = new Map<string, KubeObject>();
  readonly statusWrites: KubeObject[] = [];
  rv = 10;
  /** Runs after every list (another writer acting while the controller counts). */
  afterList: () => void = () => {};

  put(resource: string, obj: KubeObject): void {
    this.objects.set(`${resource}/${obj.metadata.namespace}/${obj.metadata.name}`, { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++this.rv) } });
  }

  client(): RestClient {
    const api = this;
    return {
      async get(r: ResourceInfo, name: string, opts: { namespace?: string }) {
        const o = api.objects.get(`${r.resource}/${opts.namespace}/${name}`);
        if (!o) throw notFound(`${r.resource} "${name}" not found`);
        return structuredClone(o);
      },
      async listAll(r: ResourceInfo, opts: { namespace?: string }): Promise<KubeList> {
        const items = [...api.objects.entries()].filter(([k]) => k.startsWith(`${r.resource}/${opts.namespace}/`)).map(([, o]) => structuredClone(o));
        api.afterList();
        return { apiVersion: 'v1', kind: 'List', metadata: {}, items };
      },
      async updateStatus(r: ResourceInfo, obj: KubeObject) {
        const key = `${r.resource}/${obj.metadata.namespace}/${obj.metadata.name}`;
        if (api.objects.get(key)?.metadata.resourceVersion !== obj.metadata.resourceVersion) throw conflict('the object has been modified');
        api.statusWrites.push(obj);
        api.put(r.resource, obj);
        return obj;
      },
    } as unknown as RestClient;
  }
}

/** Informers that record their handlers and serve a cache of the given objects. */
function fakeInformers(cached: Record<string, KubeObject[]>) {
  const handlers: Record<string, InformerHandlers<KubeObject>> = {};
  const informers = {
    get: (r: ResourceInfo) => ({
      addHandlers: (h: InformerHandlers<KubeObject>) => void (handlers[r.resource] = { ...handlers[r.resource], ...h }),
      cache: { list: () => cached[r.resource] ?? [] },
    }),
  } as unknown as InformerSet;
  return { informers, handlers };
}

const quota = (namespace: string, hard: Record<string, string>, extra: Partial<ResourceQuota> = {}): ResourceQuota => ({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'q', namespace }, spec: { hard }, ...extra });
const pod = (name: string, cpu?: string, phase = 'Running'): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'ns' },
  spec: { containers: [{ name: 'c', image: 'busybox', resources: cpu ? { requests: { cpu }, limits: { cpu } } : {} }] },
  status: { phase: phase as 'Running' },
});

function setup(cached: Record<string, KubeObject[]> = {}) {
  const api = new FakeApi();
  const { informers, handlers } = fakeInformers(cached);
  const controller = new ResourceQuotaController({ client: api.client(), informers, recorder: { event: () => undefined } });
  return { api, controller, handlers };
}

describe('ResourceQuotaController', () => {
  it("sets status to the spec's limits and what the namespace's objects use now", async () => {
    const { api, controller } = setup();
    api.put('resourcequotas', quota('ns', { pods: '10', 'requests.cpu': '2000m', 'limits.cpu': '4', 'count/configmaps': '5', 'services.nodeports': '3', 'count/deployments.apps': '2' }));
    api.put('pods', pod('a', '250m'));
    api.put('pods', pod('b'));
    api.put('pods', pod('done', '1', 'Succeeded'));
    api.put('configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'ns' } });
    api.put('services', { apiVersion: 'v1', kind: 'Service', metadata: { name: 's', namespace: 'ns' }, spec: { type: 'NodePort', ports: [{ port: 80 }, { port: 81 }] } });
    api.put('pods', { ...pod('other', '1'), metadata: { name: 'other', namespace: 'elsewhere' } });
    await controller.sync('ns/q');
    assert.equal(api.statusWrites.length, 1);
    assert.deepEqual(api.statusWrites[0]!.status, {
      hard: { 'count/configmaps': '5', 'count/deployments.apps': '2', 'limits.cpu': '4', pods: '10', 'requests.cpu': '2', 'services.nodeports': '3' },
      used: { 'count/configmaps': '1', 'count/deployments.apps': '0', 'limits.cpu': '250m', pods: '2', 'requests.cpu': '250m', 'services.nodeports': '2' },
    });
    await controller.sync('ns/q');
    assert.equal(api.statusWrites.length, 1, 'an unchanged count is not written again');
    await controller.sync('ns/gone');
  });

  it('counts only the pods a scoped quota selects', async () => {
    const { api, controller } = setup();
    api.put('resourcequotas', quota('ns', { pods: '5' }, { spec: { hard: { pods: '5' }, scopes: ['BestEffort'] } }));
    api.put('pods', pod('burstable', '100m'));
    api.put('pods', pod('besteffort'));
    await controller.sync('ns/q');
    assert.deepEqual(api.statusWrites[0]!.status, { hard: { pods: '5' }, used: { pods: '1' } });
  });

  it('does not overwrite a charge admission made while it counted: the write is conditional and fails', async () => {
    const { api, controller } = setup();
    api.put('resourcequotas', quota('ns', { pods: '5' }, { status: { hard: { pods: '5' }, used: { pods: '0' } } }));
    api.put('pods', pod('a'));
    api.afterList = () => {
      const q = api.objects.get('resourcequotas/ns/q') as ResourceQuota;
      api.afterList = () => {};
      api.put('resourcequotas', { ...q, status: { hard: { pods: '5' }, used: { pods: '2' } } });
    };
    await assert.rejects(controller.sync('ns/q'), (err: unknown) => (err as { code?: string }).code === 'Conflict');
    assert.equal((api.objects.get('resourcequotas/ns/q') as ResourceQuota).status?.used?.pods, '2');
  });

  it('writes a count lower than the recorded usage only when a count settleMs later, with no charge between, agrees', async () => {
    const api = new FakeApi();
    const controller = new ResourceQuotaController({ client: api.client(), informers: fakeInformers({}).informers, recorder: { event: () => undefined } }, { settleMs: 80 });
    const used = () => (api.objects.get('resourcequotas/ns/q') as ResourceQuota).status?.used?.pods;
    api.put('resourcequotas', quota('ns', { pods: '5' }, { status: { hard: { pods: '5' }, used: { pods: '3' } } }));
    api.put('pods', pod('a'));
    const first = await controller.sync('ns/q');
    assert.ok(first && first.requeueAfterMs! > 0 && first.requeueAfterMs! <= 80, JSON.stringify(first));
    assert.ok(((await controller.sync('ns/q')) as { requeueAfterMs: number }).requeueAfterMs > 0, 'an early look still waits');
    await new Promise((r) => setTimeout(r, 50));
    // A charge lands (its pod is being stored): the wait starts again from the new version.
    const q = api.objects.get('resourcequotas/ns/q') as ResourceQuota;
    api.put('resourcequotas', { ...q, status: { hard: { pods: '5' }, used: { pods: '4' } } });
    api.put('pods', pod('b'));
    await new Promise((r) => setTimeout(r, 40));
    assert.ok(((await controller.sync('ns/q')) as { requeueAfterMs: number }).requeueAfterMs > 40);
    assert.equal(used(), '4');
    await new Promise((r) => setTimeout(r, 90));
    assert.equal(await controller.sync('ns/q'), undefined);
    assert.equal(used(), '2');
    assert.equal(api.statusWrites.length, 1);
  });

  it('recounts when limits change or pods and Services of the namespace go, not on charges', () => {
    const q = quota('ns', { pods: '5' }, { status: { hard: { pods: '5' }, used: { pods: '1' } } });
    const { controller, handlers } = setup({ resourcequotas: [q, quota('elsewhere', { pods: '1' })] });
    handlers.resourcequotas!.update!(q, { ...q, status: { hard: { pods: '5' }, used: { pods: '2' } } });
    assert.equal(controller.queue.length, 0);
    handlers.resourcequotas!.update!(q, { ...q, spec: { hard: { pods: '6' } } });
    assert.equal(controller.queue.length, 1);
    const fresh = setup({ resourcequotas: [q, quota('elsewhere', { pods: '1' })] });
    fresh.handlers.pods!.delete!(pod('a'));
    assert.equal(fresh.controller.queue.length, 1, 'only the quota of the pod\'s namespace');
    const ended = setup({ resourcequotas: [q] });
    ended.handlers.pods!.update!(pod('a'), pod('a'));
    assert.equal(ended.controller.queue.length, 0);
    ended.handlers.pods!.update!(pod('a'), pod('a', undefined, 'Succeeded'));
    assert.equal(ended.controller.queue.length, 1);
    const svc = setup({ resourcequotas: [q] });
    svc.handlers.services!.delete!({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's', namespace: 'ns' } });
    assert.equal(svc.controller.queue.length, 1);
  });
});
