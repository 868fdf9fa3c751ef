import type { Host } from '../host/host.js';

/** What every CLI command gets: where state lives, the machine, and where to write. */
export interface CliContext {
  /** The data dir, resolved from --data-dir, NUBIS_DATA_DIR or the default (read at action time). */
  dataDir(): string;
  host: Host;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Set by a command that wants a specific process exit code (e.g. the container's). */
  exitCode?: number;
}

/** Prints rows as an aligned table with a header, like docker's ps. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('   ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/** 1536 -> "1.54kB" (decimal units, like docker images) or, with `binary`, "1.50KiB" (like docker stats). */
export function humanSize(bytes: number, binary = false): string {
  const base = binary ? 1024 : 1000;
  const units = binary ? ['B', 'KiB', 'MiB', 'GiB', 'TiB'] : ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let i = 0;
  while (v >= base && i < units.length - 1) {
    v /= base;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(binary || v < 10 ? 2 : 1)}${units[i]}`;
}

/** A duration in docker's words: "3 seconds", "About a minute", "2 hours". */
export function humanDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 1) return 'Less than a second';
  if (s < 60) return `${s} second${s === 1 ? '' : 's'}`;
  const m = Math.round(s / 60);
  if (m === 1) return 'About a minute';
  if (m < 60) return `${m} minutes`;
  const h = Math.round(m / 60);
  if (h === 1) return 'About an hour';
  if (h < 48) return `${h} hours`;
  return `${Math.round(h / 24)} days`;
}
