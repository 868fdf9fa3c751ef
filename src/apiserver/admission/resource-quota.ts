/**
 * ResourceQuota admission: a write that would take a namespace's use of a resource past a quota's hard
 * limit is refused (403, `exceeded quota: compute, requested: requests.cpu=500m, used: requests.cpu=800m,
 * limited: requests.cpu=1`), and a pod that does not state a compute resource a quota limits is refused
 * (`failed quota: compute: must specify requests.cpu for: app`).
 *
 * The quota's status.used is the ledger, charged before the object is stored, as Kubernetes does. Each
 * charge is a status write conditional on the resourceVersion the check read: of two requests checked
 * against the same state, one write wins and the other fails with Conflict, reads the quota again and
 * is checked again against the usage that now includes the first. So no two writes, on one API server
 * or on several sharing a store, can both take the last of a quota. Within one server, checks of a
 * namespace also take turns (a keyed mutex), so concurrent creates queue instead of retrying. A charge
 * whose object is then not stored (a later failure) stays until the quota controller recounts.
 */
import type { Pod } from '../../api/core/v1/pod-types.js';
import { resourceList, type ResourceList } from '../../api/core/v1/pod-resources.js';
import {
  countUsage, exceededQuota, formatResourceList, isZeroUsage, mask, missingCompute, quotaCovers, quotaUsage, subtractNonNegative, tracks, type GroupResource,
} from '../../api/core/v1/quota-usage.js';
import type { ResourceQuota, ResourceQuotaStatus } from '../../api/core/v1/resource-quota.js';
import type { ResourceRegistry } from '../../api/registry.js';
import { Quantity } from '../../api/quantity.js';
import { KeyedMutex } from '../../lib/keyed-mutex.js';
import type { ObjectStore } from '../../store/object-store.js';
import type { InternalWriter } from '../internal-writer.js';
import { ApiError } from '../status.js';
import { forbiddenBy, type AdmissionPlugin, type AdmissionRequest } from './admission.js';

/** Conditional status writes tried before giving up (each lost one means another request was charged). */
const ATTEMPTS = 10;
/** Kinds whose updates can change what they use (the others are charged when created). */
const CHARGED_ON_UPDATE = new Set(['services', 'persistentvolumeclaims']);

const isConflict = (err: unknown): boolean => err instanceof ApiError && err.reason === 'Conflict';
const isGone = (err: unknown): boolean => err instanceof ApiError && err.reason === 'NotFound';

export class ResourceQuotaAdmission implements AdmissionPlugin {
  readonly name = 'ResourceQuota';
  readonly #turns = new KeyedMutex();
  /** Writes quota status as a named identity through the pipeline; set once ObjectOps exists. */
  writer: Pick<InternalWriter, 'replace'> | undefined;

  constructor(
    private readonly store: ObjectStore,
    private readonly registry: ResourceRegistry,
  ) {}

  private applies(r: AdmissionRequest): boolean {
    const t = r.type;
    if (r.subresource || !r.object || !r.namespace || !t.namespaced || t.ephemeral) return false;
    if (t.resource === 'events' && (t.group === '' || t.group === 'events.k8s.io')) return false;
    return r.operation === 'CREATE' || (r.operation === 'UPDATE' && t.group === '' && CHARGED_ON_UPDATE.has(t.resource));
  }

  async validate(r: AdmissionRequest): Promise<void> {
    if (!this.applies(r)) return;
    await this.#turns.run(r.namespace!, () => this.admit(r));
  }

  private async quotas(namespace: string): Promise<ResourceQuota[]> {
    return (await this.store.list({ resource: 'resourcequotas' }, { namespace })).items as ResourceQuota[];
  }

  private async admit(r: AdmissionRequest): Promise<void> {
    const charged = new Set<string>();
    let lost: unknown;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const quotas = (await this.quotas(r.namespace!)).filter((q) => !charged.has(q.metadata.uid ?? ''));
      const charges = await this.charges(r, quotas);
      if (charges.length === 0 || r.dryRun) return;
      lost = undefined;
      for (const [quota, status] of charges) {
        try {
          await this.write(quota, status);
          charged.add(quota.metadata.uid ?? '');
        } catch (err) {
          if (isConflict(err)) lost = err;
          else if (!isGone(err)) throw err;
        }
      }
      if (!lost) return;
    }
    throw lost;
  }

  private async write(quota: ResourceQuota, status: ResourceQuotaStatus): Promise<void> {
    const t = this.registry.byResource('', 'resourcequotas');
    if (!t || !this.writer) throw new ApiError('InternalError', 'resource quota admission is not wired to a writer');
    await this.writer.replace(t, quota, { ...quota, status }, 'status');
  }

  /**
   * The new status of every quota the request is charged to; refuses the request when a quota lacks
   * room or the pod leaves out what a quota limits. Quotas with no usage recorded for a resource yet are
   * counted from the store.
   */
  private async charges(r: AdmissionRequest, quotas: ResourceQuota[]): Promise<Array<[ResourceQuota, ResourceQuotaStatus]>> {
    const gr: GroupResource = { group: r.type.group, resource: r.type.resource };
    const obj = r.object!;
    const covering = quotas.filter((q) => quotaCovers(q.spec, gr, obj));
    if (r.operation === 'CREATE' && gr.group === '' && gr.resource === 'pods') {
      for (const q of covering) {
        const missing = missingCompute(obj as Pod, Object.keys(q.spec?.hard ?? {}).filter((k) => tracks(gr, k)));
        if (missing) this.refuse(r, `failed quota: ${q.metadata.name}: ${missing}`);
      }
    }
    let delta = quotaUsage(gr, obj);
    if (r.operation === 'UPDATE' && r.oldObject?.metadata.resourceVersion) delta = subtractNonNegative(delta, quotaUsage(gr, r.oldObject));
    if (covering.length === 0 || isZeroUsage(delta)) return [];
    const out: Array<[ResourceQuota, ResourceQuotaStatus]> = [];
    for (const q of covering) {
      const hard = resourceList(q.spec?.hard);
      const requested = mask(delta, Object.keys(hard).filter((k) => delta[k] && !delta[k].isZero()));
      if (Object.keys(requested).length === 0) continue;
      const used = { ...(await this.unrecorded(r.namespace!, q, hard)), ...resourceList(q.status?.used) };
      const over = exceededQuota(q.metadata.name, requested, used, hard);
      if (over) this.refuse(r, over);
      for (const [k, v] of Object.entries(requested)) used[k] = (used[k] ?? Quantity.ZERO).add(v);
      out.push([q, { hard: formatResourceList(hard), used: formatResourceList(mask(used, Object.keys(hard))) }]);
    }
    return out;
  }

  /** The usage of the quota's resources that its status does not record yet, counted from the store. */
  private unrecorded(namespace: string, q: ResourceQuota, hard: ResourceList): Promise<ResourceList> {
    const missing = Object.keys(hard).filter((k) => q.status?.used?.[k] === undefined);
    if (missing.length === 0) return Promise.resolve({});
    return countUsage(q.spec, missing, async (gr) => (this.registry.byResource(gr.group, gr.resource) ? (await this.store.list(gr, { namespace })).items : []));
  }

  private refuse(r: AdmissionRequest, why: string): never {
    throw new ApiError('Forbidden', forbiddenBy(r, why), { name: r.name, group: r.type.group, kind: r.type.resource });
  }
}
