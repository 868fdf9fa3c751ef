/**
 * The VirtualMachine controller against a real API server, as KubeVirt's: a VM applied with kubectl gets
 * its instance (same name, the template's labels, owned by the VM) when its run strategy says so, and
 * loses it when it says Halted; the VM's STATUS column follows the instance; a VMI of that name that is
 * not the VM's is left alone with a warning; deleting the VM takes its instance (garbage collector). The
 * controller acts as its own identity (RBAC refusals fail the test at close).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Event } from '../../../src/api/core/v1/event.js';
import type { VirtualMachine } from '../../../src/api/kubevirt/v1/vm.js';
import type { VirtualMachineInstance } from '../../../src/api/kubevirt/v1/vmi-types.js';
import { EVENTS, VIRTUALMACHINEINSTANCES, VIRTUALMACHINES } from '../../../src/controllers/resources.js';
import { ControllerRig, eventually, namespace } from './harness.js';

let rig: ControllerRig;
let ns: string;

before(async () => {
  rig = await ControllerRig.start({ enabled: ['virtualmachine'] });
  ns = await namespace(rig.client, 'vms');
});
after(async () => {
  await rig?.close();
});

const vm = (name: string, runStrategy: string) => ({
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachine',
  metadata: { name, namespace: ns },
  spec: {
    runStrategy,
    template: {
      metadata: { labels: { 'kubevirt.io/vm': name, app: 'web' } },
      spec: {
        domain: { devices: { disks: [{ name: 'root', disk: { bus: 'virtio' } }] }, resources: { requests: { memory: '128Mi' } } },
        volumes: [{ name: 'root', containerDisk: { image: 'quay.io/kubevirt/cirros-container-disk-demo' } }],
      },
    },
  },
});

const getVm = (name: string) => rig.client.get<VirtualMachine>(VIRTUALMACHINES, name, { namespace: ns });
const getVmi = (name: string) => rig.client.get<VirtualMachineInstance>(VIRTUALMACHINEINSTANCES, name, { namespace: ns }).catch(() => undefined);
const statusOf = async (name: string) => (await getVm(name)).status?.printableStatus;

test('runStrategy Always makes the instance from the template, owned by the VM; Halted removes it', async () => {
  const created = await rig.client.create<VirtualMachine>(VIRTUALMACHINES, vm('web', 'Always') as VirtualMachine);
  const vmi = await eventually('the instance', () => getVmi('web'), 10_000);
  assert.deepEqual(vmi.metadata.labels, { 'kubevirt.io/vm': 'web', app: 'web' });
  const owner = vmi.metadata.ownerReferences?.[0];
  assert.deepEqual([owner?.kind, owner?.name, owner?.uid, owner?.controller], ['VirtualMachine', 'web', created.metadata.uid, true]);
  assert.equal(vmi.spec.volumes?.[0]?.containerDisk?.image, 'quay.io/kubevirt/cirros-container-disk-demo');
  // Nothing runs VMIs here: it stays Pending, and the VM says it is starting, not ready.
  await eventually('STATUS Starting', async () => (await statusOf('web')) === 'Starting', 10_000);
  const status = (await getVm('web')).status!;
  assert.equal(status.created, true);
  assert.equal(status.ready, undefined);
  assert.equal(status.conditions?.find((c) => c.type === 'Ready')?.status, 'False');

  await rig.client.patch(VIRTUALMACHINES, 'web', { spec: { runStrategy: 'Halted' } }, 'merge', { namespace: ns });
  await eventually('the instance removed', async () => (await getVmi('web')) === undefined, 10_000);
  await eventually('STATUS Stopped', async () => (await statusOf('web')) === 'Stopped', 10_000);
  const events = (await rig.client.list<Event>(EVENTS, { namespace: ns })).items.filter((e) => e.involvedObject.name === 'web').map((e) => e.reason);
  assert.ok(events.includes('SuccessfulCreate') && events.includes('SuccessfulDelete'), events.join(', '));
});

test('Halted and Manual make nothing; the deprecated running: true does as Always', async () => {
  await rig.client.create(VIRTUALMACHINES, vm('halted', 'Halted') as VirtualMachine);
  await rig.client.create(VIRTUALMACHINES, vm('manual', 'Manual') as VirtualMachine);
  const legacy = vm('legacy', 'Always') as unknown as { spec: Record<string, unknown> };
  delete legacy.spec.runStrategy;
  legacy.spec.running = true;
  await rig.client.create(VIRTUALMACHINES, legacy as unknown as VirtualMachine);
  await eventually('the legacy VM\'s instance', () => getVmi('legacy'), 10_000);
  await eventually('both stopped', async () => (await statusOf('halted')) === 'Stopped' && (await statusOf('manual')) === 'Stopped', 10_000);
  assert.equal(await getVmi('halted'), undefined);
  assert.equal(await getVmi('manual'), undefined);
});

test('an instance of the name that is not the VM\'s is left alone; deleting a VM takes its own instance', async () => {
  const foreign = vm('taken', 'Always').spec.template;
  await rig.client.create(VIRTUALMACHINEINSTANCES, { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachineInstance', metadata: { name: 'taken', namespace: ns }, spec: foreign.spec } as unknown as VirtualMachineInstance);
  await rig.client.create(VIRTUALMACHINES, vm('taken', 'Always') as VirtualMachine);
  await eventually('a FailedCreate warning', async () => (await rig.client.list<Event>(EVENTS, { namespace: ns })).items.some((e) => e.involvedObject.name === 'taken' && e.reason === 'FailedCreate'), 10_000);
  assert.equal((await getVmi('taken'))?.metadata.ownerReferences, undefined, 'not adopted');

  await rig.client.delete(VIRTUALMACHINES, 'legacy', { namespace: ns });
  await eventually('the legacy instance collected with its VM', async () => (await getVmi('legacy')) === undefined, 20_000);
});
