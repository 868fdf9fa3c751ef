import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { KubeObject } from '../../api/meta.js';
import { alreadyExists, internal, invalid, notFound, timeout, unavailable } from '../../lib/errors.js';
import { EventQueue } from '../event-queue.js';
import type {
  ListOptions,
  ListResult,
  ObjectKey,
  ObjectStore,
  Preconditions,
  ResourceRef,
  WatchEvent,
  WatchOptions,
} from '../object-store.js';
import {
  type ChangeKind,
  WatchFilter,
  checkPreconditions,
  decodeContinue,
  describe,
  encodeContinue,
  expiredContinue,
  expiredRevision,
  listPrefix,
  objectKey,
  parseRevision,
  prefixEnd,
  stampCreate,
  stampUpdate,
  storageKey,
} from '../store-support.js';
import { SCHEMA, type SqliteStatements, prepareStatements } from './sqlite-schema.js';

export interface SqliteStoreOptions {
  /** The database file; its directory is created if missing. */
  file: string;
  /**
   * Events a watcher may have queued in memory before it is switched to re-reading the history table
   * (a slow consumer costs disk reads, not unbounded memory). Default 10,000.
   */
  maxQueuedEvents?: number;
}

/** Where the embedded store lives inside a Nubis data dir. */
export function sqliteStoreFile(dataDir: string): string {
  return path.join(dataDir, 'store', 'objects.db');
}

const TYPE_CODE: Record<ChangeKind, number> = { create: 0, update: 1, delete: 2 };
const KIND_OF: ChangeKind[] = ['create', 'update', 'delete'];
const CATCH_UP_BATCH = 500;

interface Watcher {
  prefix: string;
  end: string;
  filter: WatchFilter;
  queue: EventQueue<{ revision: number; event: WatchEvent }>;
  /** The queue holds every matching event after this revision, unless `dropped`. */
  queuedFrom: number;
  dropped: boolean;
}

/**
 * The embedded ObjectStore: one SQLite file in WAL mode with synchronous=FULL, so a write is on disk
 * before it is acknowledged. Table `log` holds every revision (the value after the change), `kv` points
 * each live key at its current revision. One process owns the file: it is opened with an exclusive lock
 * that the OS releases when the process dies. Watchers are fed from the commit path and catch up from
 * `log`.
 */
export class SqliteStore implements ObjectStore {
  private revision: number;
  private compacted: number;
  private closed = false;
  private readonly watchers = new Map<string, Set<Watcher>>();
  private readonly maxQueued: number;

  private constructor(
    readonly file: string,
    private readonly db: Database.Database,
    private readonly st: SqliteStatements,
    maxQueued: number,
  ) {
    this.revision = st.getMeta.get('revision')!.value;
    this.compacted = st.getMeta.get('compacted')!.value;
    this.maxQueued = maxQueued;
  }

  /** Opens (creating if needed) the store; Unavailable when another process holds it. */
  static open(options: SqliteStoreOptions): SqliteStore {
    mkdirSync(path.dirname(options.file), { recursive: true, mode: 0o700 });
    let db: Database.Database | undefined;
    try {
      db = new Database(options.file, { timeout: 0 });
      // Exclusive locking before WAL: the lock is taken now and held until close or process death.
      db.pragma('locking_mode = EXCLUSIVE');
      db.exec('BEGIN EXCLUSIVE; COMMIT');
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal') throw internal(`could not switch ${options.file} to WAL mode (got ${String(mode)})`);
      db.pragma('synchronous = FULL');
      db.exec(SCHEMA);
      return new SqliteStore(options.file, db, prepareStatements(db), options.maxQueuedEvents ?? 10_000);
    } catch (err) {
      db?.close();
      if ((err as { code?: string }).code === 'SQLITE_BUSY') {
        throw unavailable(`the object store ${options.file} is in use by another process`, err);
      }
      if (err instanceof Error && err.name.startsWith('NubisError')) throw err;
      throw internal(`cannot open the object store ${options.file}: ${(err as Error).message}`, err);
    }
  }

  async create<T extends KubeObject>(resource: ResourceRef, obj: T): Promise<T> {
    const key = objectKey(obj);
    const k = storageKey(resource, key);
    this.checkOpen();
    const result = this.db.transaction(() => {
      if (this.st.getCurrent.get(k)) throw alreadyExists(`${describe(resource, key)} already exists`);
      const rev = this.revision + 1;
      const stored = stampCreate(obj, rev);
      const value = JSON.stringify(stored);
      this.st.insertLog.run(rev, k, TYPE_CODE.create, null, value);
      this.st.upsertKv.run(k, rev);
      this.st.setMeta.run(rev, 'revision');
      return { rev, stored, value };
    })();
    this.revision = result.rev;
    this.publish(k, 'create', result.rev, result.value, undefined);
    return result.stored;
  }

  async get<T extends KubeObject>(resource: ResourceRef, key: ObjectKey): Promise<T> {
    const k = storageKey(resource, key);
    this.checkOpen();
    return JSON.parse(this.currentRow(resource, key, k).value) as T;
  }

  async update<T extends KubeObject>(resource: ResourceRef, obj: T): Promise<T> {
    const key = objectKey(obj);
    const k = storageKey(resource, key);
    this.checkOpen();
    const result = this.db.transaction(() => {
      const row = this.currentRow(resource, key, k);
      const current = JSON.parse(row.value) as KubeObject;
      checkPreconditions(resource, key, current, { resourceVersion: obj.metadata.resourceVersion, uid: obj.metadata.uid });
      const rev = this.revision + 1;
      const stored = stampUpdate(current, obj, rev);
      const value = JSON.stringify(stored);
      this.st.insertLog.run(rev, k, TYPE_CODE.update, row.rev, value);
      this.st.upsertKv.run(k, rev);
      this.st.setMeta.run(rev, 'revision');
      return { rev, stored, value, prev: row.value };
    })();
    this.revision = result.rev;
    this.publish(k, 'update', result.rev, result.value, result.prev);
    return result.stored;
  }

  async delete<T extends KubeObject>(resource: ResourceRef, key: ObjectKey, pre: Preconditions = {}): Promise<T> {
    const k = storageKey(resource, key);
    this.checkOpen();
    const result = this.db.transaction(() => {
      const row = this.currentRow(resource, key, k);
      const current = JSON.parse(row.value) as T;
      checkPreconditions(resource, key, current, pre);
      const rev = this.revision + 1;
      const deleted = { ...current, metadata: { ...current.metadata, resourceVersion: String(rev) } };
      const value = JSON.stringify(deleted);
      this.st.insertLog.run(rev, k, TYPE_CODE.delete, row.rev, value);
      this.st.deleteKv.run(k);
      this.st.setMeta.run(rev, 'revision');
      return { rev, deleted, value };
    })();
    this.revision = result.rev;
    this.publish(k, 'delete', result.rev, result.value, undefined);
    return result.deleted;
  }

  async list<T extends KubeObject>(resource: ResourceRef, options: ListOptions = {}): Promise<ListResult<T>> {
    const prefix = listPrefix(resource, options.namespace, options.fieldSelector);
    const end = prefixEnd(prefix);
    this.checkOpen();
    let rev = this.revision;
    let scanFrom = prefix;
    if (options.continue) {
      const token = decodeContinue(options.continue, prefix);
      if (token.revision < this.compacted) throw expiredContinue();
      rev = token.revision;
      scanFrom = token.lastKey;
    } else if (options.resourceVersion && options.resourceVersion !== '0') {
      rev = parseRevision(options.resourceVersion);
      if (rev < this.compacted) throw expiredRevision(rev, this.compacted);
    }
    if (rev > this.revision) throw timeout(`Too large resource version: ${rev}, current: ${this.revision}`);
    const limit = options.limit && options.limit > 0 ? options.limit : Infinity;
    const batch = limit === Infinity ? 1000 : Math.min(Math.max(limit + 1, 100), 1000);
    const filter = new WatchFilter(options.labelSelector, options.fieldSelector);
    const latest = rev === this.revision;
    const items: T[] = [];
    let lastReturned: string | undefined;
    let more = false;
    scan: for (;;) {
      const rows = latest ? this.st.listLatest.all(scanFrom, end, batch) : this.st.listAt.all({ after: scanFrom, end, rev, limit: batch });
      for (const row of rows) {
        scanFrom = row.key;
        const obj = JSON.parse(row.value) as T;
        if (!filter.matches(obj)) continue;
        if (items.length >= limit) {
          more = true;
          break scan;
        }
        items.push(obj);
        lastReturned = row.key;
      }
      if (rows.length < batch) break;
    }
    const result: ListResult<T> = { items, resourceVersion: String(rev) };
    if (more && lastReturned !== undefined) result.continue = encodeContinue(rev, lastReturned);
    return result;
  }

  async watch(resource: ResourceRef, options: WatchOptions): Promise<AsyncIterable<WatchEvent>> {
    const prefix = listPrefix(resource, options.namespace, options.fieldSelector);
    this.checkOpen();
    const from = options.resourceVersion !== undefined ? parseRevision(options.resourceVersion) : this.revision;
    if (from + 1 < this.compacted) throw expiredRevision(from, this.compacted);
    const w: Watcher = {
      prefix,
      end: prefixEnd(prefix),
      filter: new WatchFilter(options.labelSelector, options.fieldSelector),
      queue: new EventQueue(),
      queuedFrom: this.revision,
      dropped: false,
    };
    const group = prefix.slice(0, prefix.indexOf('/'));
    let set = this.watchers.get(group);
    if (!set) this.watchers.set(group, (set = new Set()));
    set.add(w);
    const stop = () => {
      set.delete(w);
      if (set.size === 0 && this.watchers.get(group) === set) this.watchers.delete(group);
      w.queue.end();
    };
    options.signal?.addEventListener('abort', stop, { once: true });
    return this.iterate(w, from, options.signal, stop);
  }

  private async *iterate(w: Watcher, from: number, signal: AbortSignal | undefined, stop: () => void): AsyncGenerator<WatchEvent> {
    let pos = from;
    try {
      for (;;) {
        if (signal?.aborted || this.closed) return;
        if (pos < w.queuedFrom) {
          if (pos + 1 < this.compacted) throw expiredRevision(pos, this.compacted);
          const rows = this.st.watchRange.all(pos, w.queuedFrom, w.prefix, w.end, CATCH_UP_BATCH);
          const target = rows.length < CATCH_UP_BATCH ? w.queuedFrom : rows[rows.length - 1]!.rev;
          for (const row of rows) {
            const prev = row.prev === null ? undefined : (JSON.parse(row.prev) as KubeObject);
            const event = w.filter.event(KIND_OF[row.type]!, row.rev, JSON.parse(row.value) as KubeObject, prev);
            pos = row.rev;
            if (event) yield event;
            if (signal?.aborted || this.closed) return;
          }
          pos = Math.max(pos, target);
          continue;
        }
        if (w.dropped) {
          // The consumer fell behind: forget the queue and re-read the missed revisions from `log`.
          w.dropped = false;
          w.queue.clear();
          w.queuedFrom = this.revision;
          continue;
        }
        const item = w.queue.shift();
        if (item) {
          if (item.revision > pos) {
            pos = item.revision;
            yield item.event;
          }
          continue;
        }
        if (w.queue.finished()) return;
        await w.queue.wait(signal);
      }
    } finally {
      signal?.removeEventListener('abort', stop);
      stop();
    }
  }

  /** Hands a committed change to the watchers of its resource (parsed once, frozen, shared). */
  private publish(key: string, kind: ChangeKind, rev: number, value: string, prevValue: string | undefined): void {
    const set = this.watchers.get(key.slice(0, key.indexOf('/')));
    if (!set || set.size === 0) return;
    let obj: KubeObject | undefined;
    let prev: KubeObject | undefined;
    for (const w of set) {
      if (w.dropped || !key.startsWith(w.prefix)) continue;
      obj ??= JSON.parse(value) as KubeObject;
      if (prevValue !== undefined) prev ??= JSON.parse(prevValue) as KubeObject;
      const event = w.filter.event(kind, rev, obj, prev);
      if (!event) continue;
      if (w.queue.length >= this.maxQueued) {
        w.dropped = true;
        w.queue.clear();
        w.queue.notify();
        continue;
      }
      w.queue.push({ revision: rev, event });
    }
  }

  async compact(revision: string): Promise<void> {
    const c = parseRevision(revision, 'revision');
    this.checkOpen();
    if (c > this.revision) throw invalid(`cannot compact to revision ${c}: the latest revision is ${this.revision}`);
    if (c <= this.compacted) return;
    // Mark first, so no reader trusts history below `c` while rows go away in bounded chunks.
    this.st.setMeta.run(c, 'compacted');
    const from = this.compacted;
    this.compacted = c;
    const CHUNK = 5000;
    for (let lo = from; lo < c; lo += CHUNK) {
      if (this.closed) return;
      this.st.compactRange.run({ lo, hi: Math.min(lo + CHUNK, c), c });
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  async currentRevision(): Promise<string> {
    this.checkOpen();
    return String(this.revision);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const set of this.watchers.values()) for (const w of set) w.queue.end();
    this.watchers.clear();
    this.db.close();
  }

  private currentRow(resource: ResourceRef, key: ObjectKey, k: string): { rev: number; value: string } {
    const row = this.st.getCurrent.get(k);
    if (!row) throw notFound(`${describe(resource, key)} not found`);
    return row;
  }

  private checkOpen(): void {
    if (this.closed) throw unavailable(`the object store ${this.file} is closed`);
  }
}
