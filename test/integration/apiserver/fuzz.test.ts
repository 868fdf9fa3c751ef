/**
 * Malformed and random requests (bodies, paths, headers, patches, watch parameters) against a running
 * server: afterwards it still answers, and every object created before is intact. Bounded: 3,000
 * requests, 24 at a time, each cut off after 2 s. The random sequence is seeded and printed.
 */
import assert from 'node:assert/strict';
import https from 'node:https';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { TestServer } from './harness.js';

let s: TestServer;
before(async () => {
  s = await TestServer.start();
});
after(async () => {
  await s?.close();
});

function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

const RESOURCES = ['pods', 'configmaps', 'secrets', 'services', 'events', 'endpoints', 'nodes', 'namespaces', 'widgets', '', '..', '%00', '%ZZ', 'pods/x/y/z'];
const GROUPS = ['/api/v1', '/apis/apps/v1', '/apis/batch/v1', '/apis/coordination.k8s.io/v1', '/apis/discovery.k8s.io/v1', '/apis/nope/v9', '/api', '/apis', '/openapi/v3', '/openapi/v2', '/version', '/'];
const SUBS = ['', '/status', '/scale', '/binding', '/eviction', '/log', '/exec', '/finalize', '/bogus'];
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'TRACE', 'BREW'];
const CTYPES = ['application/json', 'application/yaml', 'application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/json-patch+json', 'application/apply-patch+yaml', 'application/vnd.kubernetes.protobuf', 'text/html', '', 'application/json; charset=utf-8'];
const QUERIES = [
  'watch=1&timeoutSeconds=1',
  'watch=true&resourceVersion=0&allowWatchBookmarks=true&timeoutSeconds=1',
  'watch=1&resourceVersion=-5',
  'watch=1&resourceVersion=abc',
  'watch=1&resourceVersion=99999999999&timeoutSeconds=1',
  'labelSelector=a%20in%20(b',
  'labelSelector=!!!',
  'fieldSelector=metadata.name%3D%3D%3Dx',
  'fieldSelector=spec.nope%3D1',
  'limit=-1',
  'limit=2&continue=garbage',
  'dryRun=Maybe',
  'fieldValidation=Loose',
  'propagationPolicy=Sideways',
  'gracePeriodSeconds=NaN',
  'includeObject=Everything',
  'timeoutSeconds=99999999999',
  '',
];

function randomJson(r: () => number, depth = 0): unknown {
  const k = Math.floor(r() * (depth > 3 ? 5 : 8));
  switch (k) {
    case 0:
      return null;
    case 1:
      return r() < 0.5;
    case 2:
      return Math.floor(r() * 2 ** 40) - 2 ** 39;
    case 3:
      return ['', 'x', 'Bad_Name', '\u0000', 'a'.repeat(300), '{{', 'kubernetes'][Math.floor(r() * 7)];
    case 4:
      return r() * 1e300;
    case 5:
      return Array.from({ length: Math.floor(r() * 4) }, () => randomJson(r, depth + 1));
    default: {
      const keys = ['apiVersion', 'kind', 'metadata', 'spec', 'status', 'name', 'namespace', 'labels', 'finalizers', 'ownerReferences', 'containers', 'replicas', 'data', 'op', 'path', 'value', '$patch', '__proto__', 'constructor', 'resourceVersion', 'generateName', 'deletionTimestamp', 'selector', 'template', 'target'];
      const o: Record<string, unknown> = {};
      for (let i = 0; i < Math.floor(r() * 5); i++) o[keys[Math.floor(r() * keys.length)]!] = randomJson(r, depth + 1);
      return o;
    }
  }
}

function randomBody(r: () => number): string | Buffer | undefined {
  const k = Math.floor(r() * 9);
  if (k === 0) return undefined;
  if (k === 1) return Buffer.from(Array.from({ length: Math.floor(r() * 200) }, () => Math.floor(r() * 256)));
  if (k === 2) return '{"metadata": {"name": "trunc';
  if (k === 3) return 'a: [b\n  c: }';
  if (k === 4) return JSON.stringify([{ op: 'replace', path: '/metadata/name', value: 'x' }, { op: 'move', from: '/spec', path: '/spec/x' }]);
  if (k === 5) return '&a [*a, *a, *a, *a]\n';
  return JSON.stringify(randomJson(r));
}

function randomPath(r: () => number): string {
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
  const g = pick(GROUPS);
  const ns = r() < 0.6 ? `/namespaces/${pick(['default', 'fuzz', 'kube-system', '%2F', 'x'.repeat(300)])}` : '';
  const res = pick(RESOURCES);
  const name = r() < 0.6 ? `/${pick(['a', 'b', 'fz', 'default', '%2e%2e', '..%2F..', 'x'.repeat(260)])}` : '';
  const sub = name ? pick(SUBS) : '';
  const q = pick(QUERIES);
  return `${r() < 0.1 ? '/watch' : ''}${g}${ns}/${res}${name}${sub}${q ? `?${q}` : ''}`.replace('/watch/api', r() < 0.5 ? '/api/v1/watch' : '/watch/api');
}

function send(method: string, path: string, headers: Record<string, string>, body: string | Buffer | undefined): Promise<number> {
  return new Promise((resolve) => {
    const req = https.request({ host: '127.0.0.1', port: s.server.port, method, path, ca: s.ca, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(-1));
    });
    req.on('error', () => resolve(-1));
    req.setTimeout(2000, () => req.destroy());
    req.end(body);
  });
}

test('3,000 malformed and random requests leave the server answering and the store intact', async () => {
  const seed = Number(process.env.NUBIS_FUZZ_SEED ?? Date.now() % 1e9);
  process.stdout.write(`# fuzz seed ${seed}\n`);
  const r = rng(seed);
  // Objects to keep, in a namespace the fuzzer only hits with requests that must fail.
  for (const name of ['keep', 'fuzz']) {
    const made = await s.request('POST', '/api/v1/namespaces', { body: JSON.stringify({ metadata: { name } }) });
    assert.equal(made.status, 201, `namespace ${name}: ${made.body}`);
  }
  const kept: Record<string, string> = {};
  for (let i = 0; i < 20; i++) {
    const res = await s.request('POST', '/api/v1/namespaces/keep/configmaps', { body: JSON.stringify({ metadata: { name: `k${i}`, labels: { i: String(i) } }, data: { v: String(i) } }) });
    assert.equal(res.status, 201);
    kept[`k${i}`] = res.body;
  }
  const statuses = new Map<number, number>();
  let next = 0;
  const worker = async () => {
    while (next < 3000) {
      const i = next++;
      let method = METHODS[Math.floor(r() * METHODS.length)]!;
      let path = randomPath(r);
      const headers: Record<string, string> = {};
      const auth = r();
      if (auth < 0.85) headers.Authorization = `Bearer ${s.token}`;
      else if (auth < 0.9) headers.Authorization = 'Bearer ';
      else if (auth < 0.95) headers.Authorization = `Basic ${Buffer.from('a:b').toString('base64')}`;
      const ct = CTYPES[Math.floor(r() * CTYPES.length)]!;
      if (ct) headers['Content-Type'] = ct;
      if (r() < 0.2) headers.Accept = ['application/json;as=Table;v=v1;g=meta.k8s.io', 'application/vnd.kubernetes.protobuf', 'text/html', 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList'][Math.floor(r() * 4)]!;
      let body = randomBody(r);
      if (i % 10 === 0) {
        // Aim at the kept objects, always with a body that cannot parse or a missing token.
        method = ['PUT', 'PATCH', 'POST'][i % 3]!;
        path = `/api/v1/namespaces/keep/configmaps${method === 'POST' ? '' : `/k${i % 20}`}`;
        body = '{"data": {"v": "broken"'; // truncated JSON
        if (r() < 0.5) delete headers.Authorization;
      }
      if (process.env.NUBIS_FUZZ_TRACE) process.stderr.write(`${i} ${method} ${path} ${headers["Content-Type"] ?? ""} ${String(body).slice(0, 80)}\n`);
      const code = await send(method, path, headers, body);
      if (process.env.NUBIS_FUZZ_TRACE) process.stderr.write(`done ${i} ${code}\n`);
      statuses.set(code, (statuses.get(code) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: 24 }, worker));
  // Raw garbage on the socket too.
  await new Promise<void>((resolve) => {
    const sock = net.connect(s.server.port, '127.0.0.1', () => sock.end(Buffer.from('\x16\x03\x01garbage-not-tls\r\n\r\n')));
    sock.setTimeout(1000, () => sock.destroy());
    sock.on('error', () => resolve());
    sock.on('close', () => resolve());
  });
  process.stdout.write(`# statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((x, y) => x[0] - y[0])))}\n`);
  assert.equal(statuses.get(500) ?? 0, 0, 'no request made the server fail internally');
  // Still answering, over HTTPS and to kubectl.
  assert.equal((await s.request('GET', '/healthz')).status, 200);
  assert.match((await s.kubectl(['get', 'ns', 'keep', '-o', 'name'])).stdout, /namespace\/keep/);
  for (const [name, body] of Object.entries(kept)) {
    const now = await s.request('GET', `/api/v1/namespaces/keep/configmaps/${name}`);
    assert.equal(now.status, 200);
    assert.deepEqual(now.json(), JSON.parse(body), `${name} changed`);
  }
  const listed = (await s.request('GET', '/api/v1/namespaces/keep/configmaps')).json();
  assert.equal(listed.items.filter((i: { metadata: { name: string } }) => i.metadata.name !== 'kube-root-ca.crt').length, 20);
  // The store still takes writes. In "keep": the fuzzer may delete "fuzz" itself, rightly (a DELETE of
  // /api/v1/namespaces/fuzz/ with a body Node sends unframed, whose bytes then fail as a second request).
  const made = await s.request('POST', '/api/v1/namespaces/keep/configmaps', { body: JSON.stringify({ metadata: { name: 'after' } }) });
  assert.equal(made.status, 201, made.body);
});
