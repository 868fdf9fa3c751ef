/**
 * Progress of a pull: one line per blob. On a terminal the lines are redrawn in place (at most ten times
 * a second); elsewhere nothing is printed.
 */
export interface PullProgress {
  /** A blob the pull will fetch (or already has). */
  add(digest: string, size: number, label: string): void;
  /** Bytes of the blob on disk so far. */
  update(digest: string, bytes: number): void;
  /** The blob is finished, with a word on how (e.g. "done", "exists"). */
  done(digest: string, status: string): void;
  /** Draws the final state and stops. */
  close(): void;
}

export const silentProgress: PullProgress = { add() {}, update() {}, done() {}, close() {} };

interface Row {
  digest: string;
  size: number;
  label: string;
  bytes: number;
  status?: string;
}

function mb(n: number): string {
  return `${(n / 1e6).toFixed(1)}MB`;
}

/** Draws the rows on a terminal stream (stderr of the CLI). */
export class TerminalProgress implements PullProgress {
  private readonly rows: Row[] = [];
  private drawn = 0;
  private timer?: NodeJS.Timeout;

  constructor(private readonly out: NodeJS.WritableStream & { columns?: number }) {}

  add(digest: string, size: number, label: string): void {
    this.rows.push({ digest, size, label, bytes: 0 });
    this.schedule();
  }

  update(digest: string, bytes: number): void {
    const row = this.rows.find((r) => r.digest === digest);
    if (row) row.bytes = bytes;
    this.schedule();
  }

  done(digest: string, status: string): void {
    const row = this.rows.find((r) => r.digest === digest);
    if (row) {
      row.status = status;
      row.bytes = row.size;
    }
    this.schedule();
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.draw();
  }

  private schedule(): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.draw();
    }, 100);
  }

  private line(r: Row): string {
    const id = `${r.digest.slice(7, 19)} ${r.label}`.padEnd(20);
    if (r.status) return `${id} ${r.status} ${mb(r.size)}`;
    const width = 30;
    const frac = r.size > 0 ? Math.min(1, r.bytes / r.size) : 0;
    const fill = Math.round(frac * width);
    const bar = `${'='.repeat(Math.max(0, fill - 1))}${fill > 0 ? '>' : ''}${' '.repeat(width - fill)}`;
    return `${id} [${bar}] ${mb(r.bytes)}/${mb(r.size)}`;
  }

  private draw(): void {
    const cols = Math.max(40, (this.out.columns || 80) - 1);
    const text = this.rows.map((r) => `\x1b[2K${this.line(r).slice(0, cols)}\n`).join('');
    this.out.write(`${this.drawn > 0 ? `\x1b[${this.drawn}A` : ''}${text}`);
    this.drawn = this.rows.length;
  }
}
