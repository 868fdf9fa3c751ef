/**
 * exec and attach over Kubernetes' channel protocol (the WebSocket subprotocols v1-v5.channel.k8s.io
 * that kubectl and the client libraries speak): every message starts with a channel byte, 0 stdin,
 * 1 stdout, 2 stderr, 3 the final Status (JSON), 4 terminal size ({"Width":80,"Height":24}), and in v5
 * 255 followed by a channel number: that stream is closed (stdin's end).
 */
import { PassThrough } from 'node:stream';
import WebSocket from 'ws';
import type { ExecProcess, RuntimeDriver } from '../runtime/driver.js';

/** How long a tty exec waits for the client's terminal size before it starts without one. */
const FIRST_SIZE_WAIT_MS = 250;

export const CHANNEL_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'];

/** An error answered as a Status with this HTTP code and reason. */
export class HttpError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** A boolean query parameter, in every spelling Go's strconv.ParseBool takes (Python's client sends "True"). */
export function bool(q: URLSearchParams, k: string): boolean {
  return ['1', 't', 'T', 'true', 'TRUE', 'True'].includes(q.get(k) ?? '');
}

/** The terminal size of a resize message (channel 4), or undefined when it is none. */
function terminalSize(body: Buffer): { rows: number; columns: number } | undefined {
  try {
    const m = JSON.parse(body.toString()) as { Width?: unknown; Height?: unknown };
    const ok = (n: unknown): n is number => Number.isInteger(n) && (n as number) > 0 && (n as number) < 10_000;
    return ok(m.Width) && ok(m.Height) ? { rows: m.Height, columns: m.Width } : undefined;
  } catch {
    return undefined;
  }
}

/** The client's side of one channel-protocol WebSocket: what it sends in, and how to answer. */
class ChannelSocket {
  readonly stdin = new PassThrough();
  /** The last terminal size the client sent (kubectl sends one before the process runs). */
  size: { rows: number; columns: number } | undefined;
  #onResize: ((rows: number, columns: number) => void) | undefined;

  /** `stdin`: whether the client asked for stdin; what it sends on channel 0 otherwise is dropped. */
  constructor(
    private readonly ws: WebSocket,
    stdin: boolean,
  ) {
    const v5 = ws.protocol === 'v5.channel.k8s.io';
    if (!stdin) this.stdin.end();
    ws.on('message', (data: Buffer) => {
      const buf = Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer);
      if (buf.length === 0) return;
      if (buf[0] === 0) {
        if (!this.stdin.writableEnded) this.stdin.write(buf.subarray(1));
      } else if (buf[0] === 255 && v5 && buf[1] === 0) {
        this.stdin.end();
      } else if (buf[0] === 4) {
        this.size = terminalSize(buf.subarray(1)) ?? this.size;
        if (this.size) this.#onResize?.(this.size.rows, this.size.columns);
      }
    });
  }

  /** The terminal size the client sends first, waiting up to `ms` for it (kubectl sends it as it connects). */
  async firstSize(ms: number): Promise<{ rows: number; columns: number } | undefined> {
    const deadline = Date.now() + ms;
    while (!this.size && Date.now() < deadline && this.ws.readyState === WebSocket.OPEN) await new Promise((r) => setTimeout(r, 5));
    return this.size;
  }

  /** Calls `fn` with the current size now (if any) and with every later one. */
  onResize(fn: (rows: number, columns: number) => void): void {
    this.#onResize = fn;
    if (this.size) fn(this.size.rows, this.size.columns);
  }

  send(channel: number, data: Buffer | string): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(Buffer.concat([Buffer.from([channel]), Buffer.isBuffer(data) ? data : Buffer.from(data)]));
  }

  /** A writable stream whose data goes out on `channel`. */
  output(channel: number): NodeJS.WritableStream {
    const out = new PassThrough();
    out.on('data', (chunk: Buffer) => this.send(channel, chunk));
    return out;
  }

  finish(status: Record<string, unknown>): void {
    this.send(3, JSON.stringify({ metadata: {}, ...status }));
    this.ws.close(1000);
  }

  fail(err: unknown): void {
    const e = err as Error;
    this.finish({ status: 'Failure', message: e.message, reason: err instanceof HttpError ? err.reason : 'InternalError', code: err instanceof HttpError ? err.code : 500 });
  }

  onClose(fn: () => void): void {
    this.ws.on('close', fn);
  }
}

export interface Target {
  id: string;
  driver: RuntimeDriver;
}

/** Runs `command` in the container and relays its stdio; the Status carries a non-zero exit code. */
export async function serveExec(ws: WebSocket, target: () => Promise<Target>, q: URLSearchParams): Promise<void> {
  const ch = new ChannelSocket(ws, bool(q, 'stdin'));
  try {
    const { id, driver } = await target();
    const command = q.getAll('command');
    if (command.length === 0) throw new HttpError(400, 'BadRequest', 'you must specify at least one command for the container');
    const tty = bool(q, 'tty');
    let proc: ExecProcess | undefined;
    ch.onClose(() => proc?.kill('SIGKILL'));
    const outputs: Promise<void>[] = [];
    // A terminal starts at the client's size, so that what runs first (stty, a full-screen program) sees it.
    const size = tty ? await ch.firstSize(FIRST_SIZE_WAIT_MS) : undefined;
    const code = await driver.exec(id, {
      command,
      tty,
      ...(size ? { size } : {}),
      stdio: [bool(q, 'stdin') ? 'pipe' : 'ignore', 'pipe', tty ? 'ignore' : 'pipe'],
      onStart: (p) => {
        proc = p;
        if (p.resize) ch.onResize((rows, columns) => p.resize!(rows, columns));
        if (p.stdin) {
          p.stdin.on('error', () => {});
          ch.stdin.pipe(p.stdin);
        }
        for (const [stream, n] of [[p.stdout, 1], [p.stderr, 2]] as const) {
          if (!stream) continue;
          outputs.push(
            new Promise<void>((resolve) => {
              stream.on('data', (chunk: Buffer) => ch.send(n, chunk));
              stream.on('end', resolve);
              stream.on('close', resolve);
              stream.on('error', () => resolve());
            }),
          );
        }
      },
    });
    await Promise.all(outputs);
    if (code === 0) ch.finish({ status: 'Success' });
    else {
      ch.finish({
        status: 'Failure',
        message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${code}`,
        reason: 'NonZeroExitCode',
        details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
      });
    }
  } catch (err) {
    ch.fail(err);
  }
}

/**
 * Connects to the container's main process: its output from now on, its stdin when the container keeps
 * one open (`stdin: true`) and the client asks, its terminal size. Closing the socket detaches and leaves
 * the container running; the container's end ends the session with Success.
 */
export async function serveAttach(ws: WebSocket, target: () => Promise<Target & { stdin: boolean; tty: boolean }>, q: URLSearchParams): Promise<void> {
  const ch = new ChannelSocket(ws, bool(q, 'stdin'));
  try {
    const { id, driver, stdin, tty } = await target();
    if (bool(q, 'stdin') && !stdin) throw new HttpError(400, 'BadRequest', 'the container was not started with stdin: true, so there is no stdin to attach to');
    const session = await driver.attach(id, {
      ...(bool(q, 'stdin') ? { stdin: ch.stdin } : {}),
      stdout: bool(q, 'stdout') || tty ? ch.output(1) : new PassThrough().resume(),
      stderr: bool(q, 'stderr') && !tty ? ch.output(2) : new PassThrough().resume(),
      // kubectl has no detach keys: the user detaches by closing the connection.
      detachKeys: new Uint8Array(0),
    });
    if (tty) ch.onResize((rows, columns) => session.resize(rows, columns));
    ch.onClose(() => session.detach());
    const end = await session.done;
    if (end === 'ended') ch.finish({ status: 'Success' });
  } catch (err) {
    ch.fail(err);
  }
}
