/**
 * A work queue of keys (client-go's rate-limited queue): a key added many times while waiting is
 * processed once; a key added while it is being processed is processed again afterwards, never by two
 * workers at once; failures requeue with per-key exponential backoff until `forget`.
 */
export interface WorkQueueOptions {
  /** First and longest retry delay after failures (default 50 ms, 30 s). */
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export class WorkQueue {
  readonly #queue: string[] = [];
  readonly #dirty = new Set<string>();
  readonly #processing = new Set<string>();
  readonly #failures = new Map<string, number>();
  readonly #timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  #waiters: Array<() => void> = [];
  #shutDown = false;
  readonly #base: number;
  readonly #max: number;

  constructor(options: WorkQueueOptions = {}) {
    this.#base = options.baseDelayMs ?? 50;
    this.#max = options.maxDelayMs ?? 30_000;
  }

  get length(): number {
    return this.#queue.length;
  }

  add(key: string): void {
    if (this.#shutDown || this.#dirty.has(key)) return;
    this.#dirty.add(key);
    if (this.#processing.has(key)) return;
    this.#queue.push(key);
    const w = this.#waiters.shift();
    w?.();
  }

  /** Adds the key after `ms` (an earlier pending add-after of the same key wins). */
  addAfter(key: string, ms: number): void {
    if (this.#shutDown) return;
    if (ms <= 0) return this.add(key);
    const at = Date.now() + ms;
    const pending = this.#timers.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.#timers.delete(key);
      this.add(key);
    }, ms);
    this.#timers.set(key, { at, timer });
  }

  /** Requeues after a failure: base * 2^failures, up to the maximum. */
  addRateLimited(key: string): void {
    const n = this.#failures.get(key) ?? 0;
    this.#failures.set(key, n + 1);
    this.addAfter(key, Math.min(this.#max, this.#base * 2 ** n));
  }

  /** Clears the failure count of a key (after a success). */
  forget(key: string): void {
    this.#failures.delete(key);
  }

  failures(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  /** The next key, waiting for one; undefined once shut down. Call `done` when finished with it. */
  async get(): Promise<string | undefined> {
    while (!this.#shutDown && this.#queue.length === 0) await new Promise<void>((r) => this.#waiters.push(r));
    if (this.#shutDown) return undefined;
    const key = this.#queue.shift()!;
    this.#processing.add(key);
    this.#dirty.delete(key);
    return key;
  }

  done(key: string): void {
    this.#processing.delete(key);
    if (this.#dirty.has(key) && !this.#shutDown) {
      this.#queue.push(key);
      this.#waiters.shift()?.();
    }
  }

  shutDown(): void {
    this.#shutDown = true;
    for (const t of this.#timers.values()) clearTimeout(t.timer);
    this.#timers.clear();
    for (const w of this.#waiters.splice(0)) w();
  }
}

/** What a reconcile may ask for besides success: to be looked at again after a while. */
export type ReconcileResult = void | { requeueAfterMs?: number };

/**
 * Runs `workers` loops taking keys from the queue until `signal` aborts: a thrown error requeues the key
 * with backoff, success forgets its failures, and `requeueAfterMs` schedules another look.
 */
export async function runWorkers(
  queue: WorkQueue,
  signal: AbortSignal,
  workers: number,
  reconcile: (key: string) => Promise<ReconcileResult>,
  onError: (key: string, err: unknown) => void,
): Promise<void> {
  const stop = () => queue.shutDown();
  signal.addEventListener('abort', stop, { once: true });
  const loop = async () => {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      try {
        const result = await reconcile(key);
        queue.forget(key);
        if (result?.requeueAfterMs !== undefined) queue.addAfter(key, result.requeueAfterMs);
      } catch (err) {
        if (!signal.aborted) {
          onError(key, err);
          queue.addRateLimited(key);
        }
      } finally {
        queue.done(key);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, workers) }, loop));
  } finally {
    signal.removeEventListener('abort', stop);
  }
}
