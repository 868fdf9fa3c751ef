/**
 * A watch-backed cache of one resource (client-go's informer): list every page, then watch from the
 * list's resourceVersion with bookmarks; when a watch ends it resumes from the last version seen, when
 * the connection breaks it retries with backoff, and when the server answers 410 Gone (the version was
 * compacted) it lists again and turns the difference into events, so the cache always converges on the
 * server's state. The scheduler, controllers and agent read the cache and react to its handlers.
 */
import type { KubeObject } from '../api/meta.js';
import { logger } from '../lib/log.js';
import { isGone } from './api-error.js';
import { ObjectCache, objectKey, type IndexFunc } from './object-cache.js';
import type { ResourceInfo, RestClient } from './rest-client.js';

const log = logger('informer');

/** What a handler is told; `update` also fires on relist for objects whose resourceVersion changed. */
export interface InformerHandlers<T extends KubeObject> {
  add?(obj: T): void;
  update?(oldObj: T, newObj: T): void;
  /** The last state the cache knew (after a relist it may be older than the real final state). */
  delete?(obj: T): void;
}

export interface InformerOptions<T extends KubeObject> {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  indexers?: Record<string, IndexFunc<T>>;
  /** Items per list page (default 500). */
  pageSize?: number;
  /** Server-side end of each watch, so connections recycle (default a random 5–10 minutes). */
  watchTimeoutSeconds?: () => number;
  /** First and longest retry delay after a failure (default 200 ms, 10 s). */
  backoff?: { initialMs: number; maxMs: number };
}

/** Counters for tests and metrics. */
export interface InformerStats {
  lists: number;
  watches: number;
  /** 410 answers that forced a relist. */
  expired: number;
  /** Failed lists or watches that were retried. */
  failures: number;
}

export class Informer<T extends KubeObject = KubeObject> {
  readonly cache: ObjectCache<T>;
  readonly stats: InformerStats = { lists: 0, watches: 0, expired: 0, failures: 0 };
  readonly #handlers: InformerHandlers<T>[] = [];
  #synced = false;
  #syncWaiters: Array<() => void> = [];
  #resourceVersion = '';
  #running = false;

  constructor(
    private readonly client: RestClient,
    readonly resource: ResourceInfo,
    private readonly options: InformerOptions<T> = {},
  ) {
    this.cache = new ObjectCache<T>(options.indexers);
  }

  /** Adds handlers; a handler added after sync is told about every cached object as an add. */
  addHandlers(handlers: InformerHandlers<T>): void {
    this.#handlers.push(handlers);
    if (this.#synced) for (const o of this.cache.list()) this.#call(handlers, 'add', o);
  }

  /** Whether the first full list is in the cache. */
  hasSynced(): boolean {
    return this.#synced;
  }

  /** The version the cache reflects (the last list, event or bookmark). */
  get resourceVersion(): string {
    return this.#resourceVersion;
  }

  /** Resolves once synced; rejects if `signal` aborts first. */
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(signal!.reason ?? new Error('aborted'));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#syncWaiters.push(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }

  /** Lists and watches until `signal` aborts; resolves then. Failures are retried, never thrown. */
  async run(signal: AbortSignal): Promise<void> {
    if (this.#running) throw new Error(`informer for ${this.resource.resource} is already running`);
    this.#running = true;
    const { initialMs, maxMs } = this.options.backoff ?? { initialMs: 200, maxMs: 10_000 };
    let delay = initialMs;
    let needList = true;
    try {
      while (!signal.aborted) {
        try {
          if (needList) {
            await this.#list(signal);
            needList = false;
          }
          const started = Date.now();
          const events = await this.#watch(signal);
          if (events === 0 && Date.now() - started < 1000 && !signal.aborted) {
            // A watch that ends at once with nothing in it: do not spin, back off as after a failure.
            await sleep(delay, signal);
            delay = Math.min(maxMs, delay * 2);
          } else delay = initialMs;
        } catch (err) {
          if (signal.aborted) break;
          if (isGone(err)) {
            this.stats.expired++;
            log.debug(`${this.resource.resource}: version ${this.#resourceVersion} is gone, listing again`);
            needList = true;
            continue;
          }
          this.stats.failures++;
          log.debug(`${this.resource.resource}: ${(err as Error).message}; retrying in ${delay} ms`);
          await sleep(delay * (0.8 + Math.random() * 0.4), signal);
          delay = Math.min(maxMs, delay * 2);
        }
      }
    } finally {
      this.#running = false;
    }
  }

  async #list(signal: AbortSignal): Promise<void> {
    this.stats.lists++;
    const list = await this.client.listAll<T>(this.resource, {
      namespace: this.options.namespace,
      labelSelector: this.options.labelSelector,
      fieldSelector: this.options.fieldSelector,
      pageSize: this.options.pageSize ?? 500,
      signal,
    });
    if (signal.aborted) return;
    this.#replace(list.items);
    this.#resourceVersion = list.metadata.resourceVersion ?? '';
    if (!this.#synced) {
      this.#synced = true;
      for (const w of this.#syncWaiters.splice(0)) w();
    }
  }

  /** Makes the cache equal to `items`, telling handlers what changed. */
  #replace(items: T[]): void {
    const seen = new Set<string>();
    for (const obj of items) {
      const key = objectKey(obj);
      seen.add(key);
      const old = this.cache.get(key);
      if (old && old.metadata.resourceVersion === obj.metadata.resourceVersion) continue;
      this.cache.upsert(obj);
      if (old) this.#emit('update', old, obj);
      else this.#emit('add', obj);
    }
    for (const key of this.cache.keys()) {
      if (seen.has(key)) continue;
      const gone = this.cache.remove(key)!;
      this.#emit('delete', gone);
    }
  }

  /** One watch until it ends; returns how many events (bookmarks included) it delivered. */
  async #watch(signal: AbortSignal): Promise<number> {
    this.stats.watches++;
    const timeout = this.options.watchTimeoutSeconds?.() ?? 300 + Math.floor(Math.random() * 300);
    const events = await this.client.watch<T>(this.resource, {
      namespace: this.options.namespace,
      labelSelector: this.options.labelSelector,
      fieldSelector: this.options.fieldSelector,
      resourceVersion: this.#resourceVersion,
      allowWatchBookmarks: true,
      timeoutSeconds: timeout,
      signal,
    });
    let count = 0;
    for await (const ev of events) {
      count++;
      const rv = ev.object.metadata?.resourceVersion;
      if (ev.type === 'BOOKMARK') {
        if (rv) this.#resourceVersion = rv;
        continue;
      }
      const key = objectKey(ev.object);
      if (ev.type === 'DELETED') {
        const old = this.cache.remove(key);
        this.#emit('delete', old ?? ev.object);
      } else {
        const old = this.cache.upsert(ev.object);
        if (old) this.#emit('update', old, ev.object);
        else this.#emit('add', ev.object);
      }
      if (rv) this.#resourceVersion = rv;
    }
    return count;
  }

  #emit(kind: 'add' | 'delete', obj: T): void;
  #emit(kind: 'update', old: T, obj: T): void;
  #emit(kind: 'add' | 'update' | 'delete', a: T, b?: T): void {
    for (const h of this.#handlers) this.#call(h, kind, a, b);
  }

  #call(h: InformerHandlers<T>, kind: 'add' | 'update' | 'delete', a: T, b?: T): void {
    try {
      if (kind === 'add') h.add?.(a);
      else if (kind === 'update') h.update?.(a, b!);
      else h.delete?.(a);
    } catch (err) {
      log.warn(`${this.resource.resource}: ${kind} handler failed: ${(err as Error).message}`);
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
