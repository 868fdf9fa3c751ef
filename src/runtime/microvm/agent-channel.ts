/**
 * The host end of the guest agent's virtio-serial port: QEMU listens on a unix socket and relays bytes to
 * and from the guest's port. `connectAgentSocket` connects (retrying while QEMU starts); `AgentChannel`
 * reads and writes lines on it, and drives the shell loop of guest-init.ts (tests, benchmarks).
 */
import net from 'node:net';
import { errno, timeout, unavailable } from '../../lib/errors.js';

/** A line-oriented connection to the guest's agent port. */
export class AgentChannel {
  private buffered = '';
  private readonly lines: string[] = [];
  private waiter?: () => void;
  private ended = false;

  private constructor(readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => {
      this.buffered += text;
      let nl: number;
      while ((nl = this.buffered.indexOf('\n')) >= 0) {
        this.lines.push(this.buffered.slice(0, nl).replace(/\r$/, ''));
        this.buffered = this.buffered.slice(nl + 1);
      }
      this.wake();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  static async connect(socketPath: string, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<AgentChannel> {
    return new AgentChannel(await connectAgentSocket(socketPath, opts));
  }

  /** Runs `command` through the shell loop: its output lines and exit code. */
  async run(command: string, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<{ code: number; lines: string[] }> {
    this.send(command);
    const lines: string[] = [];
    for (;;) {
      const line = await this.readLine(opts);
      const done = /^DONE (\d+)$/.exec(line);
      if (done) return { code: Number(done[1]), lines };
      lines.push(line);
    }
  }

  /** Sends one line (a newline is added). */
  send(line: string): void {
    this.socket.write(line + '\n');
  }

  /**
   * The next line; fails with Timeout after `timeoutMs`, with Unavailable when the guest side closes.
   * Lines before a match are consumed when `match` is given.
   */
  async readLine(opts: { timeoutMs?: number; signal?: AbortSignal; match?: (line: string) => boolean } = {}): Promise<string> {
    const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
    for (;;) {
      while (this.lines.length > 0) {
        const line = this.lines.shift()!;
        if (!opts.match || opts.match(line)) return line;
      }
      if (this.ended) throw unavailable('the agent channel closed');
      opts.signal?.throwIfAborted();
      const left = deadline - Date.now();
      if (left <= 0) throw timeout(`no line from the guest agent in ${opts.timeoutMs ?? 10_000} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 100));
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = undefined;
    }
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    this.waiter?.();
  }
}

/** Connects to the agent socket `socketPath`, retrying while it is missing or refused, for up to `timeoutMs`. */
export async function connectAgentSocket(socketPath: string, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<net.Socket> {
  const ms = opts.timeoutMs ?? 10_000;
  const deadline = Date.now() + ms;
  for (;;) {
    opts.signal?.throwIfAborted();
    try {
      return await connectOnce(socketPath);
    } catch (err) {
      const code = errno(err);
      if (code !== 'ENOENT' && code !== 'ECONNREFUSED') throw unavailable(`cannot connect to ${socketPath}: ${(err as Error).message}`, err);
      if (Date.now() > deadline) throw timeout(`nothing listens on ${socketPath} after ${ms} ms`, err);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

function connectOnce(socketPath: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.createConnection(socketPath);
    sock.once('connect', () => {
      sock.removeListener('error', reject);
      resolve(sock);
    });
    sock.once('error', reject);
  });
}
