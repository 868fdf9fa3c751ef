/**
 * What a VirtualMachine's controller does about its instance, as KubeVirt's VM controller: the run
 * strategy decides whether a VirtualMachineInstance (named as the VM, made from its template, owned by
 * it) should exist, and the VM's status says how the instance is (printableStatus, ready, created, a
 * Ready condition). Pure: the controller applies the decision.
 */
import { runStrategyOf, type VirtualMachine, type VirtualMachineStatus } from '../../api/kubevirt/v1/vm.js';
import type { VirtualMachineInstance, VmiCondition } from '../../api/kubevirt/v1/vmi-types.js';
import { newControllerRef } from '../pod-util.js';

export type VmAction = 'create' | 'delete' | 'none';

const finished = (vmi: VirtualMachineInstance) => vmi.status?.phase === 'Succeeded' || vmi.status?.phase === 'Failed';
const conditionTrue = (vmi: VirtualMachineInstance, type: string) => vmi.status?.conditions?.some((c) => c.type === type && c.status === 'True') ?? false;

/** Whether the VM's instance should be made, removed or left as it is. */
export function vmAction(vm: VirtualMachine, vmi: VirtualMachineInstance | undefined): VmAction {
  if (vm.metadata.deletionTimestamp) return 'none';
  if (vmi?.metadata.deletionTimestamp) return 'none';
  switch (runStrategyOf(vm.spec)) {
    case 'Halted':
      return vmi ? 'delete' : 'none';
    case 'Always':
      // A finished instance goes; the next sync makes a new one.
      return !vmi ? 'create' : finished(vmi) ? 'delete' : 'none';
    case 'RerunOnFailure':
      return !vmi ? 'create' : vmi.status?.phase === 'Failed' ? 'delete' : 'none';
    case 'Once':
      return vmi ? 'none' : 'create';
    case 'Manual':
      return 'none';
  }
}

/** kubectl's STATUS column of a VM (KubeVirt's printableStatus values). */
export function printableStatus(vm: VirtualMachine, vmi: VirtualMachineInstance | undefined): string {
  if (vm.metadata.deletionTimestamp) return 'Terminating';
  if (!vmi) return 'Stopped';
  if (vmi.metadata.deletionTimestamp) return 'Stopping';
  const unschedulable = vmi.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable');
  if (unschedulable) return 'ErrorUnschedulable';
  switch (vmi.status?.phase) {
    case 'Running':
      if (conditionTrue(vmi, 'Paused')) return 'Paused';
      return vmi.status.migrationState && !(vmi.status.migrationState as { completed?: boolean }).completed ? 'Migrating' : 'Running';
    case 'Succeeded':
    case 'Failed':
      return 'Stopped';
    case 'Unknown':
      return 'Unknown';
    default:
      return 'Starting';
  }
}

/** The VM's status for its instance (or none). */
export function vmStatus(vm: VirtualMachine, vmi: VirtualMachineInstance | undefined, now = new Date()): VirtualMachineStatus {
  const ready = vmi !== undefined && !vmi.metadata.deletionTimestamp && vmi.status?.phase === 'Running' && conditionTrue(vmi, 'Ready');
  const old = vm.status?.conditions?.find((c) => c.type === 'Ready');
  const status = ready ? 'True' : 'False';
  const condition: VmiCondition = {
    type: 'Ready',
    status,
    lastProbeTime: null,
    lastTransitionTime: old?.status === status ? (old.lastTransitionTime ?? now.toISOString()) : now.toISOString(),
    ...(ready ? {} : { reason: vmi ? 'VMINotReady' : 'VMINotExists', message: vmi ? 'the instance is not ready' : 'the VM has no instance' }),
  };
  const out: VirtualMachineStatus = { ...(vm.status ?? {}), printableStatus: printableStatus(vm, vmi), ready, created: vmi !== undefined, runStrategy: runStrategyOf(vm.spec), conditions: [condition] };
  if (!ready) delete out.ready;
  if (!out.created) delete out.created;
  return out;
}

/** The instance the VM makes: its name and namespace, the template's labels, annotations and spec, owned by it. */
export function vmiFor(vm: VirtualMachine): VirtualMachineInstance {
  const meta = vm.spec.template.metadata ?? {};
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: {
      name: vm.metadata.name,
      namespace: vm.metadata.namespace,
      ...(meta.labels ? { labels: { ...meta.labels } } : {}),
      ...(meta.annotations ? { annotations: { ...meta.annotations } } : {}),
      ownerReferences: [newControllerRef(vm)],
    },
    spec: structuredClone(vm.spec.template.spec),
  };
}
