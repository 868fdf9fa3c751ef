/**
 * API server benchmarks (figures printed, nothing asserted):
 *  1. mutating requests (ConfigMap creates) at a fixed rate, p50/p99 latency, on SQLite and on etcd;
 *  2. one change fanned out to 1,000 watchers: time until every watcher has it;
 *  3. RSS of the server process idle and holding 10,000 objects.
 * The server runs as a separate `nubis server` process on 127.0.0.1; etcd (for 1.) on loopback.
 * Usage: node --import tsx bench/apiserver.ts [--rate 500] [--seconds 10] [--objects 10000] [--watchers 1000]
 *        [--shipped] [--only writes|memory|fanout|etcd] [--api-only]
 * --shipped runs the built program (bin/nubis server: dist/, after `npm run build`) instead of the sources
 * under tsx, whose compiler and source maps add tens of MiB of their own; --api-only runs the server
 * without its scheduler and controllers (--no-controllers).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { ClientRequest } from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { EtcdCluster } from '../test/integration/store/etcd-cluster.js';
import { numberArg } from './args.js';

const RATE = numberArg('rate', 500);
const SECONDS = numberArg('seconds', 10);
const OBJECTS = numberArg('objects', 10_000);
const WATCHERS = numberArg('watchers', 1000);
const SHIPPED = process.argv.includes('--shipped');
const ONLY = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
const runs = (part: string) => ONLY === undefined || ONLY === part;

interface Server {
  proc: ChildProcess;
  port: number;
  ca: string;
  token: string;
  dir: string;
}

async function startServer(etcd?: string[]): Promise<Server> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nubis-bench-apiserver-'));
  const program = SHIPPED ? ['bin/nubis.js'] : ['--import', 'tsx', 'src/cmd/nubis.ts'];
  const args = [...program, 'server', '--data-dir', dir, '--listen', '127.0.0.1', '--port', '0', '--log-level', 'warn'];
  if (process.argv.includes('--api-only')) args.push('--no-controllers');
  if (etcd) args.push('--etcd', etcd.join(','), '--etcd-prefix', `/bench-${Date.now()}/`);
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /\(port (\d+)\)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    proc.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  const kc = YAML.parse(await readFile(path.join(dir, 'admin.kubeconfig'), 'utf8'));
  return { proc, port, dir, ca: Buffer.from(kc.clusters[0].cluster['certificate-authority-data'], 'base64').toString(), token: kc.users[0].user.token };
}

async function stopServer(s: Server): Promise<void> {
  s.proc.kill('SIGTERM');
  await new Promise((r) => s.proc.once('exit', r));
  await rm(s.dir, { recursive: true, force: true });
}

function client(s: Server) {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 64, ca: s.ca });
  return (method: string, p: string, body?: unknown): Promise<number> =>
    new Promise((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port: s.port, method, path: p, agent, headers: { Authorization: `Bearer ${s.token}`, 'Content-Type': 'application/json' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
}

const pct = (xs: number[], p: number) => xs.sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

async function fixedRate(s: Server, label: string): Promise<void> {
  const call = client(s);
  // Warm-up (TLS handshakes of the pooled connections, JIT), not measured.
  await Promise.all(Array.from({ length: 64 }, (_, i) => call('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: `warm-${i}` } })));
  const total = RATE * SECONDS;
  const lat: number[] = [];
  const start = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const t0 = performance.now();
    pending.push(
      call('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: `rate-${i}` }, data: { i: String(i) } }).then((code) => {
        if (code !== 201) throw new Error(`create answered ${code}`);
        lat.push(performance.now() - t0);
      }),
    );
  }
  await Promise.all(pending);
  const achieved = total / ((performance.now() - start) / 1000);
  console.log(`${label}: ${total} creates at ${RATE}/s (achieved ${achieved.toFixed(0)}/s): p50 ${pct(lat, 50).toFixed(1)} ms, p99 ${pct(lat, 99).toFixed(1)} ms`);
}

async function fanOut(s: Server): Promise<void> {
  const call = client(s);
  await call('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'fan' }, data: { v: '0' } });
  let received = 0;
  let done: () => void = () => {};
  const all = new Promise<void>((r) => (done = r));
  const reqs: ClientRequest[] = [];
  let ready = 0;
  const allReady = new Promise<void>((resolve) => {
    for (let i = 0; i < WATCHERS; i++) {
      const req = https.request({
        host: '127.0.0.1',
        port: s.port,
        path: '/api/v1/namespaces/default/configmaps?watch=1&fieldSelector=metadata.name%3Dfan',
        ca: s.ca,
        agent: false,
        headers: { Authorization: `Bearer ${s.token}` },
      });
      req.on('response', (res) => {
        let seenInitial = false;
        res.on('data', (d: Buffer) => {
          for (const line of d.toString().split('\n').filter(Boolean)) {
            const ev = JSON.parse(line);
            if (!seenInitial && ev.type === 'ADDED') {
              seenInitial = true;
              if (++ready === WATCHERS) resolve();
            } else if (ev.type === 'MODIFIED' && ++received === WATCHERS) done();
          }
        });
      });
      req.on('error', () => {});
      req.end();
      reqs.push(req);
    }
  });
  await allReady;
  const t0 = performance.now();
  const patch = https.request({
    host: '127.0.0.1',
    port: s.port,
    method: 'PUT',
    path: '/api/v1/namespaces/default/configmaps/fan',
    ca: s.ca,
    headers: { Authorization: `Bearer ${s.token}`, 'Content-Type': 'application/json' },
  });
  patch.on('response', (r) => r.resume());
  patch.end(JSON.stringify({ metadata: { name: 'fan' }, data: { v: '1' } }));
  await all;
  console.log(`fan-out: one change reached ${WATCHERS} watchers in ${(performance.now() - t0).toFixed(1)} ms`);
  for (const r of reqs) r.destroy();
}

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

async function memory(s: Server): Promise<void> {
  await new Promise((r) => setTimeout(r, 2000));
  const idle = await rssMiB(s.proc.pid!);
  const call = client(s);
  let next = 0;
  const worker = async () => {
    while (next < OBJECTS) {
      const i = next++;
      const code = await call('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: `obj-${i}`, labels: { app: 'bench' } }, data: { key: `value-${i}` } });
      if (code !== 201) throw new Error(`create answered ${code}`);
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  await call('GET', '/api/v1/configmaps');
  await new Promise((r) => setTimeout(r, 2000));
  console.log(`memory: RSS idle ${idle.toFixed(0)} MiB, holding ${OBJECTS} objects (after a full list) ${(await rssMiB(s.proc.pid!)).toFixed(0)} MiB`);
}

if (runs('writes')) {
  const sqlite = await startServer();
  try {
    await fixedRate(sqlite, 'sqlite writes');
  } finally {
    await stopServer(sqlite);
  }
}
if (runs('memory') || runs('fanout')) {
  const fresh = await startServer();
  try {
    if (runs('memory')) await memory(fresh);
    if (runs('fanout')) await fanOut(fresh);
  } finally {
    await stopServer(fresh);
  }
}
if (runs('etcd')) {
  const cluster = await EtcdCluster.start(1);
  try {
    const onEtcd = await startServer(cluster.endpoints);
    try {
      await fixedRate(onEtcd, 'etcd writes');
    } finally {
      await stopServer(onEtcd);
    }
  } finally {
    await cluster.stop();
  }
}
