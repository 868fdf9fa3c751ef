import type { Etcd3, IWatchResponse } from 'etcd3';
import type { KubeObject } from '../../api/meta.js';
import { logger } from '../../lib/log.js';
import { EventQueue } from '../event-queue.js';
import type { WatchEvent } from '../object-store.js';
import { type WatchFilter, expiredRevision } from '../store-support.js';

const log = logger('store/etcd');

type Stream = Awaited<ReturnType<Etcd3['watchClient']['watch']>> & { pause?: () => void; resume?: () => void };

/** A consumer this far behind pauses its gRPC stream (etcd then holds the events) until it drains to LOW. */
const HIGH_WATER = 10_000;
const LOW_WATER = 1_000;

export interface EtcdWatchSpec {
  key: Buffer;
  rangeEnd: Buffer;
  /** Events after this revision are delivered. */
  after: number;
  filter: WatchFilter;
  decode: (value: Buffer, revision: string) => KubeObject;
  signal?: AbortSignal;
}

/**
 * One watch on an etcd key range, on its own gRPC stream. It remembers the last revision delivered and,
 * when the stream breaks (a member died, the connection dropped), opens a new one from the next
 * revision, so consumers see no gap and no duplicate. A compacted start revision ends it with Expired.
 */
export class EtcdWatch {
  readonly queue = new EventQueue<WatchEvent>();
  private pos: number;
  private stream: Stream | undefined;
  private stopped = false;
  private backoffMs = 50;
  private started: { resolve: () => void; reject: (err: unknown) => void } | undefined;
  private paused = false;

  constructor(
    private readonly client: Etcd3,
    private readonly spec: EtcdWatchSpec,
  ) {
    this.pos = spec.after;
  }

  /** Opens the stream; resolves once etcd accepted the watch, rejects with Expired if compacted. */
  start(): Promise<void> {
    const accepted = new Promise<void>((resolve, reject) => {
      this.started = { resolve, reject };
    });
    this.spec.signal?.addEventListener('abort', () => this.stop(), { once: true });
    void this.connect();
    return accepted;
  }

  /** Ends the watch (normally, or with `error` for the consumer). */
  stop(error?: unknown): void {
    if (this.stopped) return;
    this.stopped = true;
    this.stream?.cancel();
    this.stream = undefined;
    this.queue.end(error);
    if (this.started) {
      const s = this.started;
      this.started = undefined;
      if (error) s.reject(error);
      else s.resolve();
    }
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    let stream: Stream;
    try {
      stream = await this.client.watchClient.watch();
    } catch (err) {
      this.retry(err);
      return;
    }
    if (this.stopped) {
      stream.cancel();
      return;
    }
    this.stream = stream;
    this.paused = false;
    let broken = false;
    const onBroken = (err?: unknown) => {
      if (broken || this.stream !== stream) return;
      broken = true;
      this.stream = undefined;
      stream.cancel();
      this.retry(err);
    };
    stream.on('data', (res: IWatchResponse) => {
      if (this.stream !== stream) return;
      try {
        this.handle(res, () => onBroken(new Error(`watch canceled: ${res.cancel_reason || 'no reason given'}`)));
      } catch (err) {
        this.stop(err);
      }
    });
    stream.on('error', (err: Error) => onBroken(err));
    stream.on('end', () => onBroken(new Error('watch stream ended')));
    stream.write({
      create_request: {
        key: this.spec.key,
        range_end: this.spec.rangeEnd,
        start_revision: this.pos + 1,
        prev_kv: true,
      },
    });
  }

  private retry(err: unknown): void {
    if (this.stopped) return;
    log.debug(`watch from revision ${this.pos + 1} broke (${(err as Error)?.message ?? String(err)}); reconnecting`);
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, 1000);
    setTimeout(() => void this.connect(), delay).unref();
  }

  private handle(res: IWatchResponse, canceled: () => void): void {
    if (res.canceled) {
      const compacted = Number(res.compact_revision);
      if (compacted > 0) {
        this.stop(expiredRevision(this.pos, compacted));
        return;
      }
      canceled();
      return;
    }
    if (res.created) {
      this.backoffMs = 50;
      if (this.started) {
        this.started.resolve();
        this.started = undefined;
      }
    }
    for (const ev of res.events ?? []) {
      const rev = Number(ev.kv.mod_revision);
      if (rev <= this.pos) continue;
      this.pos = rev;
      const event = this.toEvent(ev.type, rev, ev.kv, ev.prev_kv);
      if (event) this.queue.push(event);
    }
    if (this.queue.length >= HIGH_WATER && !this.paused && this.stream?.pause) {
      this.paused = true;
      this.stream.pause();
    }
  }

  /** Called by the consumer after taking an event: resumes a paused stream once it has drained. */
  taken(): void {
    if (this.paused && this.queue.length <= LOW_WATER) {
      this.paused = false;
      this.stream?.resume?.();
    }
  }

  private toEvent(
    type: 'Put' | 'Delete',
    rev: number,
    kv: { value: Buffer; create_revision: string; mod_revision: string },
    prevKv: { value: Buffer; mod_revision: string } | null | undefined,
  ): WatchEvent | undefined {
    const { filter, decode } = this.spec;
    const prev = prevKv ? decode(prevKv.value, prevKv.mod_revision) : undefined;
    if (type === 'Delete') {
      if (!prev) {
        log.warn(`a delete at revision ${rev} came without the deleted object; watchers cannot be told`);
        return undefined;
      }
      return filter.event('delete', rev, prev);
    }
    const obj = decode(kv.value, kv.mod_revision);
    return filter.event(kv.create_revision === kv.mod_revision ? 'create' : 'update', rev, obj, prev);
  }
}

/** Drains a watch's queue as an async iterable that ends when the watch stops. */
export async function* drain(watch: EtcdWatch, signal: AbortSignal | undefined): AsyncGenerator<WatchEvent> {
  try {
    for (;;) {
      const item = watch.queue.shift();
      if (item) {
        watch.taken();
        yield item;
        continue;
      }
      if (signal?.aborted || watch.queue.finished()) return;
      await watch.queue.wait(signal);
    }
  } finally {
    watch.stop();
  }
}
