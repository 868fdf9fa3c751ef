/**
 * Garbage collection over ownerReferences and namespace lifecycle, as sweeps over one consistent
 * snapshot of the store (every resource listed at the same revision):
 *
 * - an object whose owners are all gone is deleted (Background); owners that are gone while others
 *   remain are dropped from its ownerReferences;
 * - an owner marked with the `foregroundDeletion` finalizer has its dependents deleted (Foreground), and
 *   loses the finalizer once none remain, which completes its deletion;
 * - an owner marked with the `orphan` finalizer has its ownerReference removed from every dependent,
 *   then loses the finalizer;
 * - a namespace being deleted (Terminating) has everything inside deleted, then its `kubernetes`
 *   finalizer removed and itself deleted.
 *
 * A sweep runs shortly after any deletion through this server and every `intervalMs` otherwise, so
 * work left over by a restart or by another API server on the same etcd is picked up. Every write
 * carries a resourceVersion precondition; conflicts simply wait for the next sweep.
 * (A later issue moves this into the controller manager.)
 */
import type { KubeObject, OwnerReference } from '../api/meta.js';
import type { ResourceRegistry, ResourceType } from '../api/registry.js';
import { conflict, isNubisError } from '../lib/errors.js';
import { logger } from '../lib/log.js';
import type { ObjectStore } from '../store/object-store.js';
import type { InternalWriter } from './internal-writer.js';
import { FOREGROUND_FINALIZER, ORPHAN_FINALIZER, refOf } from './object-ops.js';
import { ApiError } from './status.js';

const log = logger('garbage-collector');

interface Item {
  type: ResourceType;
  obj: KubeObject;
}

/**
 * What a sweep keeps of each object: identity, owners, deletion state (and a namespace's spec
 * finalizers), so that a sweep over many objects holds little; writes read the object in full again.
 */
function slim(obj: KubeObject): KubeObject {
  const m = obj.metadata;
  const meta: KubeObject['metadata'] = { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion };
  if (m.ownerReferences) meta.ownerReferences = m.ownerReferences;
  if (m.deletionTimestamp) meta.deletionTimestamp = m.deletionTimestamp;
  if (m.finalizers) meta.finalizers = m.finalizers;
  const out: KubeObject = { apiVersion: obj.apiVersion, kind: obj.kind, metadata: meta };
  const specFinalizers = (obj.spec as { finalizers?: unknown } | undefined)?.finalizers;
  if (obj.kind === 'Namespace' && specFinalizers) out.spec = { finalizers: specFinalizers };
  return out;
}

/** The object with these ownerReferences; none left means no ownerReferences field at all. */
function withOwners(obj: KubeObject, refs: OwnerReference[]): KubeObject {
  const { ownerReferences: _old, ...metadata } = obj.metadata;
  return { ...obj, metadata: refs.length > 0 ? { ...metadata, ownerReferences: refs } : (metadata as KubeObject['metadata']) };
}

export class GarbageCollector {
  /** How the collector writes: as its own identity, through authorization and admission. */
  writer!: InternalWriter;
  private timer: NodeJS.Timeout | undefined;
  private interval: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(
    private readonly store: ObjectStore,
    private readonly registry: ResourceRegistry,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    this.interval = setInterval(() => this.trigger(0), this.intervalMs);
    this.interval.unref();
    this.trigger(0);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.interval) clearInterval(this.interval);
  }

  /** Asks for a sweep soon (several triggers close together make one sweep). */
  trigger(delayMs = 50): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.loop().finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.trigger();
        }
      });
    }, delayMs);
  }

  /** Sweeps until a sweep changes nothing (bounded), for tests and for cascades several levels deep. */
  private async loop(): Promise<void> {
    for (let i = 0; i < 20 && !this.stopped; i++) {
      let changed: boolean;
      try {
        changed = await this.sweep();
      } catch (err) {
        log.warn(`sweep failed: ${(err as Error).message}`);
        return;
      }
      if (!changed) return;
    }
  }

  /** One pass over a snapshot; true when it changed something. */
  async sweep(): Promise<boolean> {
    const revision = await this.store.currentRevision();
    const all: Item[] = [];
    for (const type of this.registry.all()) {
      if (type.ephemeral) continue;
      let cont: string | undefined;
      do {
        const page = await this.store.list(refOf(type), { resourceVersion: cont ? undefined : revision, continue: cont, limit: 2000 });
        for (const obj of page.items) all.push({ type, obj: slim(obj) });
        cont = page.continue;
      } while (cont);
    }
    const byUid = new Map<string, Item>();
    const dependents = new Map<string, Item[]>();
    for (const it of all) {
      if (it.obj.metadata.uid) byUid.set(it.obj.metadata.uid, it);
      for (const ref of it.obj.metadata.ownerReferences ?? []) {
        const list = dependents.get(ref.uid) ?? [];
        list.push(it);
        dependents.set(ref.uid, list);
      }
    }
    let changed = false;
    const act = async (what: string, fn: () => Promise<unknown>) => {
      try {
        await fn();
        changed = true;
      } catch (err) {
        const benign = (err instanceof ApiError && (err.reason === 'NotFound' || err.reason === 'Conflict')) || isNubisError(err, 'NotFound') || isNubisError(err, 'Conflict');
        if (!benign) log.warn(`${what}: ${(err as Error).message}`);
      }
    };

    for (const it of all) {
      const refs = it.obj.metadata.ownerReferences ?? [];
      if (refs.length === 0) continue;
      const gone = refs.filter((r) => !byUid.has(r.uid));
      if (gone.length === 0) continue;
      const { namespace, name } = it.obj.metadata;
      if (gone.length === refs.length) {
        if (!it.obj.metadata.deletionTimestamp) {
          await act(`delete ${it.type.resource}/${name}`, () =>
            this.writer.delete(it.type, namespace, name, { propagationPolicy: 'Background', preconditions: { uid: it.obj.metadata.uid } }),
          );
        }
      } else {
        await act(`drop dangling owners of ${it.type.resource}/${name}`, () =>
          this.current(it).then((cur) => this.writer.replace(it.type, cur, withOwners(cur, refs.filter((r) => byUid.has(r.uid))))),
        );
      }
    }

    for (const it of all) {
      const m = it.obj.metadata;
      if (!m.deletionTimestamp) continue;
      const deps = dependents.get(m.uid ?? '') ?? [];
      if (m.finalizers?.includes(ORPHAN_FINALIZER)) {
        for (const d of deps) {
          await act(`orphan ${d.type.resource}/${d.obj.metadata.name}`, () =>
            this.current(d).then((cur) => this.writer.replace(d.type, cur, withOwners(cur, (cur.metadata.ownerReferences ?? []).filter((r) => r.uid !== m.uid)))),
          );
        }
        if (deps.length === 0) await act(`release ${it.type.resource}/${m.name}`, () => this.removeFinalizer(it, ORPHAN_FINALIZER));
      }
      if (m.finalizers?.includes(FOREGROUND_FINALIZER)) {
        for (const d of deps) {
          if (d.obj.metadata.deletionTimestamp) continue;
          await act(`delete ${d.type.resource}/${d.obj.metadata.name}`, () =>
            this.writer.delete(d.type, d.obj.metadata.namespace, d.obj.metadata.name, { propagationPolicy: 'Foreground', preconditions: { uid: d.obj.metadata.uid } }),
          );
        }
        if (deps.length === 0) await act(`release ${it.type.resource}/${m.name}`, () => this.removeFinalizer(it, FOREGROUND_FINALIZER));
      }
      if (it.type.group === '' && it.type.resource === 'namespaces') {
        const inside = all.filter((x) => x.type.namespaced && x.obj.metadata.namespace === m.name);
        for (const x of inside) {
          if (x.obj.metadata.deletionTimestamp) continue;
          await act(`delete ${x.type.resource}/${x.obj.metadata.name} in terminating namespace ${m.name}`, () =>
            this.writer.delete(x.type, m.name, x.obj.metadata.name, { propagationPolicy: 'Background', preconditions: { uid: x.obj.metadata.uid } }),
          );
        }
        const specFinalizers = (it.obj.spec as { finalizers?: string[] } | undefined)?.finalizers ?? [];
        if (inside.length === 0 && specFinalizers.includes('kubernetes')) {
          await act(`finalize namespace ${m.name}`, async () => {
            const cur = await this.current(it);
            await this.writer.replace(it.type, cur, { ...cur, spec: { ...(cur.spec as object), finalizers: specFinalizers.filter((f) => f !== 'kubernetes') } }, 'finalize');
          });
        } else if (inside.length === 0 && specFinalizers.length === 0) {
          await act(`delete namespace ${m.name}`, async () => this.writer.ops.finishIfReleased(it.type, await this.current(it)));
        }
      }
    }
    return changed;
  }

  /** The stored object a sweep saw (in full), or a Conflict when it changed since (the next sweep sees it). */
  private async current(it: Item): Promise<KubeObject> {
    const { namespace, name, resourceVersion } = it.obj.metadata;
    const cur = await this.store.get(refOf(it.type), { namespace, name });
    if (cur.metadata.resourceVersion !== resourceVersion) throw conflict(`${it.type.resource}/${name} changed since the sweep read it`);
    return cur;
  }

  private async removeFinalizer(it: Item, finalizer: string): Promise<void> {
    const cur = await this.current(it);
    const finalizers = (cur.metadata.finalizers ?? []).filter((f) => f !== finalizer);
    const metadata: KubeObject['metadata'] = { ...cur.metadata, finalizers };
    if (finalizers.length === 0) delete metadata.finalizers;
    await this.writer.replace(it.type, cur, { ...cur, metadata });
  }
}
