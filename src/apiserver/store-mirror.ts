/**
 * A resource's objects mirrored in memory from the store: listed once, then followed by a watch (listed
 * again when the watch's revision was compacted). What the API server's own indexes (RBAC, the node
 * graph, tenancy) are built from; each API server on a shared etcd keeps its own.
 */
import type { KubeObject } from '../api/meta.js';
import { logger } from '../lib/log.js';
import { isExpired, type ObjectStore, type ResourceRef } from '../store/object-store.js';

const log = logger('store-mirror');

/** Told of every change: `obj` is the new state (undefined: deleted), `old` the previous one. */
export type MirrorListener = (key: string, obj: KubeObject | undefined, old: KubeObject | undefined) => void;

const keyOf = (o: KubeObject) => (o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name);

export class StoreMirror {
  readonly objects = new Map<string, KubeObject>();
  private readonly listeners: MirrorListener[] = [];

  constructor(
    private readonly store: ObjectStore,
    readonly ref: ResourceRef,
  ) {}

  onChange(listener: MirrorListener): void {
    this.listeners.push(listener);
  }

  private set(key: string, obj: KubeObject | undefined): void {
    const old = this.objects.get(key);
    if (obj) this.objects.set(key, obj);
    else this.objects.delete(key);
    for (const l of this.listeners) l(key, obj, old);
  }

  /** Lists everything (replacing what was mirrored) and returns the revision the list reflects. */
  private async relist(): Promise<string> {
    const seen = new Set<string>();
    let cont: string | undefined;
    let rv = '';
    do {
      const page = await this.store.list(this.ref, { limit: 1000, continue: cont });
      rv = page.resourceVersion;
      for (const o of page.items) {
        seen.add(keyOf(o));
        this.set(keyOf(o), o);
      }
      cont = page.continue;
    } while (cont);
    for (const k of [...this.objects.keys()]) if (!seen.has(k)) this.set(k, undefined);
    return rv;
  }

  /** Resolves once the first list is mirrored; follows changes until `signal` aborts. */
  async start(signal: AbortSignal): Promise<void> {
    const rv = await this.relist();
    void this.follow(rv, signal);
  }

  private async follow(from: string, signal: AbortSignal): Promise<void> {
    let rv = from;
    while (!signal.aborted) {
      try {
        const events = await this.store.watch(this.ref, { resourceVersion: rv, signal });
        for await (const e of events) {
          if (e.type === 'BOOKMARK') {
            rv = e.object.metadata.resourceVersion ?? rv;
            continue;
          }
          this.set(keyOf(e.object), e.type === 'DELETED' ? undefined : e.object);
          rv = e.object.metadata.resourceVersion ?? rv;
        }
        if (signal.aborted) return;
      } catch (err) {
        if (signal.aborted) return;
        if (!isExpired(err)) {
          log.warn(`watch of ${this.ref.resource}: ${(err as Error).message}`);
          await new Promise((r) => setTimeout(r, 500));
        }
        try {
          rv = await this.relist();
        } catch (e) {
          if (signal.aborted) return;
          log.warn(`list of ${this.ref.resource}: ${(e as Error).message}`);
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
    }
  }
}
