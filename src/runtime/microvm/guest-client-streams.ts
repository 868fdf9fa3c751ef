/**
 * Exec and attach streams of the guest client as Node streams: stdout and stderr are Readables fed by
 * Stdout/Stderr frames (ended by FLAG_END), stdin is a Writable that sends Stdin frames within the
 * stream's window (STDIN_WINDOW bytes unacknowledged, reopened by Window frames).
 */
import { Readable, Writable } from 'node:stream';
import { encodeStream, FLAG_END, FrameType, STDIN_WINDOW, type Frame } from './guest-protocol.js';

/** What a stream needs of its client. */
export interface StreamHost {
  sendFrame(frame: Buffer): boolean;
  streamRequest(op: string, body: object): Promise<Record<string, unknown>>;
  forgetStream(id: number): void;
}

/** Stdin of a guest stream: writes wait while the window is used up. */
class GuestStdin extends Writable {
  private credit = STDIN_WINDOW;
  private waiting: { data: Buffer; cb: (err?: Error | null) => void } | undefined;

  constructor(
    private readonly host: StreamHost,
    private readonly id: number,
  ) {
    super({ highWaterMark: 64 * 1024 });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.pump(chunk, cb);
  }

  private pump(data: Buffer, cb: (err?: Error | null) => void): void {
    const n = Math.min(data.length, this.credit);
    if (n > 0) {
      for (const f of encodeStream(FrameType.Stdin, this.id, data.subarray(0, n))) {
        if (!this.host.sendFrame(f)) return cb(new Error('the guest agent is not connected'));
      }
      this.credit -= n;
    }
    if (n === data.length) return cb();
    this.waiting = { data: data.subarray(n), cb };
  }

  /** A Window frame: the guest wrote `n` more bytes to the process. */
  grant(n: number): void {
    this.credit += n;
    const w = this.waiting;
    if (w && this.credit > 0) {
      this.waiting = undefined;
      this.pump(w.data, w.cb);
    }
  }

  override _final(cb: (err?: Error | null) => void): void {
    for (const f of encodeStream(FrameType.Stdin, this.id, Buffer.alloc(0), true)) this.host.sendFrame(f);
    cb();
  }

  abort(err: Error): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.cb(err);
  }
}

/** Shared by exec and attach: the output Readables and the stdin Writable of one stream id. */
abstract class GuestStream {
  readonly stdout = new Readable({ read() {} });
  /** null for a terminal (its output is all on stdout). */
  readonly stderr: Readable | null;
  readonly stdin: Writable | null;
  protected open = 0;
  /** Outputs that got their end (push(null)): readableEnded waits for a consumer to read it. */
  private readonly finished = new Set<Readable>();

  constructor(
    protected readonly host: StreamHost,
    readonly streamId: number,
    tty: boolean,
    withStdin: boolean,
  ) {
    this.stderr = tty ? null : new Readable({ read() {} });
    this.stdin = withStdin ? new GuestStdin(host, streamId) : null;
    this.open = tty ? 1 : 2;
    // Nobody may be listening for errors on an output (a caller that only wants the exit code).
    this.stdout.on('error', () => {});
    this.stderr?.on('error', () => {});
    this.stdin?.on('error', () => {});
  }

  onFrame(f: Frame): void {
    if (f.type === FrameType.Window && f.payload.length === 4) {
      (this.stdin as GuestStdin | null)?.grant(f.payload.readUInt32BE(0));
      return;
    }
    const out = f.type === FrameType.Stderr ? this.stderr : this.stdout;
    if (!out || this.finished.has(out)) return;
    if (f.payload.length > 0) out.push(f.payload);
    if (f.flags & FLAG_END) this.endOutput(out);
  }

  /** Ends one output; the stream is over when both are. */
  protected endOutput(out: Readable): void {
    if (this.finished.has(out)) return;
    this.finished.add(out);
    out.push(null);
    if (--this.open === 0) this.outputEnded();
  }

  /** Ends every output that has not ended. */
  protected endOutputs(): void {
    for (const r of [this.stdout, this.stderr]) if (r) this.endOutput(r);
  }

  protected outputEnded(): void {}

  /** The stream turned out to be a terminal: there is no stderr. */
  markTty(): void {
    if (this.stderr) this.endOutput(this.stderr);
  }

  /** The connection is gone: outputs end with the error. */
  fail(err: Error): void {
    (this.stdin as GuestStdin | null)?.abort(err);
    for (const r of [this.stdout, this.stderr]) {
      if (r && !this.finished.has(r)) {
        this.finished.add(r);
        r.destroy(err);
      }
    }
  }
}

/** An exec process in the guest. */
export class GuestProcess extends GuestStream {
  pid = 0;
  /** Resolves with the exit code (128+signal when killed); rejects when the connection drops first. */
  readonly exitCode: Promise<number>;
  private settle!: { resolve: (n: number) => void; reject: (e: Error) => void };

  constructor(
    host: StreamHost,
    streamId: number,
    tty: boolean,
    withStdin: boolean,
    readonly container: string,
  ) {
    super(host, streamId, tty, withStdin);
    this.exitCode = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    this.exitCode.catch(() => {});
  }

  /** The exec-exit event (after every output frame). */
  onExit(code: number): void {
    this.endOutputs();
    this.settle.resolve(code);
  }

  override fail(err: Error): void {
    super.fail(err);
    this.settle.reject(err);
  }

  async resize(rows: number, cols: number): Promise<void> {
    await this.host.streamRequest('resize', { stream: this.streamId, rows, cols });
  }

  async kill(signal: number): Promise<void> {
    await this.host.streamRequest('kill', { stream: this.streamId, signal });
  }
}

/** An attach session to a container's main process. */
export class GuestAttach extends GuestStream {
  /** Resolves when the container's output ended (it exited) or on detach. */
  readonly ended: Promise<'ended' | 'detached'>;
  private finish!: (how: 'ended' | 'detached') => void;

  constructor(
    host: StreamHost,
    streamId: number,
    readonly container: string,
    tty: boolean,
    withStdin: boolean,
  ) {
    super(host, streamId, tty, withStdin);
    this.ended = new Promise((resolve) => (this.finish = resolve));
  }

  protected override outputEnded(): void {
    this.host.forgetStream(this.streamId);
    this.finish('ended');
  }

  override fail(err: Error): void {
    super.fail(err);
    this.finish('ended');
  }

  async resize(rows: number, cols: number): Promise<void> {
    await this.host.streamRequest('resize', { id: this.container, rows, cols });
  }

  /** Stops relaying; the container goes on. */
  async detach(): Promise<void> {
    this.host.forgetStream(this.streamId);
    this.finish('detached');
    this.endOutputs();
    await this.host.streamRequest('detach', { stream: this.streamId });
  }
}
