/**
 * Host id ranges for the user namespaces of pods with `hostUsers: false`: each pod gets its own 65,536
 * ids (uids and gids alike) from USERNS_RANGE_BASE on, so no two pods share a host id, and none overlaps
 * host users or `nubis ctr run --userns` (100000..165535). A range is held by a claim file per slot,
 * `<dir>/<slot>`, created with O_EXCL and holding the pod's uid: claims survive an agent restart and two
 * pods can never take one slot. Claims of pods whose directory is gone are taken over only when no slot
 * is free.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { errno, unavailable } from '../../lib/errors.js';
import type { IdMapping } from '../driver.js';

export const USERNS_RANGE_BASE = 2 ** 30;
export const USERNS_RANGE_SIZE = 65_536;
export const USERNS_SLOTS = 1024;

export class UserNamespaceRanges {
  #queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly dir: string,
    /** A pod's directory on this node: a claim whose pod has none is stale. */
    private readonly podDir: (uid: string) => string,
  ) {}

  /** The mapping of a slot. */
  static mapping(slot: number): IdMapping {
    return { hostId: USERNS_RANGE_BASE + slot * USERNS_RANGE_SIZE, size: USERNS_RANGE_SIZE };
  }

  /** The slot of a mapping this allocator made; undefined for any other. */
  static slotOf(m: IdMapping): number | undefined {
    const slot = (m.hostId - USERNS_RANGE_BASE) / USERNS_RANGE_SIZE;
    return Number.isInteger(slot) && slot >= 0 && slot < USERNS_SLOTS && m.size === USERNS_RANGE_SIZE ? slot : undefined;
  }

  /** Claims a free range for a pod. */
  allocate(podUid: string): Promise<IdMapping> {
    return this.#serial(async () => {
      await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
      const taken = new Set(await fs.readdir(this.dir));
      for (let slot = 0; slot < USERNS_SLOTS; slot++) {
        if (!taken.has(String(slot)) && (await this.#claim(slot, podUid))) return UserNamespaceRanges.mapping(slot);
      }
      for (let slot = 0; slot < USERNS_SLOTS; slot++) {
        const owner = await this.#owner(slot);
        const stale = owner !== undefined && (await fs.access(this.podDir(owner)).then(() => false, () => true));
        if (stale) {
          await fs.writeFile(this.#file(slot), podUid);
          return UserNamespaceRanges.mapping(slot);
        }
      }
      throw unavailable(`no free user namespace range: all ${USERNS_SLOTS} are in use`);
    });
  }

  /** Gives a pod's range back (a range another pod holds is left alone). */
  release(podUid: string, m: IdMapping): Promise<void> {
    const slot = UserNamespaceRanges.slotOf(m);
    if (slot === undefined) return Promise.resolve();
    return this.#serial(async () => {
      if ((await this.#owner(slot)) === podUid) await fs.rm(this.#file(slot), { force: true });
    });
  }

  #file(slot: number): string {
    return path.join(this.dir, String(slot));
  }

  async #claim(slot: number, podUid: string): Promise<boolean> {
    try {
      await fs.writeFile(this.#file(slot), podUid, { flag: 'wx' });
      return true;
    } catch (err) {
      if (errno(err) === 'EEXIST') return false;
      throw err;
    }
  }

  async #owner(slot: number): Promise<string | undefined> {
    return fs.readFile(this.#file(slot), 'utf8').catch(() => undefined);
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
