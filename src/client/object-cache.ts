/**
 * The in-memory store behind an informer: objects by namespace/name, plus named secondary indexes
 * (pods by spec.nodeName, objects by namespace, by owner uid...). Objects handed out are the cache's own:
 * callers must copy before changing them.
 */
import type { KubeObject } from '../api/meta.js';

/** The index values of one object (an object may sit under several values, or none). */
export type IndexFunc<T extends KubeObject = KubeObject> = (obj: T) => string[];

/** `namespace/name`, or `name` for cluster-scoped objects (client-go's MetaNamespaceKeyFunc). */
export function objectKey(obj: Pick<KubeObject, 'metadata'>): string {
  const ns = obj.metadata.namespace;
  return ns ? `${ns}/${obj.metadata.name}` : obj.metadata.name;
}

/** The built-in index by namespace. */
export const NAMESPACE_INDEX = 'namespace';
export const byNamespace: IndexFunc = (obj) => [obj.metadata.namespace ?? ''];

export class ObjectCache<T extends KubeObject = KubeObject> {
  readonly #items = new Map<string, T>();
  readonly #indexers = new Map<string, IndexFunc<T>>();
  /** index name -> value -> keys */
  readonly #indexes = new Map<string, Map<string, Set<string>>>();

  constructor(indexers: Record<string, IndexFunc<T>> = {}) {
    this.#indexers.set(NAMESPACE_INDEX, byNamespace as IndexFunc<T>);
    for (const [name, fn] of Object.entries(indexers)) this.#indexers.set(name, fn);
    for (const name of this.#indexers.keys()) this.#indexes.set(name, new Map());
  }

  get size(): number {
    return this.#items.size;
  }

  /** The object at `namespace/name` (or `name` when cluster-scoped). */
  get(key: string): T | undefined {
    return this.#items.get(key);
  }

  getByName(namespace: string | undefined, name: string): T | undefined {
    return this.#items.get(namespace ? `${namespace}/${name}` : name);
  }

  list(): T[] {
    return [...this.#items.values()];
  }

  keys(): string[] {
    return [...this.#items.keys()];
  }

  /** The objects under `value` of the named index (NotFound-free: unknown values give []). */
  byIndex(index: string, value: string): T[] {
    const idx = this.#indexes.get(index);
    if (!idx) throw new Error(`no index named "${index}"`);
    return [...(idx.get(value) ?? [])].map((k) => this.#items.get(k)!).filter(Boolean);
  }

  /** Adds or replaces; returns the previous object. */
  upsert(obj: T): T | undefined {
    const key = objectKey(obj);
    const old = this.#items.get(key);
    if (old) this.#unindex(key, old);
    this.#items.set(key, obj);
    this.#index(key, obj);
    return old;
  }

  /** Removes by key; returns what was there. */
  remove(key: string): T | undefined {
    const old = this.#items.get(key);
    if (!old) return undefined;
    this.#unindex(key, old);
    this.#items.delete(key);
    return old;
  }

  #index(key: string, obj: T): void {
    for (const [name, fn] of this.#indexers) {
      const idx = this.#indexes.get(name)!;
      for (const v of safeValues(fn, obj)) {
        let keys = idx.get(v);
        if (!keys) idx.set(v, (keys = new Set()));
        keys.add(key);
      }
    }
  }

  #unindex(key: string, obj: T): void {
    for (const [name, fn] of this.#indexers) {
      const idx = this.#indexes.get(name)!;
      for (const v of safeValues(fn, obj)) {
        const keys = idx.get(v);
        keys?.delete(key);
        if (keys?.size === 0) idx.delete(v);
      }
    }
  }
}

function safeValues<T extends KubeObject>(fn: IndexFunc<T>, obj: T): string[] {
  try {
    return [...new Set(fn(obj))];
  } catch {
    return [];
  }
}
