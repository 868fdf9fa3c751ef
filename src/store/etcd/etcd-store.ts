import { createRequire } from 'node:module';
import type { Etcd3, IKeyValue, IRangeRequest } from 'etcd3';
import type { KubeObject } from '../../api/meta.js';
import { NubisError, alreadyExists, internal, invalid, notFound, timeout, unavailable } from '../../lib/errors.js';
import { extraCa } from '../../lib/extra-ca.js';
import {
  type ListOptions,
  type ListResult,
  type ObjectKey,
  type ObjectStore,
  type Preconditions,
  type ResourceRef,
  type WatchEvent,
  type WatchOptions,
  isExpired,
} from '../object-store.js';
import {
  WatchFilter,
  checkPreconditions,
  conflictModified,
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
import { EtcdWatch, drain } from './etcd-watch.js';

/** etcd3 (with gRPC) loads when an EtcdStore is made: a server on SQLite never pays its ~23 MiB. */
let etcd3: typeof import('etcd3') | undefined;
const loadEtcd3 = (): typeof import('etcd3') => (etcd3 ??= createRequire(import.meta.url)('etcd3') as typeof import('etcd3'));
let cockatiel: typeof import('cockatiel') | undefined;
const loadCockatiel = (): typeof import('cockatiel') => (cockatiel ??= createRequire(import.meta.url)('cockatiel') as typeof import('cockatiel'));

/**
 * How the client rides out a lost member. etcd3's defaults open a member's circuit for a fixed 5 s
 * after three failures, and retry at once: when the leader dies, the election's failures on the live
 * members open their circuits too, and every write fails for 5 s (several rounds of it were seen). Here
 * a circuit is tried again after 100 ms, doubling to 2 s, and retries wait a little between attempts.
 */
function faultHandling(): NonNullable<import('etcd3').IOptions['faultHandling']> {
  const { circuitBreaker, ConsecutiveBreaker, ExponentialBackoff, handleWhen, retry } = loadCockatiel();
  const recoverable = handleWhen((err) => loadEtcd3().isRecoverableError(err));
  return {
    host: () => circuitBreaker(recoverable, { halfOpenAfter: new ExponentialBackoff({ initialDelay: 100, maxDelay: 2000 }), breaker: new ConsecutiveBreaker(3) }),
    global: retry(recoverable, { maxAttempts: 3, backoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 500 }) }),
  };
}

export interface EtcdStoreOptions {
  /** Client URLs or host:port of the etcd members, e.g. ['127.0.0.1:2379']. */
  endpoints: string[];
  /** Every key Nubis writes starts with this; default '/nubis/'. Lets several instances share one etcd. */
  prefix?: string;
  /** Deadline of one unary request; default 10 s. */
  requestTimeoutMs?: number;
}

const COMPACTED = /required revision has been compacted/;
const FUTURE = /required revision is a future revision/;

/**
 * The ObjectStore on etcd v3, for several API servers sharing one cluster. Keys are
 * `<prefix><resource>/<namespace>/<name>`; values are the objects' JSON without resourceVersion, which
 * comes from the key's mod_revision, so etcd's revision is the store's resourceVersion. Creates, updates
 * and deletes are transactions compared on create_revision or mod_revision.
 */
export class EtcdStore implements ObjectStore {
  private readonly client: Etcd3;
  private readonly prefix: string;
  private readonly watches = new Set<EtcdWatch>();
  private closed = false;

  constructor(options: EtcdStoreOptions) {
    if (options.endpoints.length === 0) throw invalid('etcd: at least one endpoint is required');
    this.prefix = options.prefix ?? '/nubis/';
    if (!this.prefix.endsWith('/')) throw invalid(`etcd: the key prefix must end with "/" (got "${this.prefix}")`);
    const deadlineMs = options.requestTimeoutMs ?? 10_000;
    // https:// members are checked against Node's default roots, plus NODE_EXTRA_CA_CERTS' (lib/extra-ca.ts).
    const roots = options.endpoints.some((e) => e.startsWith('https:')) ? extraCa() : undefined;
    this.client = new (loadEtcd3().Etcd3)({
      hosts: options.endpoints,
      ...(roots ? { credentials: { rootCertificate: Buffer.from(roots.join('\n')) } } : {}),
      faultHandling: faultHandling(),
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + deadlineMs }),
    });
  }

  async create<T extends KubeObject>(resource: ResourceRef, obj: T): Promise<T> {
    const key = objectKey(obj);
    const k = this.key(storageKey(resource, key));
    const stamped = stampCreate(obj, 0);
    const res = await this.call(() =>
      this.client.kv.txn({
        compare: [{ key: k, target: 'Create', result: 'Equal', create_revision: 0 }],
        success: [{ request_put: { key: k, value: encode(stamped) } }],
        failure: [{ request_range: { key: k } }],
      }),
    );
    if (res.succeeded) return withRevision(stamped, res.header.revision);
    // A retried request whose first attempt had landed finds its own object: that is a success.
    const existing = res.responses[0]?.response_range.kvs[0];
    if (existing && !obj.metadata.uid && decode(existing.value, existing.mod_revision).metadata.uid === stamped.metadata.uid) {
      return withRevision(stamped, existing.mod_revision);
    }
    throw alreadyExists(`${describe(resource, key)} already exists`);
  }

  async get<T extends KubeObject>(resource: ResourceRef, key: ObjectKey): Promise<T> {
    const kv = await this.current(resource, key);
    return decode(kv.value, kv.mod_revision) as T;
  }

  async update<T extends KubeObject>(resource: ResourceRef, obj: T): Promise<T> {
    const key = objectKey(obj);
    const k = this.key(storageKey(resource, key));
    for (;;) {
      const kv = await this.current(resource, key);
      const current = decode(kv.value, kv.mod_revision);
      checkPreconditions(resource, key, current, { resourceVersion: obj.metadata.resourceVersion, uid: obj.metadata.uid });
      const next = stampUpdate(current, obj, 0);
      const res = await this.call(() =>
        this.client.kv.txn({
          compare: [{ key: k, target: 'Mod', result: 'Equal', mod_revision: kv.mod_revision }],
          success: [{ request_put: { key: k, value: encode(next) } }],
        }),
      );
      if (res.succeeded) return withRevision(next, res.header.revision);
      if (obj.metadata.resourceVersion) throw conflictModified(resource, key);
    }
  }

  async delete<T extends KubeObject>(resource: ResourceRef, key: ObjectKey, pre: Preconditions = {}): Promise<T> {
    const k = this.key(storageKey(resource, key));
    for (;;) {
      const kv = await this.current(resource, key);
      const current = decode(kv.value, kv.mod_revision) as T;
      checkPreconditions(resource, key, current, pre);
      const res = await this.call(() =>
        this.client.kv.txn({
          compare: [{ key: k, target: 'Mod', result: 'Equal', mod_revision: kv.mod_revision }],
          success: [{ request_delete_range: { key: k } }],
        }),
      );
      if (res.succeeded) return withRevision(current, res.header.revision);
      if (pre.resourceVersion) throw conflictModified(resource, key);
    }
  }

  async list<T extends KubeObject>(resource: ResourceRef, options: ListOptions = {}): Promise<ListResult<T>> {
    const prefix = listPrefix(resource, options.namespace, options.fieldSelector);
    const end = this.key(prefixEnd(prefix));
    let rev = 0;
    let scanFrom = this.key(prefix);
    if (options.continue) {
      const token = decodeContinue(options.continue, prefix);
      rev = token.revision;
      scanFrom = Buffer.concat([this.key(token.lastKey), Buffer.from([0])]);
    } else if (options.resourceVersion && options.resourceVersion !== '0') {
      rev = parseRevision(options.resourceVersion);
    }
    const limit = options.limit && options.limit > 0 ? options.limit : Infinity;
    const batch = limit === Infinity ? 1000 : Math.min(Math.max(limit + 1, 100), 1000);
    const filter = new WatchFilter(options.labelSelector, options.fieldSelector);
    const items: T[] = [];
    let lastReturned: string | undefined;
    let more = false;
    scan: for (;;) {
      const req: IRangeRequest = { key: scanFrom, range_end: end, limit: batch };
      if (rev > 0) req.revision = rev;
      const res = await this.call(() => this.client.kv.range(req), {
        compacted: () => (options.continue ? expiredContinue() : expiredRevision(rev)),
      });
      if (rev === 0) rev = Number(res.header.revision);
      for (const kv of res.kvs) {
        scanFrom = Buffer.concat([kv.key, Buffer.from([0])]);
        const obj = decode(kv.value, kv.mod_revision) as T;
        if (!filter.matches(obj)) continue;
        if (items.length >= limit) {
          more = true;
          break scan;
        }
        items.push(obj);
        lastReturned = kv.key.toString('utf8').slice(this.prefix.length);
      }
      if (!res.more) break;
    }
    const result: ListResult<T> = { items, resourceVersion: String(rev) };
    if (more && lastReturned !== undefined) result.continue = encodeContinue(rev, lastReturned);
    return result;
  }

  async watch(resource: ResourceRef, options: WatchOptions): Promise<AsyncIterable<WatchEvent>> {
    const prefix = listPrefix(resource, options.namespace, options.fieldSelector);
    if (this.closed) throw unavailable('the etcd object store is closed');
    const after = options.resourceVersion !== undefined ? parseRevision(options.resourceVersion) : Number(await this.currentRevision());
    const watch = new EtcdWatch(this.client, {
      key: this.key(prefix),
      rangeEnd: this.key(prefixEnd(prefix)),
      after,
      filter: new WatchFilter(options.labelSelector, options.fieldSelector),
      decode,
      signal: options.signal,
    });
    this.watches.add(watch);
    options.signal?.addEventListener('abort', () => this.watches.delete(watch), { once: true });
    try {
      await watch.start();
    } catch (err) {
      this.watches.delete(watch);
      throw err;
    }
    return drain(watch, options.signal);
  }

  async compact(revision: string): Promise<void> {
    const c = parseRevision(revision, 'revision');
    try {
      await this.call(() => this.client.kv.compact({ revision: c, physical: true }), {
        future: () => invalid(`cannot compact to revision ${c}: it is in the future`),
      });
    } catch (err) {
      // Compacting to a revision already compacted is harmless.
      if (!isExpired(err)) throw err;
    }
  }

  async currentRevision(): Promise<string> {
    const res = await this.call(() => this.client.kv.range({ key: Buffer.from(this.prefix), count_only: true }));
    return res.header.revision;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.watches) w.stop();
    this.watches.clear();
    this.client.close();
  }

  private key(storage: string): Buffer {
    return Buffer.from(this.prefix + storage, 'utf8');
  }

  private async current(resource: ResourceRef, key: ObjectKey): Promise<IKeyValue> {
    const res = await this.call(() => this.client.kv.range({ key: this.key(storageKey(resource, key)) }));
    const kv = res.kvs[0];
    if (!kv) throw notFound(`${describe(resource, key)} not found`);
    return kv;
  }

  /** Runs one etcd request, translating its failures into NubisErrors. */
  private async call<R>(
    fn: () => Promise<R>,
    map: { compacted?: () => NubisError; future?: () => NubisError } = {},
  ): Promise<R> {
    if (this.closed) throw unavailable('the etcd object store is closed');
    try {
      return await fn();
    } catch (err) {
      const message = (err as Error)?.message ?? String(err);
      if (COMPACTED.test(message)) throw map.compacted?.() ?? expiredRevision(0, undefined, err);
      if (FUTURE.test(message)) throw map.future?.() ?? timeout(`Too large resource version (${message})`, err);
      if ((err instanceof Error && loadEtcd3().isRecoverableError(err)) || /deadline|unavailable|circuit|No connection|ECONNREFUSED/i.test(message)) {
        throw unavailable(`etcd is unavailable: ${message}`, err);
      }
      throw internal(`etcd request failed: ${message}`, err);
    }
  }
}

function encode(obj: KubeObject): Buffer {
  const { resourceVersion: _, ...metadata } = obj.metadata;
  return Buffer.from(JSON.stringify({ ...obj, metadata }), 'utf8');
}

function decode(value: Buffer, revision: string): KubeObject {
  const obj = JSON.parse(value.toString('utf8')) as KubeObject;
  obj.metadata.resourceVersion = revision;
  return obj;
}

function withRevision<T extends KubeObject>(obj: T, revision: string): T {
  return { ...obj, metadata: { ...obj.metadata, resourceVersion: String(revision) } };
}
