/**
 * Leader election through a coordination.k8s.io/v1 Lease (client-go's leaderelection, LeaseLock): every
 * candidate tries to write its identity into the Lease every `retryPeriod`; a Lease held by another
 * candidate is taken only after it went unrenewed for `leaseDuration`, measured on the local clock from
 * when this candidate last saw it change (so clocks need not agree). The leader renews every
 * `retryPeriod` and steps down when it could not renew for `renewDeadline`. Writes carry the Lease's
 * resourceVersion, so two candidates never both win. On cancel the leader releases the Lease, so the
 * next one takes over at once.
 */
import type { Lease, LeaseSpec } from '../api/coordination/v1/lease.js';
import type { RestClient } from '../client/rest-client.js';
import { isNubisError, messageOf } from '../lib/errors.js';
import { logger } from '../lib/log.js';
import { LEASES } from './resources.js';
import { sleep } from './sleep.js';

const log = logger('leader-election');

export interface LeaderElectionOptions {
  /** Lease name, e.g. "nubis-controller-manager". */
  name: string;
  /** Who this candidate is (unique: host name plus a random part). */
  identity: string;
  namespace?: string;
  leaseDurationSeconds?: number;
  renewDeadlineSeconds?: number;
  retryPeriodSeconds?: number;
  /** Give the Lease up when the run signal aborts (default true). */
  releaseOnCancel?: boolean;
}

/** MicroTime as Kubernetes writes it: RFC 3339 with microseconds. */
const microTime = (ms = Date.now()) => new Date(ms).toISOString().replace('Z', '000Z');

export class LeaderElector {
  readonly namespace: string;
  readonly leaseDuration: number;
  readonly renewDeadline: number;
  readonly retryPeriod: number;
  #leader = false;
  #observed: { resourceVersion?: string; at: number; spec?: LeaseSpec } = { at: 0 };

  constructor(
    private readonly client: RestClient,
    private readonly opts: LeaderElectionOptions,
  ) {
    this.namespace = opts.namespace ?? 'kube-system';
    this.leaseDuration = (opts.leaseDurationSeconds ?? 15) * 1000;
    this.renewDeadline = (opts.renewDeadlineSeconds ?? 10) * 1000;
    this.retryPeriod = (opts.retryPeriodSeconds ?? 2) * 1000;
    if (this.leaseDuration <= this.renewDeadline) throw new Error('leaseDuration must be greater than renewDeadline');
    if (this.renewDeadline <= this.retryPeriod) throw new Error('renewDeadline must be greater than retryPeriod');
  }

  isLeader(): boolean {
    return this.#leader;
  }

  /** The holder the Lease named when last read. */
  get observedHolder(): string | undefined {
    return this.#observed.spec?.holderIdentity || undefined;
  }

  /**
   * Campaigns until `signal` aborts. Each time it wins, `onStartedLeading` runs with a signal that aborts
   * when leadership ends; then `onStoppedLeading` is called and the campaign starts again.
   */
  async run(signal: AbortSignal, onStartedLeading: (leading: AbortSignal) => void | Promise<void>, onStoppedLeading?: () => void): Promise<void> {
    while (!signal.aborted) {
      if (!(await this.#acquire(signal))) break;
      const leading = new AbortController();
      const stop = () => leading.abort();
      signal.addEventListener('abort', stop, { once: true });
      log.info(`${this.opts.identity} became leader of ${this.namespace}/${this.opts.name}`);
      const work = Promise.resolve()
        .then(() => onStartedLeading(leading.signal))
        .catch((err: unknown) => log.error(`leader work failed: ${messageOf(err)}`));
      await this.#renewLoop(signal);
      this.#leader = false;
      leading.abort();
      signal.removeEventListener('abort', stop);
      await work;
      if (signal.aborted && (this.opts.releaseOnCancel ?? true)) await this.#release();
      log.info(`${this.opts.identity} stopped leading ${this.namespace}/${this.opts.name}`);
      try {
        onStoppedLeading?.();
      } catch (err) {
        log.warn(`onStoppedLeading: ${messageOf(err)}`);
      }
    }
  }

  async #acquire(signal: AbortSignal): Promise<boolean> {
    while (!signal.aborted) {
      if (await this.#tryWithin(this.retryPeriod)) {
        this.#leader = true;
        return true;
      }
      await sleep(this.retryPeriod * (1 + Math.random() * 0.2), signal);
    }
    return false;
  }

  async #renewLoop(signal: AbortSignal): Promise<void> {
    let lastRenew = Date.now();
    while (!signal.aborted) {
      await sleep(this.retryPeriod, signal);
      if (signal.aborted) return;
      if (await this.#tryWithin(this.renewDeadline - (Date.now() - lastRenew))) lastRenew = Date.now();
      else if (Date.now() - lastRenew >= this.renewDeadline || this.#observed.spec?.holderIdentity !== this.opts.identity) {
        log.warn(`${this.opts.identity} failed to renew ${this.namespace}/${this.opts.name} in time`);
        return;
      }
    }
  }

  /** One attempt, given up (as a failure) after `ms`. */
  async #tryWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(ms, 1))));
    try {
      return await Promise.race([this.tryAcquireOrRenew().catch((err: unknown) => (log.debug(`lease: ${messageOf(err)}`), false)), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Takes or renews the Lease if it is free, ours, or expired; false when another candidate holds it. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const id = this.opts.identity;
    const now = microTime();
    const seconds = this.leaseDuration / 1000;
    let lease: Lease;
    try {
      lease = await this.client.get<Lease>(LEASES, this.opts.name, { namespace: this.namespace });
    } catch (err) {
      if (!isNubisError(err, 'NotFound')) throw err;
      const spec: LeaseSpec = { holderIdentity: id, leaseDurationSeconds: seconds, acquireTime: now, renewTime: now, leaseTransitions: 0 };
      try {
        const created = await this.client.create<Lease>(LEASES, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.opts.name, namespace: this.namespace }, spec });
        this.#observe(created);
        return true;
      } catch (e) {
        if (isNubisError(e, 'AlreadyExists')) return false;
        throw e;
      }
    }
    this.#observe(lease);
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const held = holder !== '' && holder !== id && this.#observed.at + (spec.leaseDurationSeconds ?? seconds) * 1000 > Date.now();
    if (held) return false;
    const mine = holder === id;
    const next: LeaseSpec = {
      ...spec,
      holderIdentity: id,
      leaseDurationSeconds: seconds,
      renewTime: now,
      acquireTime: mine && spec.acquireTime ? spec.acquireTime : now,
      leaseTransitions: (spec.leaseTransitions ?? 0) + (mine || holder === '' ? 0 : 1),
    };
    try {
      this.#observe(await this.client.update<Lease>(LEASES, { ...lease, spec: next }));
      return true;
    } catch (err) {
      if (isNubisError(err, 'Conflict')) return false;
      throw err;
    }
  }

  #observe(lease: Lease): void {
    if (lease.metadata.resourceVersion !== this.#observed.resourceVersion) {
      this.#observed = { resourceVersion: lease.metadata.resourceVersion, at: Date.now(), spec: lease.spec };
    }
  }

  async #release(): Promise<void> {
    try {
      const lease = await this.client.get<Lease>(LEASES, this.opts.name, { namespace: this.namespace });
      if (lease.spec?.holderIdentity !== this.opts.identity) return;
      const now = microTime();
      await this.client.update(LEASES, { ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now } });
    } catch (err) {
      log.debug(`releasing the lease: ${messageOf(err)}`);
    }
  }
}
