/**
 * Restart back-off per key (pod uid + container name), as the kubelet does: the first restart is at
 * once, then each one waits twice as long as the one before (10 s, 20 s, 40 s … up to 5 min). A container
 * that ran for `resetAfterMs` before it ended starts over at no delay.
 */

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** A run at least this long forgets the back-off (default 10 minutes). */
  resetAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 10_000, maxMs: 300_000, resetAfterMs: 600_000 };

interface Entry {
  delayMs: number;
  /** When the next restart may happen (ms since epoch). */
  notBefore: number;
}

export class Backoff {
  readonly #entries = new Map<string, Entry>();

  constructor(readonly options: BackoffOptions = DEFAULT_BACKOFF) {}

  /**
   * How long to wait before restarting `key`, given when its last run started and ended; 0 means now.
   * Call `restarted` once the restart happens.
   */
  remaining(key: string, lastRun: { startedAt?: number; finishedAt?: number }, now = Date.now()): number {
    const e = this.#entries.get(key);
    if (!e) return 0;
    if (lastRun.startedAt !== undefined && lastRun.finishedAt !== undefined && lastRun.finishedAt - lastRun.startedAt >= this.options.resetAfterMs) {
      this.#entries.delete(key);
      return 0;
    }
    return Math.max(0, e.notBefore - now);
  }

  /** Records a restart: the one after it waits twice as long (the first one waits `initialMs`). */
  restarted(key: string, now = Date.now()): void {
    const e = this.#entries.get(key);
    const delayMs = e ? Math.min(this.options.maxMs, e.delayMs * 2) : this.options.initialMs;
    this.#entries.set(key, { delayMs, notBefore: now + delayMs });
  }

  /** The delay the next restart of `key` will have waited (for messages), 0 when none. */
  currentDelay(key: string): number {
    return this.#entries.get(key)?.delayMs ?? 0;
  }

  forget(key: string): void {
    this.#entries.delete(key);
  }

  /** Forgets every key that starts with `prefix` (a pod's keys once the pod is gone). */
  forgetPrefix(prefix: string): void {
    for (const k of this.#entries.keys()) if (k.startsWith(prefix)) this.#entries.delete(k);
  }
}
