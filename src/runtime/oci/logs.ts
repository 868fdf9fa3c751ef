/**
 * Reading conmon's k8s-file logs: one entry per line, `<RFC3339Nano time> <stdout|stderr> <F|P> <text>`,
 * where P marks a partial line that continues in the next entry. Supports --since, --tail and --follow.
 */
import { constants as fsConstants, promises as fs, watch, type FSWatcher } from 'node:fs';
import { errno, internal, invalid } from '../../lib/errors.js';
import type { LogEntry } from '../driver.js';

const LINE_RE = /^(\S+) (stdout|stderr) ([FP]) ?(.*)$/s;

/** Parses one log line; undefined for a line that is not in the k8s-file format. */
export function parseLogLine(line: string): LogEntry | undefined {
  const m = LINE_RE.exec(line);
  if (!m) return undefined;
  const time = new Date(m[1]!);
  if (Number.isNaN(time.getTime())) return undefined;
  return { timestamp: m[1]!, time, stream: m[2] as 'stdout' | 'stderr', partial: m[3] === 'P', text: m[4]! };
}

/** Docker's timestamp shape: RFC 3339 in UTC with nanoseconds and a Z. */
export function formatTimestamp(ts: string): string {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]00:00)$/.exec(ts);
  if (!m) return ts;
  return `${m[1]}.${(m[2] ?? '').padEnd(9, '0').slice(0, 9)}Z`;
}

/**
 * Parses a --since value: RFC 3339 / ISO time, Unix seconds, or a relative duration such as 10m, 1h30m,
 * 45s (meaning that long before `now`).
 */
export function parseSince(value: string, now = Date.now()): Date {
  const v = value.trim();
  const rel = /^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$/.exec(v);
  if (rel && v !== '' && rel.slice(1).some((x) => x !== undefined)) {
    const [h, m, s, ms] = rel.slice(1).map((x) => Number(x ?? 0)) as [number, number, number, number];
    return new Date(now - ((h * 60 + m) * 60 + s) * 1000 - ms);
  }
  if (/^\d+(\.\d+)?$/.test(v)) return new Date(Number(v) * 1000);
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw invalid(`invalid --since value "${value}": use a time (2024-01-01T10:00:00Z) or a duration (10m, 1h)`);
  return d;
}

export interface ReadLogOptions {
  since?: Date;
  tail?: number;
  follow?: boolean;
  /** While following: true once no more output can come (the container exited). Checked at end of file. */
  ended?: () => Promise<boolean>;
  /** Other files whose changes should wake a follower (the exit file's dir). */
  wakeOn?: string[];
  signal?: AbortSignal;
}

/** Reads a log file's entries, then (with follow) new ones as they are written, until `ended` or abort. */
/**
 * Opens a log for reading: never through a symlink or a FIFO (a micro-VM's guest writes its logs, and
 * could plant either), and only a regular file.
 */
async function openLog(file: string): Promise<fs.FileHandle> {
  const fh = await fs.open(file, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK);
  if (!(await fh.stat()).isFile()) {
    await fh.close();
    throw invalid(`${file} is not a regular file`);
  }
  return fh;
}

export async function* readLog(file: string, opts: ReadLogOptions = {}): AsyncGenerator<LogEntry> {
  let fh: fs.FileHandle | undefined;
  try {
    fh = await openLog(file);
  } catch (err) {
    if (errno(err) !== 'ENOENT') throw internal(`cannot open log ${file}`, err);
  }
  let pos = 0;
  let rest = '';
  const keep = (e: LogEntry | undefined): e is LogEntry => !!e && (!opts.since || e.time >= opts.since);
  const readMore = async (): Promise<LogEntry[]> => {
    if (!fh) {
      try {
        fh = await openLog(file);
      } catch {
        return [];
      }
    }
    const out: LogEntry[] = [];
    const buf = Buffer.alloc(64 * 1024);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break;
      pos += bytesRead;
      const chunk = rest + buf.subarray(0, bytesRead).toString('utf8');
      const lines = chunk.split('\n');
      rest = lines.pop() ?? '';
      for (const l of lines) {
        const e = parseLogLine(l);
        if (keep(e)) out.push(e);
      }
    }
    return out;
  };
  try {
    let first = await readMore();
    if (opts.tail !== undefined) first = opts.tail <= 0 ? [] : first.slice(-opts.tail);
    yield* first;
    if (!opts.follow) return;
    const waker = new Waker([file, ...(opts.wakeOn ?? [])]);
    try {
      for (;;) {
        if (opts.signal?.aborted) return;
        const more = await readMore();
        if (more.length > 0) {
          yield* more;
          continue;
        }
        if (opts.ended && (await opts.ended())) {
          yield* await readMore();
          return;
        }
        await waker.wait(250, opts.signal);
      }
    } finally {
      waker.close();
    }
  } finally {
    await fh?.close();
  }
}

/** Wakes a poller when any of some paths changes, or after a timeout. */
export class Waker {
  private watchers: FSWatcher[] = [];
  private pending: (() => void)[] = [];
  private fired = false;

  constructor(paths: string[]) {
    for (const p of paths) {
      try {
        this.watchers.push(watch(p, { persistent: false }, () => this.fire()));
      } catch {
        // a path that does not exist yet: the timeout covers it
      }
    }
  }

  private fire(): void {
    this.fired = true;
    const p = this.pending;
    this.pending = [];
    for (const f of p) f();
  }

  /** Resolves on the next change (or at once if one happened since the last wait), or after `ms`. */
  wait(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.fired) {
      this.fired = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.fired = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
      this.pending.push(done);
    });
  }

  close(): void {
    for (const w of this.watchers) w.close();
    this.watchers = [];
  }
}
