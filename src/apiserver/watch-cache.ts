/**
 * One store watch per resource per API server, fanned out in memory to every client watch of that
 * resource (kube-apiserver's watch cache): 1,000 watchers cost one store watch. The cache keeps the
 * current objects (to turn selector transitions into ADDED/DELETED and to start "from now" watches with
 * the present state) and a ring of recent events, so a watch from a recent resourceVersion replays from
 * memory. Older resourceVersions go to the store directly (which answers Expired when compacted).
 * A cache nobody has watched for `idleStopMs` stops and lets its objects go; the next watch starts it
 * again from a fresh list (one list, as at first use).
 */
import type { KubeObject } from '../api/meta.js';
import { logger } from '../lib/log.js';
import { EventQueue } from '../store/event-queue.js';
import type { ObjectStore, ResourceRef, WatchEvent } from '../store/object-store.js';
import { qualifiedResource } from '../store/object-store.js';
import { ApiError } from './status.js';

const log = logger('watch-cache');

/** Decides whether an object belongs to a watcher's view (namespace, label and field selectors). */
export type ObjectFilter = (obj: KubeObject) => boolean;

export interface CacheWatchOptions {
  resourceVersion?: string;
  filter: ObjectFilter;
  signal: AbortSignal;
  /** Events a slow consumer may have queued before it is cut off (it then re-lists). */
  maxQueued?: number;
}

interface Entry {
  rev: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
  prev?: KubeObject;
}

interface Subscriber {
  queue: EventQueue<WatchEvent>;
  filter: ObjectFilter;
  minRev: number;
  maxQueued: number;
}

const keyOf = (o: KubeObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

/** Translates one change into what a filtered watcher sees, or undefined when it sees nothing. */
function view(e: Entry, filter: ObjectFilter): WatchEvent | undefined {
  const before = e.prev !== undefined && filter(e.prev);
  if (e.type === 'DELETED') return before || (e.prev === undefined && filter(e.object)) ? { type: 'DELETED', object: e.object } : undefined;
  const now = filter(e.object);
  if (now) return { type: before ? 'MODIFIED' : 'ADDED', object: e.object };
  return before ? { type: 'DELETED', object: e.object } : undefined;
}

async function* filtered(events: AsyncIterable<WatchEvent>, filter: ObjectFilter): AsyncGenerator<WatchEvent> {
  for await (const ev of events) if (ev.type === 'BOOKMARK' || filter(ev.object)) yield ev;
}

export class WatchCache {
  private readonly objects = new Map<string, KubeObject>();
  private readonly ring: Entry[] = [];
  private readonly subscribers = new Set<Subscriber>();
  /** Every event after this revision is in the ring (or no event happened). */
  private replayableFrom = 0;
  private lastRev = 0;
  private ready: Promise<void> | undefined;
  /** The running store watch (one per start). */
  private abort = new AbortController();
  private idleTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly store: ObjectStore,
    readonly resource: ResourceRef,
    private readonly ringSize = 2000,
    private readonly idleStopMs = 5 * 60_000,
  ) {}

  /** Whether the cache holds the resource now (it started and has not stopped since). */
  get running(): boolean {
    return this.ready !== undefined;
  }

  /** The revision of the last change the cache applied. */
  get revision(): number {
    return this.lastRev;
  }

  /** Starts a client watch; see the class comment for which resourceVersions the cache serves. */
  async watch(options: CacheWatchOptions): Promise<AsyncIterable<WatchEvent>> {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (this.closed) throw new ApiError('ServiceUnavailable', 'the API server is shutting down');
    await this.start();
    const rv = options.resourceVersion;
    const fromNow = rv === undefined || rv === '' || rv === '0';
    const wanted = fromNow ? 0 : Number(rv);
    if (!fromNow && (!Number.isSafeInteger(wanted) || wanted < 0)) {
      throw new ApiError('BadRequest', `invalid resourceVersion "${String(rv).slice(0, 50)}"`);
    }
    if (!fromNow && wanted < this.replayableFrom) {
      // Older than the ring: the store replays its history (or answers Expired).
      const direct = await this.store.watch(this.resource, { resourceVersion: rv, signal: options.signal });
      return filtered(direct, options.filter);
    }
    const sub: Subscriber = { queue: new EventQueue(), filter: options.filter, minRev: wanted, maxQueued: options.maxQueued ?? 10_000 };
    if (fromNow) {
      for (const o of this.objects.values()) if (options.filter(o)) sub.queue.push({ type: 'ADDED', object: o });
      sub.minRev = this.lastRev;
    } else {
      for (const e of this.ring) {
        if (e.rev <= wanted) continue;
        const v = view(e, options.filter);
        if (v) sub.queue.push(v);
      }
      sub.minRev = Math.max(wanted, this.lastRev);
    }
    this.subscribers.add(sub);
    const done = () => {
      this.subscribers.delete(sub);
      sub.queue.end();
      this.stopWhenIdle();
    };
    if (options.signal.aborted) done();
    else options.signal.addEventListener('abort', done, { once: true });
    return this.iterate(sub, options.signal, done);
  }

  /** Queues a BOOKMARK at the cache's revision for one watcher stream created by `watch`. */
  bookmark(queueOwner: AsyncIterable<WatchEvent>): void {
    const sub = (queueOwner as { sub?: Subscriber }).sub;
    if (!sub) return;
    sub.queue.push({ type: 'BOOKMARK', object: { metadata: { resourceVersion: String(Math.max(this.lastRev, sub.minRev)) } } as KubeObject });
  }

  private iterate(sub: Subscriber, signal: AbortSignal, done: () => void): AsyncIterable<WatchEvent> {
    const iterable = {
      sub,
      async *[Symbol.asyncIterator](): AsyncGenerator<WatchEvent> {
        try {
          for (;;) {
            const item = sub.queue.shift();
            if (item) {
              yield item;
              continue;
            }
            if (sub.queue.finished() || signal.aborted) return;
            await sub.queue.wait(signal);
          }
        } finally {
          done();
        }
      },
    };
    return iterable;
  }

  private start(): Promise<void> {
    this.ready ??= this.run().catch((err) => {
      this.ready = undefined;
      throw err;
    });
    return this.ready;
  }

  /** With no watcher left, stops after idleStopMs (a new watch in between keeps it). */
  private stopWhenIdle(): void {
    if (this.subscribers.size > 0 || this.idleTimer || this.closed || !this.ready) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.subscribers.size > 0) return;
      this.abort.abort();
      this.abort = new AbortController();
      this.ready = undefined;
      this.objects.clear();
      this.ring.length = 0;
    }, this.idleStopMs);
    this.idleTimer.unref();
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    const list = await this.store.list(this.resource);
    this.objects.clear();
    for (const o of list.items) this.objects.set(keyOf(o), o);
    this.lastRev = this.replayableFrom = Number(list.resourceVersion);
    this.ring.length = 0;
    const events = await this.store.watch(this.resource, { resourceVersion: list.resourceVersion, signal });
    void this.pump(events, signal);
  }

  private async pump(events: AsyncIterable<WatchEvent>, signal: AbortSignal): Promise<void> {
    try {
      for await (const ev of events) {
        if (signal.aborted) return;
        this.apply(ev);
      }
      if (signal.aborted) return;
      throw new Error('the store watch ended');
    } catch (err) {
      if (signal.aborted) return;
      log.warn(`${qualifiedResource(this.resource)}: store watch failed, restarting: ${(err as Error).message}`);
      // Watchers cannot know what they missed: end them so clients re-list, then start again.
      for (const s of this.subscribers) s.queue.end(new ApiError('Expired', 'the watch cache restarted; list again'));
      this.subscribers.clear();
      this.ready = undefined;
    }
  }

  private apply(ev: WatchEvent): void {
    if (ev.type === 'BOOKMARK') return;
    const rev = Number(ev.object.metadata.resourceVersion);
    const key = keyOf(ev.object);
    const entry: Entry = { rev, type: ev.type, object: ev.object, prev: this.objects.get(key) };
    if (ev.type === 'DELETED') this.objects.delete(key);
    else this.objects.set(key, ev.object);
    this.ring.push(entry);
    if (this.ring.length > this.ringSize) this.replayableFrom = this.ring.shift()!.rev;
    this.lastRev = rev;
    for (const sub of this.subscribers) {
      if (rev <= sub.minRev) continue;
      const v = view(entry, sub.filter);
      if (!v) continue;
      if (sub.queue.length >= sub.maxQueued) {
        sub.queue.clear();
        sub.queue.end(new ApiError('Expired', 'the watcher fell too far behind; list again'));
        this.subscribers.delete(sub);
        continue;
      }
      sub.queue.push(v);
    }
  }

  /** Ends the store watch and every watcher. */
  close(): void {
    this.closed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.abort.abort();
    for (const s of this.subscribers) s.queue.end();
    this.subscribers.clear();
  }
}

/** The watch caches of one API server, one per resource, made on first use. */
export class WatchCaches {
  private readonly caches = new Map<string, WatchCache>();

  constructor(
    private readonly store: ObjectStore,
    private readonly idleStopMs?: number,
  ) {}

  for(resource: ResourceRef): WatchCache {
    const key = qualifiedResource(resource);
    let c = this.caches.get(key);
    if (!c) {
      c = new WatchCache(this.store, resource, undefined, this.idleStopMs);
      this.caches.set(key, c);
    }
    return c;
  }

  close(): void {
    for (const c of this.caches.values()) c.close();
    this.caches.clear();
  }
}
