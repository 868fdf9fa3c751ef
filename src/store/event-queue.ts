/**
 * An unbounded FIFO between a producer (commit path, etcd stream) and one watch consumer. The producer
 * pushes, ends or fails it; the consumer drains it with `take()`. `dropped` lets a producer give up on a
 * consumer that fell too far behind (the consumer then re-reads from durable history).
 */
export class EventQueue<T> {
  private items: T[] = [];
  private head = 0;
  private wake: (() => void) | undefined;
  private error: unknown;
  private ended = false;

  get length(): number {
    return this.items.length - this.head;
  }

  get closed(): boolean {
    return this.ended;
  }

  push(item: T): void {
    if (this.ended) return;
    this.items.push(item);
    this.notify();
  }

  /** Drops everything queued (the consumer will catch up some other way). */
  clear(): void {
    this.items = [];
    this.head = 0;
  }

  /** Ends the stream after what is queued; `error` makes the consumer throw it instead. */
  end(error?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.error = error;
    this.notify();
  }

  /** Wakes a waiting consumer without an item (the producer has news of another kind). */
  notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** The next item, or undefined if none is queued right now. */
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head]!;
    this.items[this.head++] = undefined as T;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** Throws the failure the queue ended with, if any; true when ended and drained. */
  finished(): boolean {
    if (this.length > 0 || !this.ended) return false;
    if (this.error !== undefined) throw this.error;
    return true;
  }

  /** Resolves when something is pushed, the queue ends, notify() is called or the signal aborts. */
  wait(signal?: AbortSignal): Promise<void> {
    if (this.length > 0 || this.ended || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const onAbort = () => {
        this.wake = undefined;
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.wake = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
    });
  }
}
