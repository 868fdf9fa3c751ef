/**
 * The VirtualMachine controller: watches VMs and their instances (VMIs of the same name and namespace,
 * owned by the VM), makes or removes the instance as the run strategy says (vm-sync.ts) and keeps the
 * VM's status. Deleting a VM takes its instance with it through the owner reference (garbage collector).
 */
import type { VirtualMachine } from '../../api/kubevirt/v1/vm.js';
import type { VirtualMachineInstance } from '../../api/kubevirt/v1/vmi-types.js';
import type { Informer } from '../../client/informer.js';
import { isNubisError, messageOf } from '../../lib/errors.js';
import { logger } from '../../lib/log.js';
import { type Controller, type ControllerDeps, runController, writeStatus } from '../controller.js';
import { controllerRefOf, keyOf, splitKey } from '../pod-util.js';
import { VIRTUALMACHINEINSTANCES, VIRTUALMACHINES } from '../resources.js';
import { type ReconcileResult, WorkQueue } from '../work-queue.js';
import { vmAction, vmiFor, vmStatus } from './vm-sync.js';

const log = logger('virtualmachine-controller');

export class VirtualMachineController implements Controller {
  readonly name = 'virtualmachine';
  readonly queue = new WorkQueue();
  private readonly vms: Informer<VirtualMachine>;
  private readonly vmis: Informer<VirtualMachineInstance>;

  constructor(private readonly deps: ControllerDeps) {
    this.vms = deps.informers.get<VirtualMachine>(VIRTUALMACHINES);
    this.vmis = deps.informers.get<VirtualMachineInstance>(VIRTUALMACHINEINSTANCES);
    const enqueue = (o: VirtualMachine | VirtualMachineInstance) => this.queue.add(keyOf(o));
    this.vms.addHandlers({ add: enqueue, update: (_o, vm) => enqueue(vm), delete: enqueue });
    // An instance is its VM's by name; only instances a VM controls wake it.
    const vmiChanged = (vmi: VirtualMachineInstance) => {
      if (controllerRefOf(vmi)?.kind === 'VirtualMachine') enqueue(vmi);
    };
    this.vmis.addHandlers({ add: vmiChanged, update: (_o, vmi) => vmiChanged(vmi), delete: vmiChanged });
  }

  run(signal: AbortSignal): Promise<void> {
    return runController(this.deps, this.queue, signal, 2, (key) => this.sync(key), log);
  }

  async sync(key: string): Promise<ReconcileResult> {
    const vm = this.vms.cache.get(key);
    if (!vm) return;
    let vmi = this.vmis.cache.get(key);
    if (vmi && controllerRefOf(vmi)?.uid !== vm.metadata.uid) {
      // An instance of that name that is not this VM's (made by hand, or by an earlier VM of the name).
      if (!vmi.metadata.deletionTimestamp) this.deps.recorder.event(vm, 'Warning', 'FailedCreate', `VirtualMachineInstance ${vmi.metadata.name} exists and is not controlled by this VirtualMachine`);
      await writeStatus(this.deps.client, VIRTUALMACHINES, vm, { ...vmStatus(vm, undefined), printableStatus: 'Unknown' });
      return;
    }
    const { namespace } = splitKey(key);
    const action = vmAction(vm, vmi);
    if (action === 'create') {
      try {
        vmi = await this.deps.client.create<VirtualMachineInstance>(VIRTUALMACHINEINSTANCES, vmiFor(vm));
        this.deps.recorder.event(vm, 'Normal', 'SuccessfulCreate', `Started the virtual machine by creating the new virtual machine instance ${vm.metadata.name}`);
      } catch (err) {
        if (!isNubisError(err, 'AlreadyExists')) {
          this.deps.recorder.event(vm, 'Warning', 'FailedCreate', `Error creating the virtual machine instance: ${messageOf(err)}`);
          throw err;
        }
      }
    } else if (action === 'delete' && vmi) {
      await this.deps.client.delete(VIRTUALMACHINEINSTANCES, vmi.metadata.name, { namespace, preconditions: { uid: vmi.metadata.uid } }).catch((err: unknown) => {
        if (!isNubisError(err, 'NotFound')) throw err;
      });
      this.deps.recorder.event(vm, 'Normal', 'SuccessfulDelete', `Stopped the virtual machine by deleting the virtual machine instance ${vmi.metadata.uid}`);
      vmi = { ...vmi, metadata: { ...vmi.metadata, deletionTimestamp: new Date().toISOString() } };
    }
    await writeStatus(this.deps.client, VIRTUALMACHINES, vm, vmStatus(vm, vmi));
  }
}
