import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { VirtualMachine } from '../../api/kubevirt/v1/vm.js';
import type { VirtualMachineInstance, VmiPhase } from '../../api/kubevirt/v1/vmi-types.js';
import { printableStatus, vmAction, vmiFor, vmStatus } from './vm-sync.js';

const vm = (spec: Partial<VirtualMachine['spec']>, meta: Partial<VirtualMachine['metadata']> = {}): VirtualMachine => ({
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachine',
  metadata: { name: 'v', namespace: 'ns', uid: 'u1', ...meta },
  spec: { template: { metadata: { labels: { a: 'b' } }, spec: { domain: { devices: {} } } }, ...spec } as VirtualMachine['spec'],
});
const vmi = (phase: VmiPhase, extra: Partial<VirtualMachineInstance['status']> = {}, meta: Partial<VirtualMachineInstance['metadata']> = {}): VirtualMachineInstance => ({
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachineInstance',
  metadata: { name: 'v', namespace: 'ns', ...meta },
  spec: { domain: { devices: {} } } as VirtualMachineInstance['spec'],
  status: { phase, ...extra },
});

test('each run strategy decides whether the instance is made, removed or left', () => {
  const cases: Array<[string, VirtualMachineInstance | undefined, string]> = [
    ['Always', undefined, 'create'],
    ['Always', vmi('Running'), 'none'],
    ['Always', vmi('Succeeded'), 'delete'],
    ['Always', vmi('Failed'), 'delete'],
    ['RerunOnFailure', undefined, 'create'],
    ['RerunOnFailure', vmi('Failed'), 'delete'],
    ['RerunOnFailure', vmi('Succeeded'), 'none'],
    ['Once', undefined, 'create'],
    ['Once', vmi('Failed'), 'none'],
    ['Halted', vmi('Running'), 'delete'],
    ['Halted', undefined, 'none'],
    ['Manual', undefined, 'none'],
    ['Manual', vmi('Running'), 'none'],
  ];
  for (const [strategy, instance, want] of cases) {
    assert.equal(vmAction(vm({ runStrategy: strategy as 'Always' }), instance), want, `${strategy} with ${instance?.status?.phase ?? 'no instance'}`);
  }
  assert.equal(vmAction(vm({ running: true }), undefined), 'create', 'running: true is Always');
  assert.equal(vmAction(vm({ running: false }), vmi('Running')), 'delete', 'running: false is Halted');
  assert.equal(vmAction(vm({ runStrategy: 'Halted' }), vmi('Running', {}, { deletionTimestamp: 'x' })), 'none', 'already going');
  assert.equal(vmAction(vm({ runStrategy: 'Always' }, { deletionTimestamp: 'x' }), undefined), 'none', 'a VM being deleted makes nothing');
});

test('STATUS follows the instance as KubeVirt prints it', () => {
  const v = vm({ runStrategy: 'Always' });
  assert.equal(printableStatus(v, undefined), 'Stopped');
  assert.equal(printableStatus(v, vmi('Pending')), 'Starting');
  assert.equal(printableStatus(v, vmi('Scheduled')), 'Starting');
  assert.equal(printableStatus(v, vmi('Running')), 'Running');
  assert.equal(printableStatus(v, vmi('Running', { conditions: [{ type: 'Paused', status: 'True' }] })), 'Paused');
  assert.equal(printableStatus(v, vmi('Running', { migrationState: { completed: false } })), 'Migrating');
  assert.equal(printableStatus(v, vmi('Scheduling', { conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }] })), 'ErrorUnschedulable');
  assert.equal(printableStatus(v, vmi('Running', {}, { deletionTimestamp: 'x' })), 'Stopping');
  assert.equal(printableStatus(v, vmi('Succeeded')), 'Stopped');
  assert.equal(printableStatus(vm({}, { deletionTimestamp: 'x' }), vmi('Running')), 'Terminating');
});

test('status: ready only for a running, Ready instance; the Ready condition keeps its transition time', () => {
  const v = vm({ runStrategy: 'Always' });
  const ready = vmStatus(v, vmi('Running', { conditions: [{ type: 'Ready', status: 'True' }] }), new Date('2026-01-01T00:00:00Z'));
  assert.equal(ready.ready, true);
  assert.equal(ready.created, true);
  assert.equal(ready.printableStatus, 'Running');
  assert.equal(ready.runStrategy, 'Always');
  assert.deepEqual(ready.conditions?.[0], { type: 'Ready', status: 'True', lastProbeTime: null, lastTransitionTime: '2026-01-01T00:00:00.000Z' });
  const later = vmStatus({ ...v, status: ready }, vmi('Running', { conditions: [{ type: 'Ready', status: 'True' }] }), new Date('2026-02-01T00:00:00Z'));
  assert.equal(later.conditions?.[0]?.lastTransitionTime, '2026-01-01T00:00:00.000Z');
  const none = vmStatus(v, undefined);
  assert.equal(none.ready, undefined);
  assert.equal(none.created, undefined);
  assert.equal(none.conditions?.[0]?.reason, 'VMINotExists');
});

test('the instance is the template, named as the VM and owned by it', () => {
  const i = vmiFor(vm({ runStrategy: 'Always' }));
  assert.equal(i.metadata.name, 'v');
  assert.equal(i.metadata.namespace, 'ns');
  assert.deepEqual(i.metadata.labels, { a: 'b' });
  assert.deepEqual(i.metadata.ownerReferences, [{ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', name: 'v', uid: 'u1', controller: true, blockOwnerDeletion: true }]);
});
