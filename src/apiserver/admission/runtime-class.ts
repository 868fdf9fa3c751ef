/**
 * RuntimeClass admission, as Kubernetes': a new pod that names a RuntimeClass gets the class's overhead
 * as its `spec.overhead` and the class's scheduling (its nodeSelector merged into the pod's, its
 * tolerations added), so the scheduler, quotas and the node see what the class costs and where it runs.
 * A pod naming a class that does not exist, setting an overhead other than its class's (or one no class
 * defines), or asking for another value of a node label its class sets is refused (403), in Kubernetes'
 * words. The class is read from the store whoever writes the pod: tenants may not write RuntimeClasses
 * (RBAC), but any pod may name one.
 */
import type { Pod, PodSpec } from '../../api/core/v1/pod-types.js';
import { resourceList } from '../../api/core/v1/pod-resources.js';
import { mergeTolerations } from '../../api/core/v1/tolerations.js';
import { NODE_GROUP, type RuntimeClass } from '../../api/node/v1/runtime-class.js';
import { isNubisError } from '../../lib/errors.js';
import type { ObjectStore } from '../../store/object-store.js';
import { ApiError } from '../status.js';
import { forbiddenBy, type AdmissionPlugin, type AdmissionRequest } from './admission.js';

const RUNTIME_CLASSES = { group: NODE_GROUP, resource: 'runtimeclasses' };

/** Whether two resource lists hold the same amounts of the same resources (Kubernetes' semantic equality). */
export function sameResources(a: Record<string, unknown> | undefined, b: Record<string, unknown> | undefined): boolean {
  const [x, y] = [resourceList(a), resourceList(b)];
  const keys = Object.keys(x);
  return keys.length === Object.keys(y).length && keys.every((k) => y[k] !== undefined && x[k]!.cmp(y[k]!) === 0);
}

export class RuntimeClassAdmission implements AdmissionPlugin {
  readonly name = 'RuntimeClass';
  /** The class mutate found, for validate of the same request (null: the pod names none). */
  private readonly found = new WeakMap<AdmissionRequest, RuntimeClass | null>();

  constructor(private readonly store: ObjectStore) {}

  async mutate(r: AdmissionRequest): Promise<void> {
    const spec = newPodSpec(r);
    if (!spec) return;
    const rc = await this.classOf(r, spec);
    this.found.set(r, rc);
    if (!rc) return;
    const podFixed = rc.overhead?.podFixed;
    if (podFixed && Object.keys(podFixed).length > 0) {
      if (spec.overhead && Object.keys(spec.overhead).length > 0 && !sameResources(spec.overhead, podFixed)) refuse(r, "pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead");
      spec.overhead = { ...podFixed };
    }
    const scheduling = rc.scheduling;
    if (!scheduling) return;
    const selector = { ...spec.nodeSelector };
    for (const [key, value] of Object.entries(scheduling.nodeSelector ?? {})) {
      const wanted = selector[key];
      if (wanted !== undefined && wanted !== value) refuse(r, `conflict: runtimeClass.scheduling.nodeSelector[${key}] = ${value}; pod.spec.nodeSelector[${key}] = ${wanted}`);
      selector[key] = value;
    }
    if (Object.keys(selector).length > 0) spec.nodeSelector = selector;
    if (scheduling.tolerations?.length) spec.tolerations = mergeTolerations(spec.tolerations ?? [], scheduling.tolerations);
  }

  async validate(r: AdmissionRequest): Promise<void> {
    const spec = newPodSpec(r);
    if (!spec) return;
    const rc = this.found.has(r) ? this.found.get(r) : await this.classOf(r, spec);
    const podFixed = rc?.overhead?.podFixed;
    if (podFixed && Object.keys(podFixed).length > 0) {
      if (!sameResources(spec.overhead, podFixed)) refuse(r, "pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead");
    } else if (spec.overhead && Object.keys(spec.overhead).length > 0) {
      refuse(r, 'pod rejected: Overhead provided but not defined in RuntimeClass');
    }
  }

  /** The class the pod names; null when it names none; a refusal when it names one that does not exist. */
  private async classOf(r: AdmissionRequest, spec: PodSpec): Promise<RuntimeClass | null> {
    const name = spec.runtimeClassName;
    if (name === undefined || name === '') return null;
    try {
      return await this.store.get<RuntimeClass>(RUNTIME_CLASSES, { name });
    } catch (err) {
      // A name no object can have (validation refuses it later) is not found either, as in Kubernetes.
      if (isNubisError(err, 'NotFound') || isNubisError(err, 'Invalid')) refuse(r, `pod rejected: RuntimeClass "${name}" not found`);
      throw err;
    }
  }
}

/** The spec of a pod being created (RuntimeClass admission looks at nothing else). */
function newPodSpec(r: AdmissionRequest): PodSpec | undefined {
  if (r.type.group !== '' || r.type.resource !== 'pods' || r.operation !== 'CREATE' || r.subresource) return undefined;
  const spec = (r.object as Pod | undefined)?.spec;
  return spec && typeof spec === 'object' ? spec : undefined;
}

function refuse(r: AdmissionRequest, reason: string): never {
  throw new ApiError('Forbidden', forbiddenBy(r, reason), { name: r.name, kind: 'pods' });
}
