import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { duplexPair } from '../../lib/duplex-pair.js';
import { isNubisError } from '../../lib/errors.js';
import { GuestClient } from './guest-client.js';
import {
  encodeFrame,
  encodeRequest,
  encodeStream,
  FLAG_END,
  FRAME_HEADER_SIZE,
  FRAME_MAGIC,
  FrameDecoder,
  FrameType,
  JSON_MAX_DEPTH,
  MAX_ATTACHES,
  MAX_PAYLOAD,
  MAX_STREAM_CHUNK,
  PROTOCOL_VERSION,
  AGENT_READY,
  STDIN_WINDOW,
  type Frame,
  type FrameProblem,
} from './guest-protocol.js';

const HEADER = readFileSync(path.join(import.meta.dirname, 'guest', 'protocol.h'), 'utf8');

/** The value of a #define or enum constant in protocol.h, evaluated (they are small expressions). */
function cConstant(name: string): number | string {
  const m = new RegExp(`(?:#define ${name}\\s+(.+)|\\b${name} = (\\d+))`).exec(HEADER);
  assert.ok(m, `${name} is in protocol.h`);
  const expr = (m[1] ?? m[2]!).replace(/\/\*.*$/, '').trim();
  if (expr.startsWith('"')) return JSON.parse(expr) as string;
  assert.match(expr, /^[\d\s()*+]+$/, `${name} is a plain number expression`);
  return Function(`return (${expr})`)() as number;
}

describe('guest protocol constants', () => {
  it('match the C header', () => {
    assert.equal(cConstant('PROTOCOL_VERSION'), PROTOCOL_VERSION);
    assert.equal(cConstant('AGENT_READY'), AGENT_READY);
    assert.equal(cConstant('FRAME_MAGIC'), FRAME_MAGIC.toString('latin1'));
    assert.equal(cConstant('FRAME_HEADER_SIZE'), FRAME_HEADER_SIZE);
    assert.equal(cConstant('MAX_PAYLOAD'), MAX_PAYLOAD);
    assert.equal(cConstant('MAX_STREAM_CHUNK'), MAX_STREAM_CHUNK);
    assert.equal(cConstant('STDIN_WINDOW'), STDIN_WINDOW);
    assert.equal(cConstant('JSON_MAX_DEPTH'), JSON_MAX_DEPTH);
    assert.equal(cConstant('MAX_ATTACHES'), MAX_ATTACHES);
    assert.equal(cConstant('FLAG_END'), FLAG_END);
    for (const [name, value] of Object.entries(FrameType)) {
      assert.equal(cConstant(`FRAME_${name.toUpperCase()}`), value, name);
    }
  });
});

describe('FrameDecoder', () => {
  const frames = [
    encodeRequest(1, 'hello', { version: 1 }),
    encodeFrame(FrameType.Stdout, 7, Buffer.from('out')),
    encodeFrame(FrameType.Stderr, 7, Buffer.alloc(0), FLAG_END),
  ];
  const wire = Buffer.concat(frames);

  it('reads frames whatever the read boundaries', () => {
    for (const step of [1, 3, 15, 16, 17, wire.length]) {
      const d = new FrameDecoder();
      const got: Frame[] = [];
      for (let i = 0; i < wire.length; i += step) got.push(...d.push(wire.subarray(i, i + step)));
      assert.equal(got.length, 3, `step ${step}`);
      assert.deepEqual(JSON.parse(got[0]!.payload.toString()), { op: 'hello', version: 1 });
      assert.equal(got[0]!.id, 1);
      assert.equal(got[1]!.payload.toString(), 'out');
      assert.equal(got[2]!.flags, FLAG_END);
      assert.equal(got[2]!.payload.length, 0);
      assert.equal(d.buffered, 0);
    }
  });

  it('skips garbage to the next magic, reporting it once', () => {
    const problems: FrameProblem[] = [];
    const d = new FrameDecoder((p) => problems.push(p));
    // a magic inside the garbage whose header makes no sense does not fool it
    const garbage = Buffer.concat([Buffer.from('this is not a frame at all, NGA but not '), FRAME_MAGIC, Buffer.from([0xee, 0, 0, 0, 1, 2])]);
    const got = [...d.push(Buffer.concat([garbage.subarray(0, 20)])), ...d.push(Buffer.concat([garbage.subarray(20), wire]))];
    assert.equal(got.length, 3);
    assert.equal(problems.length, 1);
    assert.equal(problems[0]!.kind, 'bad-magic');
  });

  it('skips an oversized frame, even when its payload comes in pieces', () => {
    const problems: FrameProblem[] = [];
    const d = new FrameDecoder((p) => problems.push(p));
    const header = Buffer.alloc(FRAME_HEADER_SIZE);
    FRAME_MAGIC.copy(header);
    header.writeUInt8(FrameType.Request, 4);
    header.writeUInt32BE(9, 8);
    header.writeUInt32BE(MAX_PAYLOAD + 10, 12);
    const body = Buffer.alloc(MAX_PAYLOAD + 10, 0x41);
    const got = [
      ...d.push(header),
      ...d.push(body.subarray(0, 1000)),
      ...d.push(body.subarray(1000)),
      ...d.push(frames[1]!),
    ];
    assert.deepEqual(problems.map((p) => [p.kind, p.id]), [['too-large', 9]]);
    assert.equal(got.length, 1);
    assert.equal(got[0]!.payload.toString(), 'out');
  });

  it('cuts big stream data into chunks with the end flag on the last only', () => {
    const data = Buffer.alloc(MAX_STREAM_CHUNK * 3 + 5, 7);
    const out = encodeStream(FrameType.Stdin, 3, data, true);
    assert.equal(out.length, 4);
    const d = new FrameDecoder();
    const got = d.push(Buffer.concat(out));
    assert.deepEqual(got.map((f) => f.flags), [0, 0, 0, FLAG_END]);
    assert.deepEqual(Buffer.concat(got.map((f) => f.payload)), data);
    assert.deepEqual(encodeStream(FrameType.Stdin, 3, Buffer.alloc(0), true).length, 1);
    assert.deepEqual(encodeStream(FrameType.Stdin, 3, Buffer.alloc(0), false).length, 0);
  });

  it('refuses to encode a payload over the limit', () => {
    assert.throws(() => encodeFrame(FrameType.Stdin, 1, Buffer.alloc(MAX_PAYLOAD + 1)), RangeError);
  });
});

/** A scripted guest on the other end of an in-memory pipe. */
function fakeGuest(answer: (f: Frame, send: (b: Buffer) => void) => void) {
  const [host, guest] = duplexPair();
  const d = new FrameDecoder();
  const received: Frame[] = [];
  const send = (b: Buffer) => guest.write(b);
  guest.on('data', (b: Buffer) => {
    for (const f of d.push(b)) {
      received.push(f);
      answer(f, send);
    }
  });
  return { host, guest, received, send };
}

const reply = (id: number, body: object, type: number = FrameType.Reply) => encodeFrame(type, id, Buffer.from(JSON.stringify(body)));

function helloing(rest: (f: Frame, body: Record<string, unknown>, send: (b: Buffer) => void) => void) {
  return fakeGuest((f, send) => {
    if (f.type !== FrameType.Request) return rest(f, {}, send);
    const body = JSON.parse(f.payload.toString()) as Record<string, unknown>;
    if (body.op === 'hello') send(reply(f.id, { version: 1, bootId: 'b', session: 's', pid: 1, timeMs: 0, containers: 0 }));
    else rest(f, body, send);
  });
}

describe('GuestClient', () => {
  it('matches replies by id, maps errors, times out and aborts', async () => {
    const g = helloing((f, body, send) => {
      if (body.op === 'state') send(reply(f.id, { code: 'NotFound', message: 'no container x' }, FrameType.Error));
      if (body.op === 'list') setTimeout(() => send(reply(f.id, { containers: [] })), 20);
      if (body.op === 'ping') send(reply(f.id, { timeMs: 1 }));
      // "start" is never answered
    });
    const c = await GuestClient.open({ connect: async () => g.host, heartbeatIntervalMs: 0 });
    const hello = JSON.parse(g.received[0]!.payload.toString()) as { timeMs: number };
    assert.ok(Math.abs(hello.timeMs - Date.now()) < 5000, 'hello carries the host time');
    const [list, ping] = await Promise.all([c.list(), c.request('ping')]);
    assert.deepEqual(list, []);
    assert.equal(ping.timeMs, 1);
    await assert.rejects(c.state('x'), (e) => isNubisError(e, 'NotFound') && /no container x/.test(e.message));
    await assert.rejects(c.start('x', { timeoutMs: 30 }), (e) => isNubisError(e, 'Timeout'));
    const ac = new AbortController();
    const p = c.start('x', { signal: ac.signal });
    ac.abort(new Error('stop'));
    await assert.rejects(p, /stop/);
    c.close();
  });

  it('fails pending requests and streams when the connection drops', async () => {
    const g = helloing((f, body, send) => {
      if (body.op === 'exec') send(reply(f.id, { pid: 42 }));
    });
    const c = await GuestClient.open({ connect: async () => g.host, heartbeatIntervalMs: 0 });
    const proc = await c.exec({ id: 'x', argv: ['sleep', '9'] });
    const pending = c.start('x');
    let disconnected = false;
    c.on('disconnect', () => (disconnected = true));
    g.guest.destroy();
    await assert.rejects(pending, (e) => isNubisError(e, 'Unavailable'));
    await assert.rejects(proc.exitCode, (e) => isNubisError(e, 'Unavailable'));
    assert.ok(disconnected);
    c.close();
  });

  it('keeps stdin within the window and resumes on Window frames', async () => {
    let stdinBytes = 0;
    let ended = false;
    const g = helloing((f, body, send) => {
      if (body.op === 'exec') send(reply(f.id, { pid: 42 }));
      if (f.type === FrameType.Stdin) {
        stdinBytes += f.payload.length;
        if (f.flags & FLAG_END) ended = true;
      }
    });
    const c = await GuestClient.open({ connect: async () => g.host, heartbeatIntervalMs: 0 });
    const proc = await c.exec({ id: 'x', argv: ['cat'], stdin: true });
    const total = STDIN_WINDOW * 2 + 100;
    proc.stdin!.end(Buffer.alloc(total, 1));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(stdinBytes, STDIN_WINDOW, 'stops at the window');
    assert.ok(!ended);
    const grant = Buffer.alloc(4);
    grant.writeUInt32BE(STDIN_WINDOW);
    g.send(encodeFrame(FrameType.Window, proc.streamId, grant));
    g.send(encodeFrame(FrameType.Window, proc.streamId, grant));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(stdinBytes, total);
    assert.ok(ended, 'end of stdin is sent after the data');
    // output, end flags and the exit event
    g.send(encodeFrame(FrameType.Stdout, proc.streamId, Buffer.from('hi')));
    g.send(encodeFrame(FrameType.Stdout, proc.streamId, Buffer.alloc(0), FLAG_END));
    g.send(encodeFrame(FrameType.Stderr, proc.streamId, Buffer.alloc(0), FLAG_END));
    g.send(reply(0, { event: 'exec-exit', stream: proc.streamId, id: 'x', exitCode: 3 }, FrameType.Event));
    const out: Buffer[] = [];
    for await (const b of proc.stdout) out.push(b as Buffer);
    assert.equal(Buffer.concat(out).toString(), 'hi');
    assert.equal(await proc.exitCode, 3);
    c.close();
  });

  it('declares the guest dead after missed heartbeats, and alive again', async () => {
    let answer = true;
    const g = helloing((f, body, send) => {
      if (body.op === 'ping' && answer) send(reply(f.id, { timeMs: 1 }));
    });
    const c = await GuestClient.open({ connect: async () => g.host, heartbeatIntervalMs: 20, heartbeatMisses: 3 });
    const events: string[] = [];
    c.on('dead', () => events.push('dead'));
    c.on('alive', () => events.push('alive'));
    await new Promise((r) => setTimeout(r, 80));
    assert.deepEqual(events, []);
    answer = false;
    await new Promise((r) => setTimeout(r, 150));
    assert.deepEqual(events, ['dead']);
    answer = true;
    await new Promise((r) => setTimeout(r, 80));
    assert.deepEqual(events, ['dead', 'alive']);
    c.close();
  });
});
