/**
 * An unpack thread of UnpackPool: unpacks layers with unpackLayer, reading each blob from its file on
 * disk — following a file that is still being downloaded as the main thread reports completed writes,
 * and verifying a stored blob's digest as it reads. Host calls (device nodes, xattrs, fifos) are made
 * on the main thread. Several layers unpack here at once; gunzip runs on libuv's thread pool.
 */
import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';
import { Readable } from 'node:stream';
import { parentPort } from 'node:worker_threads';
import type { Host } from '../host/host.js';
import { errno, invalid, notFound } from '../lib/errors.js';
import { fromWire, toWire, type FromThread, type HostMethod, type ToThread, type WireGrowth } from './unpack-messages.js';
import { unpackLayer } from './unpack.js';

const READ = 1 << 20;

const port = parentPort;
if (!port) throw new Error('unpack-thread.ts runs only as a worker thread');
const post = (m: FromThread) => port.postMessage(m);

interface Job {
  growth: WireGrowth;
  abort: AbortController;
  wake?: () => void;
}

const jobs = new Map<number, Job>();
const hostCalls = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
let nextCall = 0;

function hostFor(id: number): Host {
  const call = (method: HostMethod, args: unknown[]) =>
    new Promise<unknown>((resolve, reject) => {
      const n = ++nextCall;
      hostCalls.set(n, { resolve, reject });
      post({ t: 'host', id, call: n, method, args });
    });
  const host: Pick<Host, HostMethod> = {
    run: (...args) => call('run', args) as ReturnType<Host['run']>,
    mknod: (...args) => call('mknod', args) as Promise<void>,
    setXattr: (...args) => call('setXattr', args) as Promise<void>,
  };
  return host as Host;
}

function openFirst(paths: (string | undefined)[]): number | undefined {
  for (const p of paths) {
    if (p === undefined) continue;
    try {
      return fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    } catch (err) {
      if (errno(err) !== 'ENOENT') throw err;
    }
  }
  return undefined;
}

/** The blob's bytes, read as the file grows; a stored blob is verified against `verify`. */
async function* readBlob(job: Job, m: Extract<ToThread, { t: 'job' }>): AsyncGenerator<Buffer> {
  const wait = () => new Promise<void>((r) => (job.wake = r));
  let verify = m.verify;
  let fd = openFirst([m.path, m.fallback]);
  if (fd === undefined) {
    if (!m.fallback) throw notFound(`blob file ${m.path} is gone`);
    while (!job.growth.finished && !job.abort.signal.aborted) await wait();
    job.abort.signal.throwIfAborted();
    if (job.growth.error) throw fromWire(job.growth.error);
    verify = undefined; // moved into the store by the download that verified it
    fd = openFirst([m.fallback]);
    if (fd === undefined) throw notFound(`blob file ${m.fallback} is gone`);
  }
  const hash: Hash | undefined = verify ? createHash('sha256') : undefined;
  try {
    let pos = 0;
    for (;;) {
      job.abort.signal.throwIfAborted();
      const { written, finished, error } = job.growth;
      if (finished && error) throw fromWire(error);
      if (pos < written || finished) {
        const want = finished ? READ : Math.min(READ, written - pos);
        const buf = Buffer.allocUnsafe(want);
        const n = fs.readSync(fd, buf, 0, want, pos);
        if (n > 0) {
          pos += n;
          const chunk = n === want ? buf : buf.subarray(0, n);
          hash?.update(chunk);
          yield chunk;
          continue;
        }
        if (finished) break;
      }
      if (!job.growth.finished && pos >= job.growth.written && !job.abort.signal.aborted) await wait();
    }
    if (hash && verify) {
      const got = `sha256:${hash.digest('hex')}`;
      if (got !== verify) throw invalid(`blob ${verify} is corrupt: its content hashes to ${got}`);
    }
  } finally {
    fs.closeSync(fd);
  }
}

async function run(m: Extract<ToThread, { t: 'job' }>): Promise<void> {
  const job: Job = { growth: m.growth ?? { written: 0, finished: true }, abort: new AbortController() };
  jobs.set(m.id, job);
  try {
    const blob = Readable.from(readBlob(job, m), { objectMode: false });
    const result = await unpackLayer(blob, m.mediaType, m.root, {
      host: hostFor(m.id),
      ...(m.diffID ? { diffID: m.diffID } : {}),
      signal: job.abort.signal,
    });
    post({ t: 'done', id: m.id, result });
  } catch (err) {
    post({ t: 'fail', id: m.id, error: toWire(err) });
  } finally {
    jobs.delete(m.id);
  }
}

port.on('message', (m: ToThread) => {
  switch (m.t) {
    case 'job':
      void run(m);
      break;
    case 'grow': {
      const job = jobs.get(m.id);
      if (!job) break;
      job.growth = { written: m.written, finished: m.finished, ...(m.error ? { error: m.error } : {}) };
      job.wake?.();
      break;
    }
    case 'abort': {
      const job = jobs.get(m.id);
      if (!job) break;
      job.abort.abort(new Error('unpack aborted'));
      job.wake?.();
      break;
    }
    case 'host-reply': {
      const c = hostCalls.get(m.call);
      if (!c) break;
      hostCalls.delete(m.call);
      if (m.error) c.reject(fromWire(m.error));
      else c.resolve(m.value);
      break;
    }
  }
});
