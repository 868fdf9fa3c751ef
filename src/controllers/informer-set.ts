/**
 * Shared informers: one watch-backed cache per resource, whatever number of controllers read it. Every
 * cache indexes objects by the uid of their controlling owner; pods also by node name.
 */
import type { KubeObject } from '../api/meta.js';
import { Informer, type InformerOptions } from '../client/informer.js';
import type { IndexFunc } from '../client/object-cache.js';
import type { ResourceInfo, RestClient } from '../client/rest-client.js';
import { PODS } from './resources.js';

/** Index name: the uid of the controller ownerReference. */
export const BY_OWNER = 'owner';
/** Index name (pods): spec.nodeName. */
export const BY_NODE = 'node';

export const byOwner: IndexFunc = (o) => {
  const ref = o.metadata.ownerReferences?.find((r) => r.controller);
  return ref ? [ref.uid] : [];
};
export const byNode: IndexFunc = (o) => {
  const node = (o.spec as { nodeName?: string } | undefined)?.nodeName;
  return node ? [node] : [];
};

export class InformerSet {
  readonly #informers = new Map<string, Informer>();
  #started = false;

  constructor(
    private readonly client: RestClient,
    private readonly options: Pick<InformerOptions<KubeObject>, 'backoff' | 'watchTimeoutSeconds'> = {},
  ) {}

  /** The shared informer of a resource (optionally of one namespace); made on first use, before `start`. */
  get<T extends KubeObject = KubeObject>(resource: ResourceInfo, namespace?: string): Informer<T> {
    const key = `${resource.group}/${resource.resource}/${namespace ?? ''}`;
    let inf = this.#informers.get(key);
    if (!inf) {
      if (this.#started) throw new Error(`informer for ${resource.resource} requested after start`);
      const indexers: Record<string, IndexFunc> = { [BY_OWNER]: byOwner };
      if (resource === PODS) indexers[BY_NODE] = byNode;
      inf = new Informer(this.client, resource, { ...this.options, namespace, indexers });
      this.#informers.set(key, inf);
    }
    return inf as unknown as Informer<T>;
  }

  /** Runs every informer until `signal` aborts (resolves when they all stopped). */
  run(signal: AbortSignal): Promise<void> {
    this.#started = true;
    return Promise.all([...this.#informers.values()].map((i) => i.run(signal))).then(() => undefined);
  }

  async waitForSync(signal?: AbortSignal): Promise<void> {
    await Promise.all([...this.#informers.values()].map((i) => i.waitForSync(signal)));
  }
}
