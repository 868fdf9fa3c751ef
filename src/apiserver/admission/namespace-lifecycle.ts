/**
 * NamespaceLifecycle: nothing is created in a namespace that does not exist or is being deleted, and
 * the namespaces the system needs (default, kube-system, kube-public, kube-node-lease) cannot be deleted.
 */
import { isNubisError } from '../../lib/errors.js';
import type { ObjectStore } from '../../store/object-store.js';
import { ApiError } from '../status.js';
import { forbiddenBy, type AdmissionPlugin, type AdmissionRequest } from './admission.js';

export const IMMORTAL_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

export class NamespaceLifecycle implements AdmissionPlugin {
  readonly name = 'NamespaceLifecycle';

  constructor(private readonly store: ObjectStore) {}

  async validate(r: AdmissionRequest): Promise<void> {
    const t = r.type;
    if (r.operation === 'DELETE' && t.group === '' && t.resource === 'namespaces' && IMMORTAL_NAMESPACES.includes(r.name)) {
      throw new ApiError('Forbidden', forbiddenBy(r, 'this namespace may not be deleted'), { name: r.name, kind: 'namespaces' });
    }
    if (r.operation !== 'CREATE' || !t.namespaced || !r.namespace) return;
    let ns;
    try {
      ns = await this.store.get({ resource: 'namespaces' }, { name: r.namespace });
    } catch (err) {
      if (isNubisError(err, 'NotFound')) throw new ApiError('NotFound', `namespaces "${r.namespace}" not found`, { name: r.namespace, kind: 'namespaces' });
      throw err;
    }
    if (ns.metadata.deletionTimestamp) {
      throw new ApiError('Forbidden', forbiddenBy(r, `unable to create new content in namespace ${r.namespace} because it is being terminated`), { kind: t.resource, group: t.group });
    }
  }
}
