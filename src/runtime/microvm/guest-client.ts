/**
 * The node agent's side of a micro-VM's guest agent (protocol: guest-protocol.ts). It connects (QEMU's
 * chardev unix socket for the virtio-serial port), says hello with the host's time, sends requests and
 * matches replies by id (each with a timeout and an AbortSignal), relays exec and attach streams as Node
 * streams, emits the guest's events, runs a heartbeat and reconnects on demand.
 *
 * Events: 'exit' (ExitEvent), 'exec-exit' (ExecExitEvent), 'heartbeat' (HeartbeatEvent), 'dead' (the
 * guest missed `heartbeatMisses` pings in a row), 'alive' (it answered again after 'dead'), 'disconnect'
 * (the connection dropped: pending requests failed, open streams ended with an error), 'problem' (a frame
 * the client could not read).
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { constants as osConstants } from 'node:os';
import type { Duplex } from 'node:stream';
import { NubisError, unavailable, timeout as timeoutError, type ErrorCode } from '../../lib/errors.js';
import {
  encodeRequest,
  FrameDecoder,
  FrameType,
  parsePayload,
  PROTOCOL_VERSION,
  type CreateRequest,
  type ExecExitEvent,
  type ExecRequest,
  type Frame,
  type GuestContainerState,
  type HelloReply,
  type NetworkRequest,
  type StatsReply,
} from './guest-protocol.js';
import { GuestAttach, GuestProcess, type StreamHost } from './guest-client-streams.js';

export { GuestAttach, GuestProcess } from './guest-client-streams.js';

export interface GuestClientOptions {
  /** Opens a fresh connection to the guest (at start and on reconnect). */
  connect: () => Promise<Duplex>;
  /** Default timeout of a request. Default 30 s. */
  requestTimeoutMs?: number;
  /** Timeout of the hello (default: requestTimeoutMs). */
  helloTimeoutMs?: number;
  /** Ping this often; 0 turns the heartbeat off. Default 1000 ms. */
  heartbeatIntervalMs?: number;
  /** Declare the guest dead after this many missed pings in a row. Default 5. */
  heartbeatMisses?: number;
  /** Closes the client when aborted. */
  signal?: AbortSignal;
}

export interface RequestOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** A connection factory for a unix socket path (QEMU's chardev socket in server mode). */
export function connectUnix(path: string, timeoutMs = 10_000): () => Promise<Duplex> {
  return () =>
    new Promise((resolve, reject) => {
      const sock = net.connect(path);
      const timer = setTimeout(() => {
        sock.destroy();
        reject(timeoutError(`cannot reach the guest agent at ${path} within ${timeoutMs} ms`));
      }, timeoutMs);
      sock.once('connect', () => {
        clearTimeout(timer);
        sock.removeAllListeners('error');
        resolve(sock);
      });
      sock.once('error', (err) => {
        clearTimeout(timer);
        reject(unavailable(`cannot reach the guest agent at ${path}`, err));
      });
    });
}

interface Pending {
  resolve: (v: Record<string, unknown>) => void;
  reject: (e: Error) => void;
  cleanup: () => void;
}

const GUEST_CODES: ReadonlySet<string> = new Set(['Invalid', 'NotFound', 'Conflict', 'AlreadyExists', 'Unavailable', 'Internal', 'Timeout']);

/** The signal number of a name (SIGTERM, TERM) or number. */
export function signalNumber(sig: NodeJS.Signals | string | number): number {
  if (typeof sig === 'number') return sig;
  const name = (sig.startsWith('SIG') ? sig : `SIG${sig}`).toUpperCase() as NodeJS.Signals;
  const n = osConstants.signals[name];
  if (n === undefined) throw new NubisError('Invalid', `unknown signal ${sig}`);
  return n;
}

/** A Map that calls `changed` after every change of its size. */
class BusyMap<K, V> extends Map<K, V> {
  constructor(private readonly changed: () => void) {
    super();
  }
  override set(k: K, v: V): this {
    super.set(k, v);
    this.changed?.();
    return this;
  }
  override delete(k: K): boolean {
    const had = super.delete(k);
    this.changed();
    return had;
  }
  override clear(): void {
    super.clear();
    this.changed();
  }
}

export class GuestClient extends EventEmitter implements StreamHost {
  private sock: Duplex | undefined;
  private decoder = new FrameDecoder((p) => this.emit('problem', p));
  private nextId = 1;
  // The connection keeps the process alive only while a request or a stream is open (a CLI that started
  // a container exits; an agent stays for its own reasons).
  private pending = new BusyMap<number, Pending>(() => this.refWhileBusy());
  private streams = new BusyMap<number, GuestProcess | GuestAttach>(() => this.refWhileBusy());
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private missed = 0;
  private dead = false;
  private closed = false;
  /** The last hello's reply. */
  hello: HelloReply | undefined;

  private constructor(private readonly opts: GuestClientOptions) {
    super();
    opts.signal?.addEventListener('abort', () => this.close(), { once: true });
  }

  /** Connects and says hello. */
  static async open(opts: GuestClientOptions): Promise<GuestClient> {
    const c = new GuestClient(opts);
    try {
      await c.reconnect();
    } catch (err) {
      // The connection goes too: QEMU's chardev takes one host at a time.
      c.close();
      throw err;
    }
    return c;
  }

  get connected(): boolean {
    return this.sock !== undefined;
  }

  /** Drops the current connection (if any), connects again and says hello. Streams of the old one end. */
  async reconnect(): Promise<HelloReply> {
    if (this.closed) throw unavailable('the guest client is closed');
    this.dropConnection(unavailable('reconnecting to the guest agent'));
    const sock = await this.opts.connect();
    this.sock = sock;
    this.refWhileBusy();
    this.decoder = new FrameDecoder((p) => this.emit('problem', p));
    sock.on('data', (b: Buffer) => this.onData(b));
    sock.on('error', () => {});
    sock.on('close', () => {
      if (this.sock === sock) this.dropConnection(unavailable('the guest agent connection closed'));
    });
    this.hello = (await this.request('hello', {
      version: PROTOCOL_VERSION,
      timeMs: Date.now(),
      // Every hello feeds the guest's random pool: guests resumed from one template start with the same one.
      entropy: randomBytes(32).toString('hex'),
    }, this.opts.helloTimeoutMs !== undefined ? { timeoutMs: this.opts.helloTimeoutMs } : {})) as unknown as HelloReply;
    this.startHeartbeat();
    return this.hello;
  }

  private refWhileBusy(): void {
    const sock = this.sock as (Duplex & { ref?: () => void; unref?: () => void }) | undefined;
    if (this.pending.size + this.streams.size > 0) sock?.ref?.();
    else sock?.unref?.();
  }

  /** Closes the connection for good. */
  close(): void {
    this.closed = true;
    this.dropConnection(unavailable('the guest client is closed'));
  }

  private dropConnection(reason: Error): void {
    this.stopHeartbeat();
    const sock = this.sock;
    this.sock = undefined;
    if (sock) {
      sock.destroy();
      this.emit('disconnect');
    }
    for (const [, p] of this.pending) {
      p.cleanup();
      p.reject(reason);
    }
    this.pending.clear();
    for (const [, s] of this.streams) s.fail(reason);
    this.streams.clear();
  }

  /** Sends a request and resolves with its reply; rejects with the guest's error as a NubisError. */
  request(op: string, body: object = {}, o: RequestOptions = {}): Promise<Record<string, unknown>> {
    return this.requestWithId(this.allocateId(), op, body, o);
  }

  allocateId(): number {
    const id = this.nextId;
    this.nextId = this.nextId >= 0xffff_fff0 ? 1 : this.nextId + 1;
    return id;
  }

  private requestWithId(id: number, op: string, body: object, o: RequestOptions): Promise<Record<string, unknown>> {
    const sock = this.sock;
    if (!sock) return Promise.reject(unavailable('not connected to the guest agent'));
    if (o.signal?.aborted) return Promise.reject(o.signal.reason ?? unavailable('aborted'));
    const ms = o.timeoutMs ?? this.opts.requestTimeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        cleanup();
        this.pending.delete(id);
        reject(o.signal?.reason ?? unavailable(`${op} was aborted`));
      };
      const timer = setTimeout(() => {
        cleanup();
        this.pending.delete(id);
        reject(timeoutError(`the guest agent did not answer ${op} within ${ms} ms`));
      }, ms);
      const cleanup = () => {
        clearTimeout(timer);
        o.signal?.removeEventListener('abort', onAbort);
      };
      o.signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, { resolve, reject, cleanup });
      sock.write(encodeRequest(id, op, body));
    });
  }

  /** StreamHost: writes raw frames. */
  sendFrame(frame: Buffer): boolean {
    if (!this.sock) return false;
    this.sock.write(frame);
    return true;
  }

  private onData(b: Buffer): void {
    for (const f of this.decoder.push(b)) this.onFrame(f);
  }

  private onFrame(f: Frame): void {
    switch (f.type) {
      case FrameType.Reply:
      case FrameType.Error:
        return this.settle(f);
      case FrameType.Event:
        return this.onEvent(f);
      case FrameType.Stdout:
      case FrameType.Stderr:
      case FrameType.Window:
        this.streams.get(f.id)?.onFrame(f);
        return;
      default:
        this.emit('problem', { kind: 'bad-frame', id: f.id, message: `unexpected frame type ${f.type}` });
    }
  }

  private settle(f: Frame): void {
    let body: Record<string, unknown>;
    try {
      body = parsePayload(f.payload);
    } catch (err) {
      body = { code: 'Internal', message: `unreadable answer from the guest agent: ${(err as Error).message}` };
      if (f.type === FrameType.Reply) f = { ...f, type: FrameType.Error };
    }
    const p = this.pending.get(f.id);
    if (!p) {
      // An error about a frame that was not a request (id 0, a stream id): report it.
      if (f.type === FrameType.Error) this.emit('problem', { kind: 'guest-error', id: f.id, message: String(body.message) });
      return;
    }
    this.pending.delete(f.id);
    p.cleanup();
    if (f.type === FrameType.Reply) p.resolve(body);
    else {
      const code = typeof body.code === 'string' && GUEST_CODES.has(body.code) ? (body.code as ErrorCode) : 'Internal';
      p.reject(new NubisError(code, `guest agent: ${String(body.message ?? 'error')}`));
    }
  }

  private onEvent(f: Frame): void {
    let ev: Record<string, unknown>;
    try {
      ev = parsePayload(f.payload);
    } catch {
      this.emit('problem', { kind: 'bad-frame', message: 'unreadable event' });
      return;
    }
    if (ev.event === 'exec-exit') {
      const e = ev as unknown as ExecExitEvent;
      const s = this.streams.get(e.stream);
      if (s instanceof GuestProcess) {
        this.streams.delete(e.stream);
        s.onExit(e.exitCode);
      }
    }
    if (ev.event === 'exit') {
      // Attaches of that container end with their FLAG_END frames; nothing to do here.
    }
    if (typeof ev.event === 'string') this.emit(ev.event, ev);
  }

  private startHeartbeat(): void {
    this.stopHeartbeat();
    const every = this.opts.heartbeatIntervalMs ?? 1000;
    if (every <= 0) return;
    const misses = this.opts.heartbeatMisses ?? 5;
    this.missed = 0;
    this.heartbeatTimer = setInterval(() => {
      this.request('ping', {}, { timeoutMs: every }).then(
        () => {
          this.missed = 0;
          if (this.dead) {
            this.dead = false;
            this.emit('alive');
          }
        },
        () => {
          if (!this.sock) return;
          this.missed++;
          if (this.missed >= misses && !this.dead) {
            this.dead = true;
            this.emit('dead');
          }
        },
      );
    }, every);
    this.heartbeatTimer.unref();
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }

  /** Forgets a stream (it ended). */
  forgetStream(id: number): void {
    this.streams.delete(id);
  }

  // ---- operations ----

  async create(spec: CreateRequest, o?: RequestOptions): Promise<{ pid: number }> {
    return (await this.request('create', spec, o)) as { pid: number };
  }

  async start(id: string, o?: RequestOptions): Promise<void> {
    await this.request('start', { id }, o);
  }

  async kill(id: string, signal: NodeJS.Signals | number = 'SIGTERM', o?: RequestOptions): Promise<void> {
    await this.request('kill', { id, signal: signalNumber(signal) }, o);
  }

  async state(id: string, o?: RequestOptions): Promise<GuestContainerState> {
    return (await this.request('state', { id }, o)) as unknown as GuestContainerState;
  }

  async list(o?: RequestOptions): Promise<GuestContainerState[]> {
    return ((await this.request('list', {}, o)) as { containers: GuestContainerState[] }).containers;
  }

  async remove(id: string, o?: RequestOptions): Promise<void> {
    await this.request('remove', { id }, o);
  }

  async stats(id?: string, o?: RequestOptions): Promise<StatsReply> {
    return (await this.request('stats', id ? { id } : {}, o)) as unknown as StatsReply;
  }

  async network(cfg: NetworkRequest, o?: RequestOptions): Promise<void> {
    await this.request('network', cfg, o);
  }

  /** Mounts the 9p share `tag` at `path` in the guest (nothing when it is mounted already). */
  async mountShare(tag: string, path: string, o?: RequestOptions): Promise<void> {
    await this.request('mount', { tag, path }, o);
  }

  async resize(id: string, rows: number, cols: number, o?: RequestOptions): Promise<void> {
    await this.request('resize', { id, rows, cols }, o);
  }

  /** Stops every container (SIGTERM, SIGKILL after `timeoutMs`) and powers the guest off. */
  async shutdown(timeoutMs = 10_000, o?: RequestOptions): Promise<void> {
    await this.request('shutdown', { timeoutMs }, { timeoutMs: timeoutMs + 10_000, ...o });
  }

  /** Runs a process in a running container; its streams flow once this resolves. */
  async exec(req: ExecRequest, o?: RequestOptions): Promise<GuestProcess> {
    const id = this.allocateId();
    const proc = new GuestProcess(this, id, Boolean(req.tty), Boolean(req.stdin), req.id);
    this.streams.set(id, proc);
    try {
      const r = (await this.requestWithId(id, 'exec', req, o ?? {})) as { pid: number };
      proc.pid = r.pid;
      return proc;
    } catch (err) {
      this.streams.delete(id);
      proc.fail(err as Error);
      throw err;
    }
  }

  /** Live output of a container's main process (and its stdin, when it was created with stdin open). */
  async attach(id: string, opts: { stdin?: boolean } = {}, o?: RequestOptions): Promise<GuestAttach> {
    const sid = this.allocateId();
    // Made before the request: output may follow the reply in the same read.
    const a = new GuestAttach(this, sid, id, false, Boolean(opts.stdin));
    this.streams.set(sid, a);
    try {
      const r = await this.requestWithId(sid, 'attach', { id, stdin: Boolean(opts.stdin) }, o ?? {});
      if (r.tty === true) a.markTty();
      return a;
    } catch (err) {
      this.streams.delete(sid);
      a.fail(err as Error);
      throw err;
    }
  }

  /** StreamHost: sends a request on behalf of a stream. */
  streamRequest(op: string, body: object, o?: RequestOptions): Promise<Record<string, unknown>> {
    return this.request(op, body, o);
  }
}
