/**
 * A SOCK_SEQPACKET client for Node, which has none: a small python3 relay (python3 is a set-up
 * dependency) connects to the socket and frames each received packet as [4-byte big-endian length][data]
 * on its stdout; what we write to its stdin goes out one packet per chunk (at most 8192 bytes), and
 * closing its stdin shuts the socket's write side. The first, empty frame says it is connected.
 * The socket path is taken relative to `cwd`, so long directories do not hit the 108-byte limit of
 * unix socket paths.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { EventEmitter } from 'node:events';

const RELAY = String.raw`
import os, select, socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
try:
    s.connect(sys.argv[1])
except OSError as e:
    sys.stderr.write(str(e)); sys.exit(1)
out = sys.stdout.buffer
def frame(b):
    out.write(struct.pack('>I', len(b)) + b); out.flush()
frame(b'')
inputs = [s, 0]
while True:
    ready, _, _ = select.select(inputs, [], [])
    if s in ready:
        b = s.recv(65536)
        if not b: break
        frame(b)
    if 0 in ready:
        b = os.read(0, 8192)
        if b: s.send(b)
        else:
            s.shutdown(socket.SHUT_WR); inputs.remove(0)
`;

/** A connected seqpacket socket: 'connect', 'data' (one packet), 'end', 'error' events. */
export class SeqpacketSocket extends EventEmitter {
  private child: ChildProcessWithoutNullStreams | undefined;
  private pending: Buffer = Buffer.alloc(0);
  private connected = false;

  connect(socketPath: string, cwd: string, onConnect?: () => void): void {
    if (onConnect) this.once('connect', onConnect);
    const child = spawn('python3', ['-c', RELAY, socketPath], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.stdout.on('data', (b: Buffer) => this.onFrames(b));
    child.stdin.on('error', () => {});
    child.on('error', (err) => this.emit('error', err));
    child.on('close', (code) => {
      if (!this.connected) this.emit('error', new Error(stderr.trim() || `attach relay exited with ${code}`));
      else this.emit('end');
    });
  }

  private onFrames(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    while (this.pending.length >= 4) {
      const len = this.pending.readUInt32BE(0);
      if (this.pending.length < 4 + len) return;
      const packet = this.pending.subarray(4, 4 + len);
      this.pending = this.pending.subarray(4 + len);
      if (!this.connected) {
        this.connected = true;
        this.emit('connect');
      } else {
        this.emit('data', packet);
      }
    }
  }

  write(buf: Buffer): void {
    this.child?.stdin.write(buf);
  }

  end(): void {
    this.child?.stdin.end();
  }

  destroy(): void {
    this.child?.kill('SIGKILL');
    this.child = undefined;
  }
}
