/**
 * Two connected in-memory streams (Node 22's stream.duplexPair, which Node 20 lacks): what one side
 * writes the other reads; ending one ends the other's reading; destroying one destroys both. A server
 * and a client in one process talk over it without a socket, so nothing outside the process can
 * crowd the connection out.
 */
import { Duplex } from 'node:stream';

class Side extends Duplex {
  peer!: Side;

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    this.peer.push(chunk);
    done();
  }

  override _final(done: (err?: Error | null) => void): void {
    this.peer.push(null);
    done();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    if (!this.peer.destroyed) this.peer.destroy();
    done(err);
  }
}

export function duplexPair(): [Duplex, Duplex] {
  const a = new Side();
  const b = new Side();
  a.peer = b;
  b.peer = a;
  return [a, b];
}
