/**
 * exec and attach of micro-VM workloads: the contract's stdio (pipes handed to the caller, file
 * descriptors, the caller's own, or nothing) over the guest agent's streams. The host resolves what the
 * guest cannot: an exec's user name (in the container's root, mounted on the host) and its whole
 * environment (the container's, then the request's).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import type { AttachSession, AttachStreams, ExecRequest } from '../driver.js';
import { DEFAULT_DETACH_KEYS, DetachFilter } from '../oci/attach.js';
import { resolveUser } from '../oci/user.js';
import { signalNumber, type GuestClient } from './guest-client.js';

/** What an exec needs of the workload's record. */
export interface ExecTarget {
  id: string;
  env: string[];
  workdir: string;
  uid: number;
  gid: number;
  groups: number[];
}

/** KEY=VALUE lists merged in order, a later key replacing an earlier one in place. */
function mergeEnv(...lists: string[][]): string[] {
  const env = new Map<string, string>();
  for (const e of lists.flat()) {
    const eq = e.indexOf('=');
    if (eq > 0) env.set(e.slice(0, eq), e.slice(eq + 1));
  }
  return [...env].map(([k, v]) => `${k}=${v}`);
}

type Stdio = NonNullable<ExecRequest['stdio']>[number] | 'inherit' | undefined;

/** Where an output stream goes for a stdio choice other than 'pipe'. */
function sinkFor(choice: Stdio, own: Writable): Writable | undefined {
  if (choice === 'ignore') return undefined;
  if (typeof choice === 'number') return createWriteStream('', { fd: choice, autoClose: false });
  return own;
}

/** Runs an exec in the guest; resolves with its exit code. */
export async function guestExec(client: GuestClient, rec: ExecTarget, rootfs: string, req: ExecRequest): Promise<number> {
  const user = req.user !== undefined ? await resolveUser(rootfs, req.user) : { uid: rec.uid, gid: rec.gid, additionalGids: rec.groups };
  const [inChoice, outChoice, errChoice] = (req.stdio ?? ['inherit', 'inherit', 'inherit']) as Stdio[];
  const proc = await client.exec({
    id: rec.id,
    argv: req.command,
    env: mergeEnv(rec.env, req.tty ? ['TERM=xterm'] : [], req.env ?? []),
    cwd: req.workdir ?? rec.workdir,
    uid: user.uid,
    gid: user.gid,
    groups: user.additionalGids,
    tty: Boolean(req.tty),
    ...(req.tty && req.size ? { rows: req.size.rows, cols: req.size.columns } : {}),
    stdin: inChoice !== 'ignore',
  });
  const kill = (sig: NodeJS.Signals = 'SIGKILL') => void proc.kill(signalNumber(sig)).catch(() => {});
  const piped = (choice: Stdio) => choice === 'pipe';
  req.onStart?.({
    stdin: piped(inChoice) ? proc.stdin : null,
    stdout: piped(outChoice) ? proc.stdout : null,
    stderr: piped(errChoice) ? proc.stderr : null,
    kill,
    resize: (rows, columns) => void proc.resize(rows, columns).catch(() => {}),
  });
  relayOutput(proc.stdout, outChoice, process.stdout);
  if (proc.stderr) relayOutput(proc.stderr, errChoice, process.stderr);
  if (proc.stdin && !piped(inChoice)) {
    const source: Readable = typeof inChoice === 'number' ? createReadStream('', { fd: inChoice, autoClose: false }) : process.stdin;
    source.pipe(proc.stdin);
  }
  return proc.exitCode;
}

function relayOutput(stream: Readable, choice: Stdio, own: Writable): void {
  if (choice === 'pipe') return;
  const sink = sinkFor(choice, own);
  if (sink) stream.pipe(sink, { end: false });
  else stream.resume();
}

/** Relays a container's live output (and stdin, with detach keys) until it ends or the caller detaches. */
export async function guestAttach(client: GuestClient, id: string, streams: AttachStreams, opts: { keepStdinOpen?: boolean } = {}): Promise<AttachSession> {
  const a = await client.attach(id, { stdin: Boolean(streams.stdin) });
  a.stdout.pipe(streams.stdout, { end: false });
  a.stderr?.pipe(streams.stderr, { end: false });
  const detach = () => void a.detach().catch(() => {});
  if (streams.stdin && a.stdin) {
    const filter = new DetachFilter(streams.detachKeys ?? DEFAULT_DETACH_KEYS);
    const stdin = a.stdin;
    const onData = (chunk: Buffer | string) => {
      const { forward, detach: wants } = filter.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
      if (forward.length > 0) stdin.write(forward);
      if (wants) detach();
    };
    // The end of the caller's stdin is the container's, unless it keeps stdin for the next session.
    const onEnd = () => {
      if (!opts.keepStdinOpen) stdin.end();
    };
    streams.stdin.on('data', onData);
    streams.stdin.on('end', onEnd);
    void a.ended.then(() => {
      streams.stdin?.off('data', onData);
      streams.stdin?.off('end', onEnd);
    });
  }
  return {
    resize: (rows, columns) => void a.resize(rows, columns).catch(() => {}),
    detach,
    done: a.ended,
  };
}
