/**
 * Notices container exits as they happen: conmon writes `<exit dir>/<container id>` once a container has
 * ended, and an inotify watch (fs.watch) on that directory reports it within milliseconds. The pod
 * manager's slow poll stays as the fallback (a watch that cannot be set up, an event the kernel dropped).
 * All watches share the event loop's one inotify instance; each ends at the exit, or with `unwatch`.
 */
import { type FSWatcher, existsSync, watch } from 'node:fs';
import path from 'node:path';
import { logger } from '../../lib/log.js';

const log = logger('agent');

/** Calls back when a workload's exit file appears. */
export interface ExitNotifier {
  /** Calls `onExit` once when the workload `id` has exited (at once when it already has). */
  watch(id: string, onExit: () => void): void;
  /** Forgets a workload (removed): no callback after this. */
  unwatch(id: string): void;
  /** Ends every watch. */
  close(): void;
}

/** An ExitNotifier on the exit dirs of a runtime's containers (`exitDir(id)` holds the file `id`). */
export class ExitWatcher implements ExitNotifier {
  readonly #watches = new Map<string, FSWatcher>();

  constructor(private readonly exitDir: (id: string) => string) {}

  watch(id: string, onExit: () => void): void {
    if (this.#watches.has(id)) return;
    const dir = this.exitDir(id);
    const fire = () => {
      this.unwatch(id);
      onExit();
    };
    let w: FSWatcher;
    try {
      w = watch(dir, { persistent: false }, (_event, name) => {
        if (name === id) fire();
        else if (!existsSync(dir)) this.unwatch(id); // the workload was removed
      });
    } catch (err) {
      log.debug(`no exit watch for ${id} (the poll covers it): ${(err as Error).message}`);
      return;
    }
    w.on('error', () => this.unwatch(id));
    this.#watches.set(id, w);
    if (existsSync(path.join(dir, id))) fire(); // it ended before the watch was set up
  }

  unwatch(id: string): void {
    const w = this.#watches.get(id);
    if (!w) return;
    this.#watches.delete(id);
    w.close();
  }

  close(): void {
    for (const id of [...this.#watches.keys()]) this.unwatch(id);
  }
}
