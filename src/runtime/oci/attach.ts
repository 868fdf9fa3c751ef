/**
 * Attaching to a container's stdio through conmon's attach socket: a SOCK_SEQPACKET unix socket at
 * <bundle>/attach (Node's net module cannot speak seqpacket: see seqpacket-relay.ts).
 * Every packet conmon sends starts with one byte naming the stream (2 stdout, 3 stderr) followed by the
 * data; what we send is raw stdin. Closing our write side closes the container's stdin (conmon -i).
 * Terminal size goes through the ctl fifo in the bundle: "1 <rows> <columns>\n".
 * The socket path is given relative to the bundle dir, so long data dirs do not hit the 108-byte limit
 * of unix socket paths.
 */
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { internal } from '../../lib/errors.js';
import type { AttachEnd, AttachSession, AttachStreams } from '../driver.js';
import type { ContainerPaths } from './container-store.js';
import { SeqpacketSocket } from './seqpacket-relay.js';

const STDOUT = 2;
const STDERR = 3;
/** conmon reads at most this much per packet from an attach client. */
const MAX_PACKET = 8192;
/** ctrl-p ctrl-q, as Docker. */
export const DEFAULT_DETACH_KEYS = Uint8Array.from([0x10, 0x11]);

/**
 * Splits stdin into what goes to the container and a detach request: bytes that start the detach sequence
 * are held back until the sequence either completes (detach) or breaks (they are sent after all).
 */
export class DetachFilter {
  private held = 0;
  constructor(private readonly keys: Uint8Array) {}

  /** Returns the bytes to forward, and whether the detach sequence completed in this chunk. */
  push(chunk: Uint8Array): { forward: Buffer; detach: boolean } {
    if (this.keys.length === 0) return { forward: Buffer.from(chunk), detach: false };
    const out: number[] = [];
    for (const b of chunk) {
      if (b === this.keys[this.held]) {
        this.held++;
        if (this.held === this.keys.length) return { forward: Buffer.from(out), detach: true };
        continue;
      }
      for (let i = 0; i < this.held; i++) out.push(this.keys[i]!);
      this.held = 0;
      if (b === this.keys[0]) this.held = 1;
      else out.push(b);
    }
    return { forward: Buffer.from(out), detach: false };
  }
}

/** Connects to the attach socket of a container and relays stdio until its output ends or we detach. */
export function attachConmon(paths: ContainerPaths, streams: AttachStreams): Promise<AttachSession> {
  const sock = new SeqpacketSocket();
  return new Promise((resolveConnected, rejectConnected) => {
    let connected = false;
    let settle: (end: AttachEnd) => void = () => {};
    const done = new Promise<AttachEnd>((r) => (settle = r));
    const filter = new DetachFilter(streams.detachKeys ?? DEFAULT_DETACH_KEYS);
    const onStdin = (chunk: Buffer | string) => {
      const { forward, detach } = filter.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
      for (let off = 0; off < forward.length; off += MAX_PACKET) {
        const part = forward.subarray(off, off + MAX_PACKET);
        sock.write(part);
      }
      if (detach) finish('detached');
    };
    const onStdinEnd = () => sock.end();
    let finished = false;
    const finish = (end: AttachEnd) => {
      if (finished) return;
      finished = true;
      streams.stdin?.removeListener('data', onStdin);
      streams.stdin?.removeListener('end', onStdinEnd);
      streams.stdin?.pause();
      sock.destroy();
      settle(end);
    };
    sock.on('data', (buf: Buffer) => {
      if (buf.length < 1) return;
      const target = buf[0] === STDERR ? streams.stderr : buf[0] === STDOUT ? streams.stdout : undefined;
      target?.write(buf.subarray(1));
    });
    sock.on('end', () => finish('ended'));
    sock.on('error', (err: Error) => {
      if (!connected) rejectConnected(internal(`cannot attach to the container: ${err.message}`, err));
      finish('ended');
    });
    sock.connect('attach', paths.bundle, () => {
      connected = true;
      streams.stdin?.on('data', onStdin);
      streams.stdin?.on('end', onStdinEnd);
      streams.stdin?.resume();
      resolveConnected({
        resize: (rows, columns) => resizeTerminal(paths, rows, columns),
        detach: () => finish('detached'),
        done,
      });
    });
  });
}

/** Asks conmon to set the container terminal's size. */
export function resizeTerminal(paths: ContainerPaths, rows: number, columns: number): void {
  let fd: number | undefined;
  try {
    fd = openSync(paths.ctl, constants.O_WRONLY | constants.O_NONBLOCK);
    writeSync(fd, `1 ${Math.max(0, Math.min(1000, rows))} ${Math.max(0, Math.min(1000, columns))}\n`);
  } catch {
    // conmon is gone (the container exited): nothing to resize
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
