/**
 * KubeVirt admission: what KubeVirt's webhooks do that needs the request or the store, for kubevirt.io
 * objects. A new VirtualMachineInstance starts with the server's status (Pending since now, its CPU
 * topology and guest memory), whatever status was sent; a new VirtualMachine or migration starts with
 * none (their status is their controllers'). A migration must name a VMI that exists in its namespace
 * and has not finished, and that its controller has not found unable to migrate (refused with 400, as
 * KubeVirt's webhook answers). Writing the deprecated `spec.running` of a VM gets a warning.
 */
import type { VirtualMachineInstanceMigration } from '../../api/kubevirt/v1/migration.js';
import { defaultVmiStatus } from '../../api/kubevirt/v1/vmi-defaults.js';
import { KUBEVIRT_GROUP, record, type VirtualMachineInstance, type VmiCondition } from '../../api/kubevirt/v1/vmi-types.js';
import { isNubisError } from '../../lib/errors.js';
import { qualifiedResource, type ObjectStore } from '../../store/object-store.js';
import { ApiError } from '../status.js';
import type { AdmissionPlugin, AdmissionRequest } from './admission.js';

const VMIS = { group: KUBEVIRT_GROUP, resource: 'virtualmachineinstances' };

/** The resource of a kubevirt.io request about the object itself (not a subresource), or undefined. */
function kubevirtResource(r: AdmissionRequest): string | undefined {
  return r.type.group === KUBEVIRT_GROUP && !r.subresource ? r.type.resource : undefined;
}

export class KubeVirtAdmission implements AdmissionPlugin {
  readonly name = 'KubeVirt';

  constructor(
    private readonly store: ObjectStore,
    private readonly now: () => Date = () => new Date(),
  ) {}

  mutate(r: AdmissionRequest): void {
    const resource = kubevirtResource(r);
    const obj = r.object;
    if (!resource || !obj) return;
    if (resource === 'virtualmachines' && record(obj.spec)?.['running'] !== undefined) r.warnings?.push('spec.running is deprecated: use spec.runStrategy');
    if (r.operation !== 'CREATE') return;
    if (resource === 'virtualmachineinstances') this.initialStatus(obj as VirtualMachineInstance);
    else delete obj.status;
  }

  async validate(r: AdmissionRequest): Promise<void> {
    if (kubevirtResource(r) !== 'virtualmachineinstancemigrations' || r.operation !== 'CREATE' || !r.object) return;
    const vmiName = (r.object as VirtualMachineInstanceMigration).spec.vmiName;
    const vmi = await this.vmi(r.namespace ?? '', vmiName);
    const where = `"${r.namespace}/${vmiName}"`;
    if (!vmi) refuse(r, `the VirtualMachineInstance ${where} does not exist`);
    if (['Succeeded', 'Failed'].includes(String(record(vmi.status)?.['phase']))) {
      refuse(r, `the VirtualMachineInstance ${where} has finished: only a running one can migrate`);
    }
    const conditions = record(vmi.status)?.['conditions'];
    const blocked = Array.isArray(conditions) ? (conditions as VmiCondition[]).find((c) => c?.type === 'LiveMigratable' && c.status === 'False') : undefined;
    if (blocked) refuse(r, `the VirtualMachineInstance ${where} cannot migrate: ${blocked.reason ?? ''}: ${blocked.message ?? ''}`);
  }

  /** KubeVirt's status of a new VMI: Pending since now, with what its spec says of CPUs and memory. */
  private initialStatus(vmi: VirtualMachineInstance): void {
    const status = {};
    vmi.status = status;
    if (!record(vmi.spec)) return;
    defaultVmiStatus(status, vmi.spec);
    vmi.status.phaseTransitionTimestamps = [{ phase: 'Pending', phaseTransitionTimestamp: this.now().toISOString().replace(/\.\d+Z$/, 'Z') }];
  }

  private async vmi(namespace: string, name: string): Promise<VirtualMachineInstance | undefined> {
    try {
      return await this.store.get<VirtualMachineInstance>(VMIS, { namespace, name });
    } catch (err) {
      if (isNubisError(err, 'NotFound') || isNubisError(err, 'Invalid')) return undefined;
      throw err;
    }
  }
}

function refuse(r: AdmissionRequest, reason: string): never {
  throw new ApiError('BadRequest', `${qualifiedResource(r.type)} "${r.name}" is refused: ${reason}`, { name: r.name, group: r.type.group, kind: r.type.resource });
}
