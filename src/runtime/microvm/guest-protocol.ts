/**
 * The protocol between the node agent and the guest agent of a micro-VM (src/runtime/microvm/guest/, a
 * small static C program that is PID 1 of the guest). This file is its single source of truth; the C
 * side mirrors the constants in guest/protocol.h (a unit test compares them).
 *
 * Transport: one byte stream (a virtio-serial port in the guest; QEMU's chardev unix socket on the host).
 * Either end may go away: the guest keeps its containers and answers a new connection from scratch.
 *
 * Frames: a 16-byte header, then `length` payload bytes. Integers are big-endian.
 *
 *     0  magic   "NGA1"
 *     4  type    u8   FrameType
 *     5  flags   u8   FLAG_END on stream frames, else 0
 *     6  zero    u16
 *     8  id      u32  request id (Request, Reply, Error) or stream id (Stdin, Stdout, Stderr, Window); 0 on events
 *    12  length  u32  <= MAX_PAYLOAD
 *
 * Request, Reply, Error and Event payloads are JSON objects in a strict subset: UTF-8, integers only (no
 * fractions: CPU limits travel as milli-CPUs, times as milliseconds), no duplicate keys, nesting depth at
 * most 8. Stream payloads are raw bytes.
 *
 * Requests: `{"op": <name>, ...}` with a nonzero id that is unique among the host's pending requests.
 * Each is answered by one Reply (JSON result) or one Error (`{"code": ErrorCode, "message"}`) with the
 * same id. Anything the guest cannot parse (bad header: it skips to the next magic that starts a header
 * with a known type, defined flags and zero reserved bytes; oversized frame: it
 * skips the payload; bad JSON; unknown op or frame type; wrong field types) gets an Error, with id 0 when
 * the frame had none, and the guest goes on serving. `hello` must come first on every connection.
 *
 * Streams: `exec` and `attach` open a stream whose id is their request id. The guest sends output as
 * Stdout/Stderr frames (a tty has only Stdout), then an empty frame with FLAG_END per output when it
 * ended. The host sends Stdin frames (FLAG_END closes stdin) and may have at most STDIN_WINDOW bytes of a
 * stream unacknowledged: the guest returns Window frames (payload: u32 count of bytes written to the
 * process). An exec ends with the `exec-exit` event; an attach when the container exits (FLAG_END
 * frames) or on `detach`. Attach output is live: when the host is away or too slow it is dropped (the
 * log file has everything). Exec output is never dropped while the host is connected.
 *
 * Events (unsolicited, id 0): `exit` (a container's main process ended; its log is complete and its exit
 * file written), `exec-exit`, `heartbeat` (every `heartbeatMs` given in hello).
 *
 * A session ends when the connection drops or a new hello arrives: the guest forgets that session's
 * attaches and hangs up its exec processes (stdin closed, output discarded); containers keep running.
 */

export const PROTOCOL_VERSION = 2;
/** What the agent writes to the guest's console once it serves and waits for a host (protocol.h AGENT_READY). */
export const AGENT_READY = 'ready, waiting for the host';
export const FRAME_MAGIC = Buffer.from('NGA1', 'latin1');
export const FRAME_HEADER_SIZE = 16;
/** Largest payload of any frame. */
export const MAX_PAYLOAD = 1024 * 1024;
/** Largest stream chunk either side puts in one frame. */
export const MAX_STREAM_CHUNK = 32 * 1024;
/** Unacknowledged stdin bytes the host may have in flight per stream. */
export const STDIN_WINDOW = 256 * 1024;
export const JSON_MAX_DEPTH = 8;
export const MAX_ATTACHES = 8;

export const FrameType = {
  Request: 1,
  Reply: 2,
  Error: 3,
  Event: 4,
  Stdin: 5,
  Stdout: 6,
  Stderr: 7,
  Window: 8,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

export const FLAG_END = 1;

export interface Frame {
  type: number;
  flags: number;
  id: number;
  payload: Buffer;
}

/** One frame on the wire. Throws for a payload over MAX_PAYLOAD. */
export function encodeFrame(type: number, id: number, payload: Buffer = Buffer.alloc(0), flags = 0): Buffer {
  if (payload.length > MAX_PAYLOAD) throw new RangeError(`frame payload of ${payload.length} bytes is over ${MAX_PAYLOAD}`);
  const out = Buffer.allocUnsafe(FRAME_HEADER_SIZE + payload.length);
  FRAME_MAGIC.copy(out, 0);
  out.writeUInt8(type, 4);
  out.writeUInt8(flags, 5);
  out.writeUInt16BE(0, 6);
  out.writeUInt32BE(id >>> 0, 8);
  out.writeUInt32BE(payload.length, 12);
  payload.copy(out, FRAME_HEADER_SIZE);
  return out;
}

/** A request frame: `{"op": op, ...body}`. */
export function encodeRequest(id: number, op: string, body: object = {}): Buffer {
  return encodeFrame(FrameType.Request, id, Buffer.from(JSON.stringify({ op, ...body }), 'utf8'));
}

/** Stream data cut into MAX_STREAM_CHUNK frames; `end` marks the last one (an empty frame when no data). */
export function encodeStream(type: number, id: number, data: Buffer, end = false): Buffer[] {
  const frames: Buffer[] = [];
  for (let off = 0; off < data.length; off += MAX_STREAM_CHUNK) {
    const chunk = data.subarray(off, off + MAX_STREAM_CHUNK);
    const last = off + MAX_STREAM_CHUNK >= data.length;
    frames.push(encodeFrame(type, id, chunk, last && end ? FLAG_END : 0));
  }
  if (frames.length === 0 && end) frames.push(encodeFrame(type, id, Buffer.alloc(0), FLAG_END));
  return frames;
}

const MAX_FRAME_TYPE = 8;

/** A header whose magic is followed by a known type, defined flags and zero reserved bytes. */
function saneHeader(b: Buffer, pos: number): boolean {
  const type = b.readUInt8(pos + 4);
  return type >= 1 && type <= MAX_FRAME_TYPE && (b.readUInt8(pos + 5) & ~FLAG_END) === 0 && b.readUInt16BE(pos + 6) === 0;
}

/** What the decoder could not read; decoding goes on after it, as in the guest. */
export interface FrameProblem {
  kind: 'bad-magic' | 'too-large';
  /** The frame's id when the header was readable. */
  id?: number;
  message: string;
}

/**
 * Splits a byte stream into frames, whatever the read boundaries. Garbage is skipped up to the next magic
 * that starts a sane header (one problem reported per run of garbage); an oversized frame's payload is
 * skipped.
 */
export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);
  private skip = 0;
  private resyncing = false;

  constructor(private readonly onProblem: (p: FrameProblem) => void = () => {}) {}

  push(chunk: Buffer): Frame[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const frames: Frame[] = [];
    let pos = 0;
    for (;;) {
      const avail = this.buf.length - pos;
      if (this.skip > 0) {
        const n = Math.min(avail, this.skip);
        pos += n;
        this.skip -= n;
        if (this.skip > 0) break;
        continue;
      }
      const magic = avail >= 4 && this.buf.subarray(pos, pos + 4).equals(FRAME_MAGIC);
      if ((avail >= 4 && !magic) || (avail >= 8 && !saneHeader(this.buf, pos))) {
        // Garbage: skip to the next magic (reported once per run of garbage).
        if (!this.resyncing) this.onProblem({ kind: 'bad-magic', message: 'bad frame header: skipping to the next frame' });
        this.resyncing = true;
        const at = this.buf.indexOf(FRAME_MAGIC, magic ? pos + 1 : pos);
        if (at < 0) {
          pos += Math.max(0, avail - 3);
          break;
        }
        pos = at;
        continue;
      }
      if (avail < FRAME_HEADER_SIZE) break;
      this.resyncing = false;
      const id = this.buf.readUInt32BE(pos + 8);
      const len = this.buf.readUInt32BE(pos + 12);
      if (len > MAX_PAYLOAD) {
        this.onProblem({ kind: 'too-large', id, message: `frame of ${len} bytes is over ${MAX_PAYLOAD}` });
        pos += FRAME_HEADER_SIZE;
        this.skip = len;
        continue;
      }
      if (avail < FRAME_HEADER_SIZE + len) break;
      frames.push({
        type: this.buf.readUInt8(pos + 4),
        flags: this.buf.readUInt8(pos + 5),
        id,
        // a copy: the decoder's buffer is reused
        payload: Buffer.from(this.buf.subarray(pos + FRAME_HEADER_SIZE, pos + FRAME_HEADER_SIZE + len)),
      });
      pos += FRAME_HEADER_SIZE + len;
    }
    this.buf = pos >= this.buf.length ? Buffer.alloc(0) : Buffer.from(this.buf.subarray(pos));
    return frames;
  }

  /** Bytes held while waiting for the rest of a frame. */
  get buffered(): number {
    return this.buf.length;
  }
}

/** The error codes the guest uses (a subset of lib/errors' ErrorCode). */
export type GuestErrorCode = 'Invalid' | 'NotFound' | 'Conflict' | 'AlreadyExists' | 'Unavailable' | 'Internal';

export interface GuestError {
  code: GuestErrorCode;
  message: string;
}

// ---- requests ----

export interface HelloRequest {
  version: number;
  /** The host's wall clock; the guest (no RTC) sets its clock from it when it is init. */
  timeMs?: number;
  /** Send a heartbeat event this often (0: none). */
  heartbeatMs?: number;
}

export interface HelloReply {
  version: number;
  /** Random per guest agent start: the same bootId after a reconnect means the containers are still there. */
  bootId: string;
  /** Random per hello. */
  session: string;
  pid: number;
  timeMs: number;
  containers: number;
}

/** The five capability sets to keep, by name (CAP_NET_ADMIN, net_admin) or number. */
export interface CapabilitySets {
  bounding?: (string | number)[];
  effective?: (string | number)[];
  permitted?: (string | number)[];
  inheritable?: (string | number)[];
  ambient?: (string | number)[];
}

/** Who a process runs as; left out in exec: the container's. */
export interface ProcessIdentity {
  uid?: number;
  gid?: number;
  /** Supplementary group ids. */
  groups?: number[];
  /** Every set listed is replaced (a set left out is empty); no `capabilities` at all keeps every capability. */
  capabilities?: CapabilitySets;
  noNewPrivs?: boolean;
}

export interface GuestMount {
  type?: 'bind' | 'tmpfs';
  /** A path in the guest (under the shared directory) for a bind. */
  source?: string;
  destination: string;
  readOnly?: boolean;
}

export interface CreateRequest extends ProcessIdentity {
  /** 1..64 of [A-Za-z0-9_.-]; also the name of its cgroup. */
  id: string;
  /** The container's root directory in the guest (the host-made overlay, shared into the guest). */
  rootfs: string;
  argv: string[];
  env?: string[];
  /** Made when missing. Default "/". */
  cwd?: string;
  tty?: boolean;
  /** Keep stdin open for attach. */
  stdin?: boolean;
  readOnly?: boolean;
  /** Mask /proc/kcore and friends, read-only /proc/sys (default true). */
  maskKernelPaths?: boolean;
  mounts?: GuestMount[];
  limits?: { memoryBytes?: number; cpuMillis?: number; pids?: number };
  /** k8s-file log written by the guest (conmon's format). */
  logPath: string;
  /** Written with the exit code (decimal, like conmon's exit file) once the log is complete. */
  exitPath: string;
  /** Created (empty) before the exit file when the container was OOM-killed. */
  oomPath?: string;
  rows?: number;
  cols?: number;
}

export interface ExecRequest extends ProcessIdentity {
  /** The container. */
  id: string;
  argv: string[];
  /** The whole environment (the host merges the container's and the exec's). */
  env?: string[];
  cwd?: string;
  tty?: boolean;
  stdin?: boolean;
  rows?: number;
  cols?: number;
}

export interface NetworkRequest {
  /** Default eth0. */
  interface?: string;
  /** The interface's MAC (a guest resumed from a template has the template's until told). */
  mac?: string;
  address?: string;
  prefixLength?: number;
  gateway?: string;
  mtu?: number;
  hostname?: string;
}

// ---- replies and events ----

export type GuestContainerStatus = 'created' | 'running' | 'exited';

export interface GuestContainerState {
  id: string;
  status: GuestContainerStatus;
  pid?: number;
  exitCode?: number;
  createdAtMs: number;
  startedAtMs?: number;
  finishedAtMs?: number;
  oomKilled: boolean;
  tty: boolean;
}

export interface GuestContainerStats {
  id: string;
  /** Absent without cgroups. */
  cpuUsageNs?: number;
  memoryBytes?: number;
  memoryLimitBytes?: number;
  pids?: number;
  pidsLimit?: number;
}

export interface StatsReply {
  containers: GuestContainerStats[];
  guest: { memoryTotalBytes: number; memoryAvailableBytes: number };
}

export interface ExitEvent {
  event: 'exit';
  id: string;
  exitCode: number;
  oomKilled: boolean;
  finishedAtMs: number;
}

export interface ExecExitEvent {
  event: 'exec-exit';
  stream: number;
  id: string;
  exitCode: number;
}

export interface HeartbeatEvent {
  event: 'heartbeat';
  timeMs: number;
}

export type GuestEvent = ExitEvent | ExecExitEvent | HeartbeatEvent;

/** Parses a JSON payload that must be an object. */
export function parsePayload(payload: Buffer): Record<string, unknown> {
  const v: unknown = JSON.parse(payload.toString('utf8'));
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new SyntaxError('payload is not a JSON object');
  return v as Record<string, unknown>;
}
