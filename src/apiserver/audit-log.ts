/**
 * The audit log: one JSON line per request (who, verb, resource, namespace, name, response code,
 * latency, from where), appended to `<data-dir>/apiserver/audit.log` and rotated by size (audit.log.1 …
 * .N, oldest dropped). Request and response bodies are never written: passwords and Secrets pass there.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { logger } from '../lib/log.js';
import type { Attributes } from './authz/authorizer.js';

const log = logger('audit');

/** What was asked, in authorization's terms, and how it went. */
export interface AuditEntry extends Pick<Attributes, 'verb' | 'group' | 'resource' | 'subresource' | 'namespace' | 'name'> {
  time: string;
  user: string;
  groups?: string[];
  path: string;
  code: number;
  latencyMs: number;
  sourceIP?: string;
  userAgent?: string;
}

export interface AuditLogOptions {
  /** Rotate when the file passes this size (default 100 MiB). */
  maxBytes?: number;
  /** Rotated files kept (default 5). */
  keep?: number;
}

export function auditLogFile(dataDir: string): string {
  return path.join(dataDir, 'apiserver', 'audit.log');
}

export class AuditLog {
  private stream: WriteStream | undefined;
  private size = 0;
  private rotating: Promise<void> | undefined;
  private readonly pending: string[] = [];
  private closed = false;
  /** After a write error the file is opened again, at most every 5 s. */
  private reopenAt = 0;
  private readonly maxBytes: number;
  private readonly keep: number;

  constructor(
    readonly file: string,
    opts: AuditLogOptions = {},
  ) {
    this.maxBytes = opts.maxBytes ?? 100 * 1024 * 1024;
    this.keep = opts.keep ?? 5;
  }

  async open(): Promise<void> {
    await mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
    this.size = await stat(this.file).then((s) => s.size, () => 0);
    this.stream = this.newStream();
  }

  private newStream(): WriteStream {
    const s = createWriteStream(this.file, { flags: 'a', mode: 0o600 });
    s.on('error', (err) => {
      log.warn(`audit log ${this.file}: ${err.message} (opening it again in 5 s)`);
      if (this.stream === s) this.stream = undefined;
      this.reopenAt = Date.now() + 5000;
    });
    return s;
  }

  record(e: AuditEntry): void {
    if (this.closed) return;
    const line = `${JSON.stringify(e)}\n`;
    if (!this.stream && !this.rotating && Date.now() >= this.reopenAt) this.stream = this.newStream();
    if (this.rotating || !this.stream) {
      // Held while the file rotates or reopens; bounded, the oldest go first.
      if (this.pending.push(line) > 10_000) this.pending.shift();
      return;
    }
    this.stream.write(line);
    this.size += Buffer.byteLength(line);
    if (this.size >= this.maxBytes) this.rotating = this.rotate().finally(() => (this.rotating = undefined));
  }

  /** audit.log → audit.log.1 → … → audit.log.<keep> (dropped), then a fresh file. */
  private async rotate(): Promise<void> {
    const old = this.stream!;
    this.stream = undefined;
    await new Promise<void>((r) => old.end(r));
    try {
      await rm(`${this.file}.${this.keep}`, { force: true });
      for (let i = this.keep - 1; i >= 1; i--) await rename(`${this.file}.${i}`, `${this.file}.${i + 1}`).catch(() => undefined);
      await rename(this.file, `${this.file}.1`);
    } catch (err) {
      log.warn(`audit log ${this.file}: cannot rotate: ${(err as Error).message}`); // go on in the same file
    }
    this.size = await stat(this.file).then((st) => st.size, () => 0);
    this.stream = this.newStream();
    const lines = this.pending.splice(0);
    for (const l of lines) {
      this.stream.write(l);
      this.size += Buffer.byteLength(l);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.rotating;
    const s = this.stream;
    this.stream = undefined;
    if (s) await new Promise<void>((r) => s.end(r));
  }
}
