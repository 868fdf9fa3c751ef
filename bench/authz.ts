/**
 * What the request pipeline costs (figures printed, nothing asserted):
 *  1. ConfigMap creates and lists, p50/p99, with authentication, authorization (superuser, node,
 *     tenancy, RBAC) and admission on, against the same server with an open pipeline (every request
 *     allowed, namespace lifecycle only): the ratio is the pipeline's cost. Target p99 <= 1.1x.
 *  2. A tenant user's list and watch of pods against an admin's, with --tenants tenants x 10 namespaces
 *     and one extra RoleBinding per namespace (10,000 at the default 1,000 tenants): target p99 <= 1.5x.
 * The servers run in this process on SQLite; requests go over HTTPS with keep-alive.
 * Usage: node --import tsx bench/authz.ts [--requests 2000] [--concurrency 4] [--tenants 1000]
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { ApiServer } from '../src/apiserver/api-server.js';
import { addTokenEntry } from '../src/apiserver/tokens.js';
import { SqliteStore, sqliteStoreFile } from '../src/store/sqlite/sqlite-store.js';
import { numberArg } from './args.js';
import { percentile } from './up-process.js';

const REQUESTS = numberArg('requests', 2000);
const CONCURRENCY = numberArg('concurrency', 4);
const TENANTS = numberArg('tenants', 1000);

interface Bench {
  api: ApiServer;
  store: SqliteStore;
  dir: string;
  agent: https.Agent;
  ca: string;
  admin: string;
}

async function start(pipeline: 'full' | 'open'): Promise<Bench> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'nubis-bench-authz-'));
  const store = SqliteStore.open({ file: sqliteStoreFile(dir) });
  const api = await ApiServer.start({ dataDir: dir, store, listen: '127.0.0.1', port: 0, pipeline });
  const kc = YAML.parse(await readFile(api.kubeconfig, 'utf8'));
  const ca = Buffer.from(kc.clusters[0].cluster['certificate-authority-data'], 'base64').toString();
  return { api, store, dir, ca, admin: kc.users[0].user.token, agent: new https.Agent({ keepAlive: true, maxSockets: 64, ca }) };
}

async function stop(b: Bench): Promise<void> {
  b.agent.destroy();
  await b.api.close();
  await b.store.close();
  await rm(b.dir, { recursive: true, force: true });
}

/** One request; resolves with its status and body once the whole answer has arrived. */
function call(b: Bench, token: string, method: string, p: string, body?: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = https.request({ host: '127.0.0.1', port: b.api.port, method, path: p, agent: b.agent, headers: { Authorization: `Bearer ${token}`, ...(data ? { 'Content-Type': 'application/json' } : {}) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

/** Runs `n` requests `concurrency` at a time; the latency of each in ms. */
async function timed(n: number, one: (i: number) => Promise<{ status: number; body: string }>, ok = (s: number) => s < 300): Promise<number[]> {
  const out: number[] = [];
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const t0 = performance.now();
      const r = await one(i);
      out.push(performance.now() - t0);
      if (!ok(r.status)) throw new Error(`request ${i}: HTTP ${r.status}: ${r.body.slice(0, 300)}`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return out;
}

const fmt = (xs: number[]) => `p50 ${percentile(xs, 50).toFixed(2)} ms, p99 ${percentile(xs, 99).toFixed(2)} ms`;
const ratio = (a: number[], b: number[]) => `p50 ${(percentile(a, 50) / percentile(b, 50)).toFixed(2)}x, p99 ${(percentile(a, 99) / percentile(b, 99)).toFixed(2)}x`;

/** A bearer token for a user with these groups, through the token file (re-read every 2 s). */
async function userToken(b: Bench, name: string, groups: string[]): Promise<string> {
  const token = `nubis-bench-${randomBytes(16).toString('hex')}`;
  await addTokenEntry(b.dir, token, { id: `bench-${name}`, user: name, groups });
  for (let i = 0; i < 50 && (await call(b, token, 'GET', '/version')).status === 401; i++) await new Promise((r) => setTimeout(r, 100));
  return token;
}

const cm = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { a: 'b' } });
const pod = (name: string, labels: Record<string, string> = {}) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, labels }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });

async function pipelineCost(): Promise<void> {
  const results: Record<string, { writes: number[]; lists: number[] }> = {};
  // Interleaved rounds, so drift of the machine falls on both sides alike.
  for (const round of [0, 1]) {
    for (const mode of ['open', 'full'] as const) {
      const b = await start(mode);
      try {
        const ns = `bench-${round}`;
        await call(b, b.admin, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
        await call(b, b.admin, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'small' } });
        for (let i = 0; i < 100; i++) await call(b, b.admin, 'POST', '/api/v1/namespaces/small/configmaps', cm(`c${i}`));
        // A user with edit rights in the namespaces, as most writers are (admin would skip RBAC).
        const token = await userToken(b, 'writer', ['writers']);
        for (const n of [ns, 'small']) {
          await call(b, b.admin, 'POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${n}/rolebindings`, {
            apiVersion: 'rbac.authorization.k8s.io/v1',
            kind: 'RoleBinding',
            metadata: { name: 'writers' },
            roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
            subjects: [{ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'writers' }],
          });
        }
        await new Promise((r) => setTimeout(r, 300));
        const writes = await timed(REQUESTS, (i) => call(b, token, 'POST', `/api/v1/namespaces/${ns}/configmaps`, cm(`w${i}`)));
        const lists = await timed(REQUESTS / 4, () => call(b, token, 'GET', '/api/v1/namespaces/small/configmaps'));
        const r = (results[mode] ??= { writes: [], lists: [] });
        r.writes.push(...writes);
        r.lists.push(...lists);
      } finally {
        await stop(b);
      }
    }
  }
  const { open, full } = results as Record<'open' | 'full', { writes: number[]; lists: number[] }>;
  console.log(`ConfigMap create (${open.writes.length} each, ${CONCURRENCY} at a time): open ${fmt(open.writes)}; full ${fmt(full.writes)}; full/open ${ratio(full.writes, open.writes)}`);
  console.log(`ConfigMap list of 100 (${open.lists.length} each): open ${fmt(open.lists)}; full ${fmt(full.lists)}; full/open ${ratio(full.lists, open.lists)}`);
}

async function tenantCost(): Promise<void> {
  const b = await start('full');
  try {
    const t0 = performance.now();
    const post = (p: string, body: unknown) => call(b, b.admin, 'POST', p, body).then((r) => {
      if (r.status >= 300 && r.status !== 409) throw new Error(`${p}: ${r.status} ${r.body.slice(0, 200)}`);
    });
    const jobs: Array<() => Promise<void>> = [];
    for (let t = 0; t < TENANTS; t++) {
      jobs.push(() => post('/apis/nubis.dev/v1/tenants', { apiVersion: 'nubis.dev/v1', kind: 'Tenant', metadata: { name: `t${t}` } }));
      for (let n = 0; n < 10; n++) {
        const ns = `t${t}-n${n}`;
        jobs.push(async () => {
          await post('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: { 'nubis.dev/tenant': `t${t}` } } });
          await post(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, {
            apiVersion: 'rbac.authorization.k8s.io/v1',
            kind: 'RoleBinding',
            metadata: { name: 'extra-view' },
            roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
            subjects: [{ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: `viewer-${t}` }],
          });
          for (let p = 0; p < (t === 0 ? 10 : 1); p++) await post(`/api/v1/namespaces/${ns}/pods`, pod(`p${p}`, { tenant: `t${t}` }));
        });
      }
    }
    let next = 0;
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (next < jobs.length) await jobs[next++]!();
    }));
    // The tenants' own RoleBindings are written by the API server after each namespace: wait for them, so
    // no background writing falls on either side of the comparison.
    // They are written in the order the namespaces came, so the last namespace's tell.
    for (;;) {
      const r = await call(b, b.admin, 'GET', `/apis/rbac.authorization.k8s.io/v1/namespaces/t${TENANTS - 1}-n9/rolebindings`);
      if ((JSON.parse(r.body) as { items: unknown[] }).items.length >= 4) break;
      await new Promise((res) => setTimeout(res, 1000));
    }
    console.log(`set-up: ${TENANTS} tenants, ${TENANTS * 10} namespaces, ${TENANTS * 10} extra RoleBindings (+3 per namespace for the tenants' roles), ${TENANTS * 10 + 90} pods in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    const member = await userToken(b, 'alice', ['nubis:tenant:t0', 'nubis:tenant:t0:member', 'nubis:tenant:t0:reader']);
    const ns = '/api/v1/namespaces/t0-n3/pods';
    const n = Math.max(100, REQUESTS / 4);
    const adminNs = await timed(n, () => call(b, b.admin, 'GET', ns));
    const tenantNs = await timed(n, () => call(b, member, 'GET', ns));
    console.log(`list pods of one namespace (10): admin ${fmt(adminNs)}; tenant member ${fmt(tenantNs)}; tenant/admin ${ratio(tenantNs, adminNs)}`);
    const adminAll = await timed(n / 2, () => call(b, b.admin, 'GET', '/api/v1/pods?labelSelector=tenant%3Dt0'));
    const tenantAll = await timed(n / 2, () => call(b, member, 'GET', '/api/v1/pods'));
    console.log(`list pods of the tenant across namespaces (100 of ${TENANTS * 10 + 90}): admin by label ${fmt(adminAll)}; tenant member -A ${fmt(tenantAll)}; tenant/admin ${ratio(tenantAll, adminAll)}`);
    // Watch: the time from a create until the watcher has the event.
    const watchLatency = async (token: string, samples: number, tag: string): Promise<number[]> => {
      const out: number[] = [];
      const sent = new Map<string, number>();
      const req = https.request({ host: '127.0.0.1', port: b.api.port, path: `${ns}?watch=1&timeoutSeconds=120`, agent: new https.Agent({ ca: b.ca }), headers: { Authorization: `Bearer ${token}` } });
      await new Promise<void>((resolve, reject) => {
        req.on('response', (res) => {
          let buf = '';
          res.on('data', (c: Buffer) => {
            buf += c.toString();
            for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
              const e = JSON.parse(buf.slice(0, i)) as { type: string; object: { metadata: { name: string } } };
              buf = buf.slice(i + 1);
              const at = sent.get(e.object.metadata.name);
              if (e.type === 'ADDED' && at !== undefined) out.push(performance.now() - at);
            }
          });
          resolve();
        });
        req.on('error', reject);
        req.end();
      });
      for (let i = 0; i < samples; i++) {
        const name = `w-${tag}-${i}`;
        sent.set(name, performance.now());
        await post(`/api/v1/namespaces/t0-n3/pods`, pod(name));
        while (out.length <= i) await new Promise((r) => setTimeout(r, 1));
      }
      req.destroy();
      return out;
    };
    const adminWatch = await watchLatency(b.admin, 100, "a");
    const tenantWatch = await watchLatency(member, 100, "t");
    console.log(`watch pods of one namespace, create to event: admin ${fmt(adminWatch)}; tenant member ${fmt(tenantWatch)}; tenant/admin ${ratio(tenantWatch, adminWatch)}`);
  } finally {
    await stop(b);
  }
}

await pipelineCost();
await tenantCost();
