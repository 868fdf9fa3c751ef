/**
 * YAML request bodies parse on threads of their own: the yaml library takes seconds for a MiB of
 * nested flow collections or a map of many keys, which on the event loop would stall every other
 * request. Small bodies (most manifests) parse inline, where a thread's round trip would cost more.
 * At most `threads` bodies parse at once (the rest wait their turn); one still parsing after
 * `timeoutMs` is given up and its thread stopped, without touching the others. Idle threads stop.
 */
import type { Worker } from 'node:worker_threads';
import { startThread } from '../lib/thread.js';
import { parseYamlDocument } from './yaml-document.js';

/** Bodies up to this size parse inline (a few milliseconds at worst). */
const INLINE_BYTES = 8 * 1024;
const IDLE_MS = 30_000;

interface Job {
  text: string;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

export class YamlTooSlow extends Error {}

export class YamlParser {
  private readonly idle: Worker[] = [];
  private readonly waiting: Job[] = [];
  private busy = 0;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: { timeoutMs?: number; threads?: number } = {}) {}

  /** The value of one YAML document; rejects with the parser's message, or YamlTooSlow. */
  parse(text: string): Promise<unknown> {
    if (Buffer.byteLength(text) <= INLINE_BYTES) return Promise.resolve().then(() => parseYamlDocument(text));
    return new Promise((resolve, reject) => {
      this.waiting.push({ text, resolve, reject });
      this.next();
    });
  }

  private next(): void {
    while (this.waiting.length > 0 && this.busy < (this.opts.threads ?? 2)) {
      clearTimeout(this.idleTimer);
      this.run(this.waiting.shift()!, this.idle.pop() ?? this.thread());
    }
  }

  /** A new thread, usable once it says it is ready (its start does not count against a body's time). */
  private thread(): Promise<Worker> {
    const w = startThread(import.meta.url, 'yaml-thread');
    w.unref();
    return new Promise((resolve, reject) => {
      w.once('message', () => resolve(w));
      w.once('error', reject);
    });
  }

  private run(job: Job, thread: Worker | Promise<Worker>): void {
    this.busy++;
    Promise.resolve(thread).then(
      (w) => this.start(job, w),
      (err: Error) => {
        this.busy--;
        job.reject(err);
        this.next();
      },
    );
  }

  private start(job: Job, w: Worker): void {
    w.ref();
    const timeoutMs = this.opts.timeoutMs ?? 5000;
    const done = (keep: boolean) => {
      clearTimeout(timer);
      w.removeAllListeners('message').removeAllListeners('error');
      this.busy--;
      if (keep) {
        w.unref();
        this.idle.push(w);
      } else void w.terminate();
      if (this.busy === 0 && this.waiting.length === 0) this.idleTimer = setTimeout(() => void this.stop(), IDLE_MS).unref();
      this.next();
    };
    const timer = setTimeout(() => {
      done(false);
      job.reject(new YamlTooSlow(`the YAML body did not parse within ${timeoutMs / 1000} s; send JSON`));
    }, timeoutMs);
    w.once('message', (m: { value?: unknown; error?: string }) => {
      done(true);
      if (m.error === undefined) job.resolve(m.value);
      else job.reject(new Error(m.error));
    });
    w.once('error', (err) => {
      done(false);
      job.reject(err);
    });
    w.postMessage({ text: job.text });
  }

  /** Stops the idle threads (busy ones finish their body first). */
  async stop(): Promise<void> {
    clearTimeout(this.idleTimer);
    await Promise.all(this.idle.splice(0).map((w) => w.terminate()));
  }
}
