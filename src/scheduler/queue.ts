import type { ClusterEvent } from './framework.js';
import type { PodInfo } from './pod-info.js';

/** A pending pod in the queue with its attempt history. */
export interface QueuedPod {
  info: PodInfo;
  /** Scheduling attempts so far. */
  attempts: number;
  /** Order of the pod's last entry into the active queue (orders pods of equal priority, oldest first). */
  timestamp: number;
  /** When the last attempt failed; the backoff runs from here. */
  failedAt: number;
  /** Plugins that rejected the pod in its last attempt; empty: any cluster event may help. */
  unschedulablePlugins: ReadonlySet<string>;
  where: 'active' | 'backoff' | 'unschedulable' | 'popped';
  /** Bumped on every heap push so stale heap entries can be recognised. */
  token: number;
}

interface Entry {
  qp: QueuedPod;
  token: number;
}

/** A binary min-heap with lazy deletion (entries whose token no longer matches are dropped on pop). */
class Heap {
  private readonly items: Entry[] = [];
  constructor(private readonly less: (a: QueuedPod, b: QueuedPod) => boolean) {}

  get size(): number {
    return this.items.length;
  }

  push(qp: QueuedPod): void {
    const items = this.items;
    items.push({ qp, token: ++qp.token });
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(items[i]!.qp, items[parent]!.qp)) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }

  /** The top entry, or undefined; stale entries are discarded on the way. */
  peek(where: QueuedPod['where']): QueuedPod | undefined {
    for (;;) {
      const top = this.items[0];
      if (!top) return undefined;
      if (top.token === top.qp.token && top.qp.where === where) return top.qp;
      this.removeTop();
    }
  }

  removeTop(): void {
    const items = this.items;
    const last = items.pop()!;
    if (items.length === 0) return;
    items[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < items.length && this.less(items[l]!.qp, items[m]!.qp)) m = l;
      if (r < items.length && this.less(items[r]!.qp, items[m]!.qp)) m = r;
      if (m === i) break;
      [items[i], items[m]] = [items[m]!, items[i]!];
      i = m;
    }
  }
}

export interface QueueOptions {
  now?: () => number;
  /** Backoff after the first failed attempt, doubled per attempt up to `maxBackoffMs` (Kubernetes: 1s, 10s). */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** An unschedulable pod is retried after this long even without a helpful event (Kubernetes: 5 minutes). */
  maxUnschedulableMs?: number;
}

/**
 * The scheduling queue, as kube-scheduler's: an active heap (higher priority first, then oldest), a
 * backoff heap (pods that failed recently, by backoff expiry) and an unschedulable set (pods that fit
 * nowhere, waiting for a cluster event that may help). Events move unschedulable pods back to active,
 * or to backoff while their backoff lasts.
 */
export class SchedulingQueue {
  private readonly pods = new Map<string, QueuedPod>();
  private readonly active = new Heap((a, b) => a.info.priority > b.info.priority || (a.info.priority === b.info.priority && a.timestamp < b.timestamp));
  private readonly backoff = new Heap((a, b) => this.backoffExpiry(a) < this.backoffExpiry(b));
  private readonly unschedulable = new Map<string, QueuedPod>();
  private activeCount = 0;
  private backoffCount = 0;
  private waiters: Array<() => void> = [];
  private seq = 0;
  readonly now: () => number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly maxUnschedulableMs: number;

  constructor(
    /** For each plugin, the events that may undo its rejections (undefined: every event). */
    private readonly pluginEvents: ReadonlyMap<string, ReadonlySet<ClusterEvent> | undefined> = new Map(),
    opts: QueueOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.initialBackoffMs = opts.initialBackoffMs ?? 1000;
    this.maxBackoffMs = opts.maxBackoffMs ?? 10_000;
    this.maxUnschedulableMs = opts.maxUnschedulableMs ?? 5 * 60_000;
  }

  get counts(): { active: number; backoff: number; unschedulable: number } {
    return { active: this.activeCount, backoff: this.backoffCount, unschedulable: this.unschedulable.size };
  }

  /** Where a pod is, or undefined when the queue does not hold it. */
  whereIs(key: string): QueuedPod['where'] | undefined {
    return this.pods.get(key)?.where;
  }

  /** A new pending pod goes to the active queue; a known one is updated in place. */
  add(info: PodInfo): void {
    const qp = this.pods.get(info.key);
    if (qp) {
      qp.info = info;
      return;
    }
    const fresh: QueuedPod = { info, attempts: 0, timestamp: 0, failedAt: 0, unschedulablePlugins: new Set(), where: 'popped', token: 0 };
    this.pods.set(info.key, fresh);
    this.toActive(fresh);
  }

  /**
   * A pending pod changed. `meaningful`: its spec or labels changed, which may make it schedulable, so
   * an unschedulable pod moves back (to backoff while its backoff lasts).
   */
  update(info: PodInfo, meaningful: boolean): void {
    const qp = this.pods.get(info.key);
    if (!qp) return this.add(info);
    qp.info = info;
    if (meaningful && qp.where === 'unschedulable') this.requeue(qp);
  }

  delete(key: string): void {
    const qp = this.pods.get(key);
    if (!qp) return;
    this.leave(qp);
    this.pods.delete(key);
    qp.where = 'popped';
    qp.token++;
  }

  /** The next pod to schedule, or undefined when none is active. The pod stays known until `done` or a requeue. */
  pop(): QueuedPod | undefined {
    const qp = this.active.peek('active');
    if (!qp) return undefined;
    this.active.removeTop();
    this.activeCount--;
    qp.where = 'popped';
    qp.attempts++;
    return qp;
  }

  /** Resolves when a pod is active (at once if one is) or the signal aborts. */
  waitForActive(signal?: AbortSignal): Promise<void> {
    if (this.activeCount > 0 || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.push(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** A popped pod was scheduled (assumed on a node): the queue forgets it. */
  done(key: string): void {
    const qp = this.pods.get(key);
    if (qp?.where === 'popped') this.pods.delete(key);
  }

  /** A popped pod fit nowhere: it waits for an event one of the rejecting plugins cares about. */
  addUnschedulable(qp: QueuedPod, plugins: ReadonlySet<string>): void {
    if (this.pods.get(qp.info.key) !== qp || qp.where !== 'popped') return; // deleted meanwhile
    qp.failedAt = this.now();
    qp.unschedulablePlugins = plugins;
    qp.where = 'unschedulable';
    this.unschedulable.set(qp.info.key, qp);
  }

  /** A popped pod failed for another reason (an error, a failed binding): retried after its backoff. */
  addBackoff(qp: QueuedPod): void {
    let cur = this.pods.get(qp.info.key);
    if (!cur) {
      this.pods.set(qp.info.key, qp); // a binding failure: the pod had left the queue
      cur = qp;
    }
    if (cur !== qp || qp.where !== 'popped') return;
    qp.failedAt = this.now();
    qp.unschedulablePlugins = new Set();
    qp.where = 'backoff';
    this.backoffCount++;
    this.backoff.push(qp);
  }

  /** A cluster event happened: unschedulable pods it may help move to active (or backoff). Returns how many. */
  onEvent(event: ClusterEvent): number {
    let moved = 0;
    for (const qp of this.unschedulable.values()) {
      if (!this.mayHelp(qp, event)) continue;
      this.requeue(qp);
      moved++;
    }
    return moved;
  }

  /** Moves pods whose backoff ended to active, and pods unschedulable for too long to active or backoff. */
  flush(): void {
    const now = this.now();
    for (;;) {
      const qp = this.backoff.peek('backoff');
      if (!qp || this.backoffExpiry(qp) > now) break;
      this.backoff.removeTop();
      this.backoffCount--;
      this.toActive(qp);
    }
    for (const qp of this.unschedulable.values()) if (now - qp.failedAt >= this.maxUnschedulableMs) this.requeue(qp);
  }

  backoffExpiry(qp: QueuedPod): number {
    const d = Math.min(this.maxBackoffMs, this.initialBackoffMs * 2 ** Math.max(0, qp.attempts - 1));
    return qp.failedAt + d;
  }

  private mayHelp(qp: QueuedPod, event: ClusterEvent): boolean {
    if (qp.unschedulablePlugins.size === 0) return true;
    for (const p of qp.unschedulablePlugins) {
      const events = this.pluginEvents.get(p);
      if (!events || events.has(event)) return true;
    }
    return false;
  }

  private requeue(qp: QueuedPod): void {
    this.leave(qp);
    if (this.backoffExpiry(qp) > this.now()) {
      qp.where = 'backoff';
      this.backoffCount++;
      this.backoff.push(qp);
    } else this.toActive(qp);
  }

  private leave(qp: QueuedPod): void {
    if (qp.where === 'active') this.activeCount--;
    else if (qp.where === 'backoff') this.backoffCount--;
    else if (qp.where === 'unschedulable') this.unschedulable.delete(qp.info.key);
    qp.where = 'popped';
  }

  private toActive(qp: QueuedPod): void {
    qp.where = 'active';
    qp.timestamp = ++this.seq;
    this.activeCount++;
    this.active.push(qp);
    if (this.waiters.length) {
      const ws = this.waiters;
      this.waiters = [];
      for (const w of ws) w();
    }
  }
}
