import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Pod, PodStatus } from '../api/core/v1/pod-types.js';
import type { RestClient } from '../client/rest-client.js';
import { FakeHost } from '../host/fake-host.js';
import { notFound } from '../lib/errors.js';
import { FakeDriver } from '../runtime/fake/fake-driver.js';
import { RuntimeRegistry } from '../runtime/registry.js';
import { Backoff } from './backoff.js';
import type { ImagePuller } from './image-puller.js';
import { LoopbackOnly } from './network-plugin.js';
import { PodWorker, type WorkerDeps } from './pod-worker.js';
import { PodVolumes } from './volumes.js';

let dir: string;
before(async () => {
  dir = await fs.mkdtemp(path.join(tmpdir(), 'nubis-worker-'));
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** The API as a worker sees it: status patches are recorded. */
function fakeClient() {
  const statuses: PodStatus[] = [];
  const client = {
    patch: async (_r: unknown, _name: string, body: { status: PodStatus }) => {
      statuses.push(body.status);
      return {};
    },
    delete: async () => ({}),
  } as unknown as RestClient;
  return { client, statuses };
}

function setup(handlers: Record<string, FakeDriver>) {
  const { client, statuses } = fakeClient();
  const objects = { configMap: async () => undefined, secret: async () => undefined, services: async () => [], serviceAccountToken: async () => ({ token: '', expirationTimestamp: '' }) };
  const deps: WorkerDeps = {
    runtimes: new RuntimeRegistry(handlers),
    handlerOf: async (pod) => {
      const name = pod.spec.runtimeClassName;
      if (!name) return 'runc';
      if (name === 'missing') throw notFound('RuntimeClass "missing" not found');
      return name;
    },
    client,
    puller: { ensure: async () => {} } as unknown as ImagePuller,
    volumes: new PodVolumes(path.join(dir, 'pods'), new FakeHost(), objects),
    objects,
    network: LoopbackOnly,
    probeRunner: async () => ({ ok: true }),
    backoff: new Backoff({ initialMs: 0, maxMs: 0, resetAfterMs: 1000 }),
    pullBackoff: new Backoff({ initialMs: 0, maxMs: 0, resetAfterMs: 1000 }),
    hostIP: '127.0.0.1',
    allocatable: () => ({ cpu: 2, memory: 2 ** 30 }),
    probeMsPerSecond: 1,
    volumeRefreshMs: 60_000,
    seccompDir: path.join(dir, 'seccomp'),
  };
  return { deps, statuses };
}

function pod(name: string, spec: Partial<Pod['spec']>): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', uid: `uid-${name}` },
    spec: { containers: [{ name: 'main', image: 'busybox', command: ['print', 'hi', '', '0'] }], restartPolicy: 'Never', ...spec },
  };
}

async function until(what: string, fn: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !fn(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(fn(), `timed out waiting for ${what}`);
}

test("a pod runs on its RuntimeClass handler's driver, in a sandbox of that driver, and completes", async () => {
  const runc = new FakeDriver('runc-fake');
  const other = new FakeDriver('other-fake');
  const { deps, statuses } = setup({ runc, other });
  const p = pod('done', { runtimeClassName: 'other' });
  const w = new PodWorker({ uid: p.metadata.uid!, namespace: 'default', name: p.metadata.name }, deps);
  w.update(p);
  await until('the pod to succeed', () => statuses.at(-1)?.phase === 'Succeeded');
  assert.equal(w.driver, other);
  assert.deepEqual(other.calls.slice(0, 3), ['createSandbox uid-done', 'create k8s_main_done_default_uid-done_0', 'start k8s_main_done_default_uid-done_0']);
  const [workload] = await other.list();
  assert.equal(workload?.spec.sandbox, 'uid-done', 'the container runs in the pod sandbox');
  assert.deepEqual(runc.calls, [], 'the other driver is not touched');
  w.gone();
  await w.done;
  assert.deepEqual(await other.sandboxIds(), [], 'the sandbox goes with the pod');
  assert.deepEqual(await other.list(), [], 'and so do its workloads');
});

test('a pod whose RuntimeClass is missing, or whose handler this node lacks, waits with the reason and makes nothing', async () => {
  const runc = new FakeDriver();
  const { deps, statuses } = setup({ runc });
  for (const [name, cls, message] of [
    ['lost', 'missing', /RuntimeClass "missing" not found/],
    ['alien', 'kata', /no runtime for "kata" is configured on this node/],
  ] as const) {
    const p = pod(name, { runtimeClassName: cls });
    const w = new PodWorker({ uid: p.metadata.uid!, namespace: 'default', name }, deps);
    w.update(p);
    await until(`${name} to wait`, () => statuses.some((s) => s.containerStatuses?.[0]?.state?.waiting?.message?.includes(cls) === true));
    const waiting = statuses.at(-1)!.containerStatuses![0]!.state!.waiting!;
    assert.equal(waiting.reason, 'ContainerCreating');
    assert.match(waiting.message!, message);
    assert.match(waiting.message!, /^Failed to create pod sandbox: /);
    w.stop();
  }
  assert.deepEqual(runc.calls, [], 'no sandbox, no workload');
});

test('an exit is noticed through the driver and the container restarts under restartPolicy Always; a lost sandbox is made again', async () => {
  const runc = new FakeDriver();
  const { deps, statuses } = setup({ runc });
  const p = pod('loop', { restartPolicy: 'Always', containers: [{ name: 'main', image: 'busybox', command: ['sleep'] }] });
  const w = new PodWorker({ uid: p.metadata.uid!, namespace: 'default', name: 'loop' }, deps);
  w.update(p);
  await until('running', () => statuses.at(-1)?.containerStatuses?.[0]?.state?.running !== undefined);
  const first = w.containerId('main')!;
  runc.exitNow(first, 1);
  await until('the restart', () => statuses.at(-1)?.containerStatuses?.[0]?.restartCount === 1 && statuses.at(-1)?.containerStatuses?.[0]?.state?.running !== undefined);
  assert.notEqual(w.containerId('main'), first);

  runc.loseSandbox('uid-loop');
  runc.exitNow(w.containerId('main')!, 1);
  await until('a new sandbox', () => runc.calls.filter((c) => c === 'createSandbox uid-loop').length === 2);
  await until('running again', () => statuses.at(-1)?.containerStatuses?.[0]?.state?.running !== undefined);
  w.gone();
  await w.done;
  assert.deepEqual(await runc.list(), []);
});
