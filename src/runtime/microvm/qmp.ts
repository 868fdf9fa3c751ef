/**
 * A small QMP client (QEMU's JSON machine protocol) over a unix socket: read the greeting, negotiate
 * capabilities, then run commands one at a time. Events are kept in order for callers that wait on one.
 */
import net from 'node:net';
import { internal, timeout, unavailable } from '../../lib/errors.js';

/** One asynchronous event QEMU sent, e.g. SHUTDOWN. */
export interface QmpEvent {
  event: string;
  data?: unknown;
}

interface Pending {
  id: number;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

/** A connected, negotiated QMP session. */
export class QmpClient {
  private buffered = '';
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private greeted?: (err?: Error) => void;
  readonly events: QmpEvent[] = [];
  private closedError?: Error;

  private constructor(private readonly sock: net.Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (text: string) => this.onData(text));
    sock.on('error', (err) => this.fail(unavailable(`QMP connection failed: ${err.message}`, err)));
    sock.on('close', () => this.fail(unavailable('QMP connection closed')));
  }

  /** Connects to `socket` and negotiates; fails with Unavailable if nothing listens, Timeout after `timeoutMs`. */
  static async connect(socket: string, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<QmpClient> {
    const sock = net.createConnection(socket);
    const client = new QmpClient(sock);
    const ms = opts.timeoutMs ?? 5000;
    const greeting = new Promise<void>((resolve, reject) => {
      client.greeted = (err) => (err ? reject(err) : resolve());
    });
    const timer = setTimeout(() => client.fail(timeout(`no QMP greeting on ${socket} in ${ms} ms`)), ms);
    const onAbort = () => client.fail(internal('QMP connect aborted', opts.signal?.reason));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await greeting;
      await client.execute('qmp_capabilities');
      return client;
    } catch (err) {
      client.close();
      throw err;
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Runs one command and resolves with its "return" value; a QMP error fails with Internal. */
  execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { id, resolve, reject });
      this.sock.write(JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}), id }) + '\n');
    });
  }

  close(): void {
    this.sock.destroy();
  }

  private onData(text: string): void {
    this.buffered += text;
    let nl: number;
    while ((nl = this.buffered.indexOf('\n')) >= 0) {
      const line = this.buffered.slice(0, nl).trim();
      this.buffered = this.buffered.slice(nl + 1);
      if (line) this.onMessage(line);
    }
  }

  private onMessage(line: string): void {
    let msg: { QMP?: unknown; event?: string; data?: unknown; id?: number; return?: unknown; error?: { class?: string; desc?: string } };
    try {
      msg = JSON.parse(line);
    } catch (err) {
      this.fail(internal(`QMP sent something that is not JSON: ${line.slice(0, 80)}`, err));
      return;
    }
    if (msg.QMP) {
      this.greeted?.();
      this.greeted = undefined;
    } else if (msg.event) {
      this.events.push({ event: msg.event, data: msg.data });
    } else if (typeof msg.id === 'number') {
      const p = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      if (msg.error) p?.reject(internal(`QMP ${msg.error.class ?? 'error'}: ${msg.error.desc ?? ''}`));
      else p?.resolve(msg.return);
    }
  }

  private fail(err: Error): void {
    if (this.closedError) return;
    this.closedError = err;
    this.greeted?.(err);
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.sock.destroy();
  }
}
