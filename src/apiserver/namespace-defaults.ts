/**
 * What every active namespace holds from its first moment: the `default` ServiceAccount (pods run as
 * it unless they name another) and the `kube-root-ca.crt` ConfigMap with the cluster CA (the `ca.crt`
 * of every pod's API access volume). Runs in the API server on its namespace mirror, as the
 * service-account controller's identity, so no pod of a new namespace waits for a controller elsewhere.
 */
import { DEFAULT_SERVICE_ACCOUNT, ROOT_CA_CONFIG_MAP } from '../api/core/v1/service-account.js';
import type { ConfigMap } from '../api/core/v1/config-map.js';
import type { KubeObject } from '../api/meta.js';
import { isNubisError } from '../lib/errors.js';
import { DirtyKeys } from '../lib/dirty-keys.js';
import { logger } from '../lib/log.js';
import type { InternalWriter } from './internal-writer.js';
import { refOf } from './object-ops.js';
import { ApiError } from './status.js';
import type { TenancyIndex } from './tenancy/tenancy-index.js';

const log = logger('namespaces');

export class NamespaceDefaults {
  private readonly queue = new DirtyKeys((ns) =>
    this.sync(ns).catch((err: unknown) => {
      if (err instanceof ApiError && ['AlreadyExists', 'Conflict'].includes(err.reason)) return; // another server did it
      // A namespace deleted or terminating meanwhile refuses new objects: nothing to do then. Else (a
      // refusal while the RBAC mirror catches up, a store error) it is said and tried again.
      const ns_ = this.namespaces.namespace(ns);
      if (this.stopped || !ns_ || !active(ns_)) return;
      log.warn(`namespace ${ns}: cannot make its default ServiceAccount or CA ConfigMap (trying again): ${(err as Error).message}`);
      setTimeout(() => this.queue.mark(ns), 5000).unref();
    }),
  );

  constructor(
    private readonly namespaces: TenancyIndex,
    private readonly writer: InternalWriter,
    private readonly caCert: () => string,
  ) {
    namespaces.onNamespace((name, obj) => {
      if (obj && active(obj) && !this.stopped) this.queue.mark(name);
    });
  }

  private stopped = false;

  /** No more retries (the server is closing). */
  stop(): void {
    this.stopped = true;
  }

  /** Brings every namespace up to date once (at start; new ones follow by themselves). */
  async syncAll(): Promise<void> {
    for (const ns of this.namespaces.allNamespaces()) if (active(ns)) this.queue.mark(ns.metadata.name);
    await this.queue.idle();
  }

  private async current(resource: string, namespace: string, name: string): Promise<KubeObject | undefined> {
    const t = this.writer.ops.registry.byResource('', resource)!;
    try {
      return await this.writer.ops.store.get(refOf(t), { namespace, name });
    } catch (err) {
      if (isNubisError(err, 'NotFound')) return undefined;
      throw err;
    }
  }

  private async sync(ns: string): Promise<void> {
    const registry = this.writer.ops.registry;
    if (!(await this.current('serviceaccounts', ns, DEFAULT_SERVICE_ACCOUNT))) {
      await this.writer.create(registry.byResource('', 'serviceaccounts')!, ns, { metadata: { name: DEFAULT_SERVICE_ACCOUNT } });
    }
    const ca = this.caCert();
    const cm = (await this.current('configmaps', ns, ROOT_CA_CONFIG_MAP)) as ConfigMap | undefined;
    const configMaps = registry.byResource('', 'configmaps')!;
    if (!cm) await this.writer.create(configMaps, ns, { metadata: { name: ROOT_CA_CONFIG_MAP }, data: { 'ca.crt': ca } });
    else if (cm.data?.['ca.crt'] !== ca) await this.writer.replace(configMaps, cm, { ...cm, data: { ...cm.data, 'ca.crt': ca } } as KubeObject);
  }
}

function active(ns: KubeObject): boolean {
  return !ns.metadata.deletionTimestamp && (ns as { status?: { phase?: string } }).status?.phase !== 'Terminating';
}
