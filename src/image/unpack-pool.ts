/**
 * Unpacks layers on worker threads, so that a pull's main thread only downloads (receives, hashes and
 * writes blobs) while the unpacking (gunzip, diffID hash, tar, file writes) runs on another core.
 * The threads read each blob from its file: a stored blob (verified as read) or a download's partial
 * file, followed as the download reports completed writes. unpackLayer runs unchanged in the thread,
 * so every safety rule of unpack.ts holds; its Host calls come back here.
 *
 * A job settles only after its thread stopped touching the target directory, so the caller may remove
 * it at once. Idle threads do not keep the process alive, and stop after a while.
 */
import os from 'node:os';
import type { Worker } from 'node:worker_threads';
import { internal, messageOf } from '../lib/errors.js';
import { startThread } from '../lib/thread.js';
import type { Host } from '../host/host.js';
import type { BlobFile, BlobGrowth } from './blob-file.js';
import {
  fromWire,
  HOST_METHODS,
  toWire,
  type FromThread,
  type ToThread,
  type WireGrowth,
} from './unpack-messages.js';
import type { UnpackOptions, UnpackResult } from './unpack.js';

interface PendingJob {
  host: Host;
  resolve: (r: UnpackResult) => void;
  reject: (e: unknown) => void;
}

function wireGrowth(g: BlobGrowth): WireGrowth {
  return { written: g.written, finished: g.finished, ...(g.finished && g.error ? { error: toWire(g.error) } : {}) };
}

/** An unpack thread with no job for this long stops (a long-running agent does not keep it). */
const IDLE_MS = 30_000;

class UnpackThread {
  readonly jobs = new Map<number, PendingJob>();
  private readonly worker: Worker;
  private idle?: NodeJS.Timeout;
  dead = false;

  constructor(
    private readonly onDead: (t: UnpackThread) => void,
    private readonly idleMs: number,
  ) {
    this.worker = startThread(import.meta.url, 'unpack-thread');
    this.worker.unref();
    this.worker.on('message', (m: FromThread) => this.receive(m));
    this.worker.on('error', (err) => this.die(err));
    this.worker.on('exit', (code) => this.die(new Error(`unpack thread exited with code ${code}`)));
    this.idleTimer();
  }

  private idleTimer(): void {
    clearTimeout(this.idle);
    this.idle = setTimeout(() => {
      if (this.jobs.size > 0) return;
      this.dead = true;
      this.onDead(this);
      void this.worker.terminate();
    }, this.idleMs).unref();
  }

  post(m: ToThread): void {
    if (!this.dead) this.worker.postMessage(m);
  }

  add(id: number, job: PendingJob): void {
    if (this.jobs.size === 0) this.worker.ref();
    clearTimeout(this.idle);
    this.jobs.set(id, job);
  }

  private settle(id: number): PendingJob | undefined {
    const job = this.jobs.get(id);
    this.jobs.delete(id);
    if (this.jobs.size === 0) {
      this.worker.unref();
      this.idleTimer();
    }
    return job;
  }

  private receive(m: FromThread): void {
    if (m.t === 'done') this.settle(m.id)?.resolve(m.result);
    else if (m.t === 'fail') this.settle(m.id)?.reject(fromWire(m.error));
    else if (m.t === 'host') void this.hostCall(m);
  }

  private async hostCall(m: Extract<FromThread, { t: 'host' }>): Promise<void> {
    const job = this.jobs.get(m.id);
    try {
      if (!job || !HOST_METHODS.includes(m.method)) throw internal(`unexpected host call ${m.method} from an unpack thread`);
      // structured cloning turned Buffers into plain Uint8Arrays
      const args = m.args.map((a) => (a instanceof Uint8Array && !Buffer.isBuffer(a) ? Buffer.from(a.buffer, a.byteOffset, a.byteLength) : a));
      const fn = job.host[m.method] as (...a: unknown[]) => Promise<unknown>;
      const value = await fn.apply(job.host, args);
      this.post({ t: 'host-reply', call: m.call, value });
    } catch (err) {
      this.post({ t: 'host-reply', call: m.call, error: toWire(err) });
    }
  }

  private die(err: unknown): void {
    clearTimeout(this.idle);
    if (this.dead) return;
    this.dead = true;
    this.onDead(this);
    for (const [id, job] of [...this.jobs]) {
      this.jobs.delete(id);
      job.reject(internal(`unpack thread failed: ${messageOf(err)}`, err));
    }
  }

  terminate(): Promise<number> {
    clearTimeout(this.idle);
    return this.worker.terminate();
  }
}

/** A few unpack threads (one fewer than the cores, at least one, at most four), started on demand. */
export class UnpackPool {
  private threads: UnpackThread[] = [];
  private nextId = 0;

  constructor(
    readonly size = Math.max(1, Math.min(4, os.availableParallelism() - 1)),
    private readonly idleMs = IDLE_MS,
  ) {}

  /** Threads running now. */
  get threadCount(): number {
    return this.threads.length;
  }

  private thread(): UnpackThread {
    const idle = [...this.threads].sort((a, b) => a.jobs.size - b.jobs.size)[0];
    if (idle && (idle.jobs.size === 0 || this.threads.length >= this.size)) return idle;
    const t = new UnpackThread((dead) => (this.threads = this.threads.filter((x) => x !== dead)), this.idleMs);
    this.threads.push(t);
    return t;
  }

  /** Starts a thread now, so it is ready when the first layer arrives. */
  warm(): void {
    if (this.threads.length === 0) this.thread();
  }

  /**
   * Unpacks the blob in `file` into `root` (an existing empty directory) as unpackLayer does, on an
   * unpack thread. Settles only once the thread is done with `root`.
   */
  unpack(file: BlobFile, mediaType: string, root: string, opts: UnpackOptions): Promise<UnpackResult> {
    opts.signal?.throwIfAborted();
    const id = ++this.nextId;
    const thread = this.thread();
    const growth = file.growth;
    let stopWatching = () => {};
    let scheduled = false;
    const onAbort = () => thread.post({ t: 'abort', id });
    return new Promise<UnpackResult>((resolve, reject) => {
      thread.add(id, { host: opts.host, resolve, reject });
      thread.post({
        t: 'job',
        id,
        path: file.path,
        ...(file.fallback ? { fallback: file.fallback } : {}),
        ...(file.verify ? { verify: file.verify } : {}),
        ...(growth ? { growth: wireGrowth(growth) } : {}),
        mediaType,
        root,
        ...(opts.diffID ? { diffID: opts.diffID } : {}),
      });
      if (growth && !growth.finished) {
        // one message per turn of the event loop at most, carrying the latest state
        stopWatching = growth.watch(() => {
          if (scheduled) return;
          scheduled = true;
          setImmediate(() => {
            scheduled = false;
            thread.post({ t: 'grow', id, ...wireGrowth(growth) });
            if (growth.finished) stopWatching();
          });
        });
      }
      opts.signal?.addEventListener('abort', onAbort, { once: true });
    })
      .catch((err: unknown) => {
        throw opts.signal?.aborted ? opts.signal.reason : err;
      })
      .finally(() => {
        stopWatching();
        opts.signal?.removeEventListener('abort', onAbort);
      });
  }

  /** Stops every thread (jobs under way fail). */
  async close(): Promise<void> {
    const threads = this.threads;
    this.threads = [];
    await Promise.all(threads.map((t) => t.terminate()));
  }
}

let shared: UnpackPool | undefined;

/** The process-wide pool. */
export function sharedUnpackPool(): UnpackPool {
  shared ??= new UnpackPool();
  return shared;
}
