import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../api/meta.js';
import { builtinResources } from '../../api/registry.js';
import { notFound } from '../../lib/errors.js';
import type { ObjectStore } from '../../store/object-store.js';
import { ApiError } from '../status.js';
import type { AdmissionRequest, Operation } from './admission.js';
import { KubeVirtAdmission } from './kubevirt.js';

const registry = builtinResources();
const NOW = new Date('2024-05-01T10:00:00.123Z');

/** A store holding these VMIs (namespace/name → status). */
function storeWith(vmis: Record<string, Record<string, unknown>>): ObjectStore {
  return {
    async get(ref: { group: string; resource: string }, key: { namespace?: string; name: string }) {
      assert.deepEqual(ref, { group: 'kubevirt.io', resource: 'virtualmachineinstances' });
      const status = vmis[`${key.namespace}/${key.name}`];
      if (!status) throw notFound(`virtualmachineinstances.kubevirt.io "${key.name}" not found`);
      return { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachineInstance', metadata: { name: key.name, namespace: key.namespace }, spec: {}, status };
    },
  } as unknown as ObjectStore;
}

function request(resource: string, object: KubeObject, operation: Operation = 'CREATE', subresource?: string): AdmissionRequest {
  return { user: { name: 'alice', groups: [] }, operation, type: registry.byResource('kubevirt.io', resource)!, namespace: 'default', name: object.metadata.name, object, dryRun: false, subresource, warnings: [] };
}

const obj = (kind: string, name: string, spec: unknown, status?: unknown): KubeObject => ({ apiVersion: 'kubevirt.io/v1', kind, metadata: { name, namespace: 'default' }, spec, ...(status ? { status } : {}) });

async function admit(plugin: KubeVirtAdmission, r: AdmissionRequest): Promise<AdmissionRequest> {
  await plugin.mutate(r);
  await plugin.validate(r);
  return r;
}

describe('KubeVirt admission', () => {
  const plugin = new KubeVirtAdmission(storeWith({ 'default/vmi-running': { phase: 'Running' }, 'default/vmi-done': { phase: 'Succeeded' }, 'default/vmi-pinned': { phase: 'Running', conditions: [{ type: 'LiveMigratable', status: 'False', reason: 'DisksNotLiveMigratable', message: 'a local disk' }] } }), () => NOW);

  it('gives a new VMI the server\'s status, whatever was sent', async () => {
    const spec = { domain: { devices: {}, cpu: { cores: 2, sockets: 1, threads: 1 }, memory: { guest: '1Gi' } } };
    const r = await admit(plugin, request('virtualmachineinstances', obj('VirtualMachineInstance', 'vmi', spec, { phase: 'Running', nodeName: 'elsewhere' })));
    assert.deepEqual(r.object!.status, {
      phase: 'Pending',
      currentCPUTopology: { cores: 2, sockets: 1, threads: 1 },
      memory: { guestAtBoot: '1Gi', guestCurrent: '1Gi', guestRequested: '1Gi' },
      phaseTransitionTimestamps: [{ phase: 'Pending', phaseTransitionTimestamp: '2024-05-01T10:00:00Z' }],
    });
  });

  it('leaves the status of an existing VMI alone, and drops the status of a new VM or migration', async () => {
    const update = await admit(plugin, request('virtualmachineinstances', obj('VirtualMachineInstance', 'vmi', {}, { phase: 'Running' }), 'UPDATE'));
    assert.deepEqual(update.object!.status, { phase: 'Running' });
    const vm = await admit(plugin, request('virtualmachines', obj('VirtualMachine', 'vm', { runStrategy: 'Halted' }, { printableStatus: 'Running' })));
    assert.equal(vm.object!.status, undefined);
  });

  it('warns of the deprecated spec.running', async () => {
    const r = await admit(plugin, request('virtualmachines', obj('VirtualMachine', 'vm', { running: true }), 'UPDATE'));
    assert.deepEqual(r.warnings, ['spec.running is deprecated: use spec.runStrategy']);
    const quiet = await admit(plugin, request('virtualmachines', obj('VirtualMachine', 'vm', { runStrategy: 'Always' })));
    assert.deepEqual(quiet.warnings, []);
  });

  it('lets a migration name a VMI that exists and can migrate', async () => {
    const r = await admit(plugin, request('virtualmachineinstancemigrations', obj('VirtualMachineInstanceMigration', 'mig', { vmiName: 'vmi-running' }, { phase: 'Succeeded' })));
    assert.equal(r.object!.status, undefined);
  });

  it('refuses a migration of a VMI that is missing, finished or not migratable, with 400', async () => {
    const refused = async (vmiName: string, pattern: RegExp) => {
      const r = request('virtualmachineinstancemigrations', obj('VirtualMachineInstanceMigration', 'mig', { vmiName }));
      await assert.rejects(admit(plugin, r), (err: unknown) => err instanceof ApiError && err.code === 400 && pattern.test(err.message));
    };
    await refused('vmi-missing', /^virtualmachineinstancemigrations\.kubevirt\.io "mig" is refused: the VirtualMachineInstance "default\/vmi-missing" does not exist$/);
    await refused('vmi-done', /the VirtualMachineInstance "default\/vmi-done" has finished/);
    await refused('vmi-pinned', /the VirtualMachineInstance "default\/vmi-pinned" cannot migrate: DisksNotLiveMigratable: a local disk/);
  });

  it('does not look at updates of migrations, or at other groups', async () => {
    const update = request('virtualmachineinstancemigrations', obj('VirtualMachineInstanceMigration', 'mig', { vmiName: 'vmi-missing' }), 'UPDATE');
    await admit(plugin, update);
    const pod: AdmissionRequest = { ...request('virtualmachineinstances', obj('Pod', 'p', {}, { phase: 'Running' })), type: registry.byResource('', 'pods')! };
    await admit(plugin, pod);
    assert.deepEqual(pod.object!.status, { phase: 'Running' });
  });
});
