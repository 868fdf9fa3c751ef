import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Pod, PodSpec } from '../../api/core/v1/pod-types.js';
import type { RuntimeClass } from '../../api/node/v1/runtime-class.js';
import { builtinResources } from '../../api/registry.js';
import { notFound } from '../../lib/errors.js';
import type { ObjectStore } from '../../store/object-store.js';
import { ApiError } from '../status.js';
import type { AdmissionRequest, Operation } from './admission.js';
import { RuntimeClassAdmission, sameResources } from './runtime-class.js';

const registry = builtinResources();
const rc = (name: string, extra: Partial<RuntimeClass> = {}): RuntimeClass => ({ apiVersion: 'node.k8s.io/v1', kind: 'RuntimeClass', metadata: { name }, handler: name, ...extra });
const CLASSES = [
  rc('runc'),
  rc('microvm', { overhead: { podFixed: { cpu: '250m', memory: '160Mi' } } }),
  rc('gvisor', {
    scheduling: {
      nodeSelector: { 'sandbox.example.com/gvisor': 'true', zone: 'a' },
      tolerations: [
        { key: 'sandbox', operator: 'Equal', value: 'gvisor', effect: 'NoSchedule' },
        { key: 'dedicated', operator: 'Exists' },
      ],
    },
  }),
];

/** A store holding the classes above; it counts its reads. */
function fakeStore() {
  const reads: string[] = [];
  const store = {
    async get(ref: { group: string; resource: string }, key: { name: string }) {
      assert.deepEqual(ref, { group: 'node.k8s.io', resource: 'runtimeclasses' });
      reads.push(key.name);
      const found = CLASSES.find((c) => c.metadata.name === key.name);
      if (!found) throw notFound(`runtimeclasses.node.k8s.io "${key.name}" not found`);
      return structuredClone(found);
    },
  } as unknown as ObjectStore;
  return { store, reads };
}

const pod = (spec: Partial<PodSpec> = {}): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', namespace: 'ns' },
  spec: { containers: [{ name: 'c', image: 'busybox' }], ...spec },
});

function request(p: Pod, operation: Operation = 'CREATE', subresource?: string): AdmissionRequest {
  return { user: { name: 'alice', groups: [] }, operation, type: registry.byResource('', 'pods')!, namespace: 'ns', name: p.metadata.name, object: p, dryRun: false, subresource };
}

/** Mutating then validating admission, as ObjectOps runs them; the pod as admitted. */
async function admit(p: Pod, plugin = new RuntimeClassAdmission(fakeStore().store)): Promise<Pod> {
  const r = request(p);
  await plugin.mutate(r);
  await plugin.validate(r);
  return r.object as Pod;
}

async function refused(p: Pod, message: string): Promise<void> {
  await assert.rejects(admit(p), (err: unknown) => {
    assert.ok(err instanceof ApiError, String(err));
    assert.equal(err.reason, 'Forbidden');
    assert.equal(err.code, 403);
    assert.equal(err.message, message);
    return true;
  });
}

describe('RuntimeClass admission', () => {
  it('refuses a pod naming a RuntimeClass that does not exist, in Kubernetes\' words', async () => {
    await refused(pod({ runtimeClassName: 'kata' }), 'pods "web" is forbidden: pod rejected: RuntimeClass "kata" not found');
  });

  it('leaves pods without a RuntimeClass alone, and looks nothing up for them', async () => {
    const { store, reads } = fakeStore();
    const before = pod({ nodeSelector: { a: 'b' } });
    const after = await admit(structuredClone(before), new RuntimeClassAdmission(store));
    assert.deepEqual(after, before);
    assert.deepEqual(reads, []);
  });

  it("sets the class's overhead on the pod, once per request", async () => {
    const { store, reads } = fakeStore();
    const p = await admit(pod({ runtimeClassName: 'microvm' }), new RuntimeClassAdmission(store));
    assert.deepEqual(p.spec.overhead, { cpu: '250m', memory: '160Mi' });
    assert.deepEqual(reads, ['microvm']);
    // A class without overhead adds none.
    assert.equal((await admit(pod({ runtimeClassName: 'runc' }))).spec.overhead, undefined);
  });

  it('accepts a pod stating its class\'s overhead (in any spelling) and refuses another', async () => {
    const same = await admit(pod({ runtimeClassName: 'microvm', overhead: { cpu: '0.25', memory: '163840Ki' } }));
    assert.deepEqual(same.spec.overhead, { cpu: '250m', memory: '160Mi' });
    await refused(pod({ runtimeClassName: 'microvm', overhead: { cpu: '1' } }), 'pods "web" is forbidden: pod rejected: Pod\'s Overhead doesn\'t match RuntimeClass\'s defined Overhead');
    await refused(pod({ runtimeClassName: 'runc', overhead: { cpu: '1' } }), 'pods "web" is forbidden: pod rejected: Overhead provided but not defined in RuntimeClass');
    await refused(pod({ overhead: { memory: '1Gi' } }), 'pods "web" is forbidden: pod rejected: Overhead provided but not defined in RuntimeClass');
  });

  it("refuses an overhead changed after mutation (validate checks what is stored)", async () => {
    const plugin = new RuntimeClassAdmission(fakeStore().store);
    const r = request(pod({ runtimeClassName: 'microvm' }));
    await plugin.mutate(r);
    (r.object as Pod).spec.overhead = { cpu: '1m' };
    await assert.rejects(plugin.validate(r), /Overhead doesn't match/);
  });

  it("merges the class's nodeSelector into the pod's and refuses a conflicting value", async () => {
    const p = await admit(pod({ runtimeClassName: 'gvisor', nodeSelector: { disk: 'ssd', zone: 'a' } }));
    assert.deepEqual(p.spec.nodeSelector, { disk: 'ssd', zone: 'a', 'sandbox.example.com/gvisor': 'true' });
    const bare = await admit(pod({ runtimeClassName: 'gvisor' }));
    assert.deepEqual(bare.spec.nodeSelector, { 'sandbox.example.com/gvisor': 'true', zone: 'a' });
    await refused(pod({ runtimeClassName: 'gvisor', nodeSelector: { zone: 'b' } }), 'pods "web" is forbidden: conflict: runtimeClass.scheduling.nodeSelector[zone] = a; pod.spec.nodeSelector[zone] = b');
  });

  it("adds the class's tolerations the pod lacks, without repeating any", async () => {
    const own = [
      { key: 'node.kubernetes.io/not-ready', operator: 'Exists' as const, effect: 'NoExecute' as const, tolerationSeconds: 300 },
      { key: 'sandbox', operator: 'Equal' as const, value: 'gvisor', effect: 'NoSchedule' as const },
      // Covered by the class's `dedicated Exists` (any value, any effect): it gives way to the wider one.
      { key: 'dedicated', operator: 'Equal' as const, value: 'x', effect: 'NoSchedule' as const },
    ];
    const p = await admit(pod({ runtimeClassName: 'gvisor', tolerations: own }));
    assert.deepEqual(p.spec.tolerations, [own[0], own[1], { key: 'dedicated', operator: 'Exists' }]);
  });

  it('looks only at pod creates', async () => {
    const plugin = new RuntimeClassAdmission(fakeStore().store);
    for (const r of [request(pod({ runtimeClassName: 'kata' }), 'UPDATE'), request(pod({ runtimeClassName: 'kata' }), 'CREATE', 'binding')]) {
      await plugin.mutate(r);
      await plugin.validate(r);
    }
    const cm = { ...request(pod({ runtimeClassName: 'kata' })), type: registry.byResource('', 'configmaps')! };
    await plugin.mutate(cm);
    await plugin.validate(cm);
  });
});

describe('sameResources', () => {
  it('compares amounts, not spellings, and every resource', () => {
    assert.equal(sameResources({ cpu: '1', memory: '1Gi' }, { cpu: '1000m', memory: '1024Mi' }), true);
    assert.equal(sameResources({ cpu: '1' }, { cpu: '1', memory: '1Gi' }), false);
    assert.equal(sameResources({ cpu: '1', memory: '1Gi' }, { cpu: '1' }), false);
    assert.equal(sameResources(undefined, {}), true);
  });
});
