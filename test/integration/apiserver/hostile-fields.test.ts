/**
 * Hostile values at every field of every served kind, driven by the kinds' schemas (fuzz.test.ts sends
 * random malformed requests; this one walks each schema field by field). For each kind a valid example
 * (hostile-examples.ts) gets one hostile value at one field path per request: values of the wrong JSON
 * type, null, huge, negative and non-integer numbers, numbers beyond int32/int64, 300 KB strings, control
 * characters, lone surrogates and invalid UTF-8, malformed quantities, times, IPs, ports and selectors,
 * huge lists and maps, nesting beyond the server's 100 levels and unknown fields (Warn and Strict). Each
 * goes out as a create; a sample also as update, merge patch, JSON patch, strategic merge patch and
 * server-side apply. The answers must be: never a 5xx; a 4xx is a metav1.Status (422 with causes naming
 * fields, a value of the wrong type named at its own path or a parent); whatever is accepted reads back
 * with GET and LIST (JSON and Table), passes the kind's validation again and holds no unknown field; a
 * refused update changes nothing; nothing refused is stored. Values are sampled per field (rotating
 * through each type's pool) so the run stays bounded.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import type { KubeObject } from '../../../src/api/meta.js';
import { apiVersionOf, builtinResources, type ResourceType } from '../../../src/api/registry.js';
import { unknownFields, type Schema } from '../../../src/api/schema.js';
import { EXAMPLES, FIXTURES } from './hostile-examples.js';
import { applyHostile, encode, fieldPaths, getAt, hostileValues, UNKNOWN, type FieldPath, type Hostile, type Json } from './hostile-values.js';
import { TestServer, type HttpAnswer } from './harness.js';

const registry = builtinResources();
const CONCURRENCY = 12;
/**
 * Accepted objects larger than this are deleted before the final lists and kubectl, all at once: every
 * deletion makes the server's garbage collector sweep all objects, and sweeps asked for together are one.
 */
const KEEP_BYTES = 16 * 1024;
/** The paths of accepted objects larger than KEEP_BYTES. */
const large: string[] = [];
/** Every how many accepted objects one is also read as a Table (all kept ones are, in the final lists). */
const TABLE_SAMPLE = 10;
/** Field paths below a pod template of a workload: PodSpec is covered in full through Pod, sampled here. */
const TEMPLATE_SAMPLE = 8;

const exampleKey = (t: ResourceType) => `${t.group}/${t.kind}`;
const namespaceOf = (t: ResourceType) => (t.namespaced ? `hx-${t.resource}` : undefined);
function collectionPath(t: ResourceType, ns = namespaceOf(t)): string {
  const gv = t.group ? `/apis/${t.group}/${t.version}` : '/api/v1';
  return `${gv}${t.namespaced && ns ? `/namespaces/${ns}` : ''}/${t.resource}`;
}
const TABLE = 'application/json;as=Table;v=v1;g=meta.k8s.io';

let s: TestServer;
let sent = 0;
const histogram = new Map<number, number>();
const failures: string[] = [];
/** Names of the objects this test had accepted, per resource (anything else named hx-* must not exist). */
const accepted = new Map<string, Set<string>>();

function fail(what: string): void {
  failures.push(what);
}

async function send(method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  sent++;
  const res = await s.request(method, path, { body, headers });
  histogram.set(res.status, (histogram.get(res.status) ?? 0) + 1);
  return res;
}

function parse(res: HttpAnswer): any {
  try {
    return JSON.parse(res.body);
  } catch {
    return undefined;
  }
}

/** Whether `field` names `at` or a parent of it; list indices aside (a strategic merge may move an item). */
function atOrAbove(field: string, at: string): boolean {
  const [f, a] = [field, at].map((x) => x.replace(/\[\d+\]/g, '[]'));
  return a === f || a!.startsWith(`${f}.`) || a!.startsWith(`${f}[`);
}

/** The checks every answer passes: no 5xx; a 4xx is a well-formed Status; 422s name fields. `what` starts with the verb. */
function checkAnswer(what: string, t: ResourceType, fp: FieldPath | undefined, h: Hostile | undefined, res: HttpAnswer): any {
  const body = parse(res);
  if (res.status >= 500 || res.status < 200 || (res.status >= 300 && res.status < 400)) {
    fail(`${what}: HTTP ${res.status}: ${res.body.slice(0, 300)}`);
    return body;
  }
  if (res.status >= 400) {
    if (!body || body.kind !== 'Status' || body.apiVersion !== 'v1' || body.status !== 'Failure' || body.code !== res.status || typeof body.reason !== 'string' || typeof body.message !== 'string' || !body.message) {
      fail(`${what}: HTTP ${res.status} without a proper Status: ${res.body.slice(0, 300)}`);
      return body;
    }
    if (res.status === 422) {
      const causes = body.details?.causes;
      const at = `${fp?.text ?? ''}${h?.below ?? ''}`;
      if (body.reason !== 'Invalid' || !/ is invalid: /.test(body.message) || !Array.isArray(causes) || causes.length === 0 || causes.some((c: any) => typeof c.field !== 'string' || !c.field || typeof c.message !== 'string')) {
        fail(`${what}: 422 without field causes: ${res.body.slice(0, 300)}`);
      } else if (h?.wrongType && fp && !causes.some((c: { field: string }) => atOrAbove(c.field, at))) {
        fail(`${what}: 422 names no field at or above ${at}: ${body.message.slice(0, 300)}`);
      }
    }
    if (h?.deep && (res.status !== 400 || !/nests deeper than 100 levels/.test(body.message))) fail(`${what}: nesting beyond 100 levels answered ${res.status}: ${body.message.slice(0, 200)}`);
    // (A patch may fail to apply before its fields are looked at; a create or update names them.)
    if (h?.unknown === 'Strict' && fp && res.status === 400 && /^(create|update) /.test(what) && !body.message.includes(`unknown field "${fp.unknownText}.${UNKNOWN}"`)) {
      fail(`${what}: strict decoding error does not name ${fp.unknownText}.${UNKNOWN}: ${body.message.slice(0, 200)}`);
    }
  } else {
    if (h?.deep) fail(`${what}: nesting beyond 100 levels was accepted`);
    if (h?.unknown === 'Strict') fail(`${what}: an unknown field was accepted with fieldValidation=Strict`);
    if (h?.unknown === 'Warn' && fp && !String(res.headers.warning ?? '').includes(`unknown field \\"${fp.unknownText}.${UNKNOWN}\\"`)) {
      fail(`${what}: no Warning names the unknown field ${fp.unknownText}.${UNKNOWN}: ${String(res.headers.warning ?? '').slice(0, 200)}`);
    }
    if (!body || typeof body !== 'object') fail(`${what}: ${res.status} without a JSON object`);
  }
  return body;
}

/** What is stored is well-formed: valid for its kind, no unknown fields, no value of the wrong type. */
function checkStored(what: string, t: ResourceType, fp: FieldPath | undefined, h: Hostile | undefined, obj: KubeObject): void {
  try {
    const errors = t.validate(structuredClone(obj));
    if (errors.length > 0) fail(`${what}: stored object fails validation: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ').slice(0, 300)}`);
  } catch (err) {
    fail(`${what}: validating the stored object threw: ${(err as Error).message}`);
  }
  const unknown = unknownFields(obj, t.schema);
  if (unknown.length > 0) fail(`${what}: stored object holds unknown fields ${unknown.slice(0, 5).join(', ')}`);
  if (h?.wrongType && fp && isDeepStrictEqual(getAt(obj, fp.segs), h.value)) fail(`${what}: the wrong-typed value was stored at ${fp.text}`);
}

/** GET of an accepted object (and as a Table). */
async function checkReads(what: string, t: ResourceType, obj: KubeObject, asTable = true): Promise<void> {
  const path = `${collectionPath(t, obj.metadata.namespace)}/${encodeURIComponent(obj.metadata.name)}`;
  const got = await send('GET', path);
  const now = parse(got) as KubeObject | undefined;
  if (got.status !== 200 || !now) fail(`${what}: GET answered ${got.status}: ${got.body.slice(0, 200)}`);
  // The server's own loops may write in between (role aggregation, a tenant's namespaces): then that is checked too.
  else if (now.metadata.resourceVersion !== obj.metadata.resourceVersion) checkStored(`${what} (rewritten by the server)`, t, undefined, undefined, now);
  else if (!isDeepStrictEqual(now, obj)) fail(`${what}: GET differs from what the write answered`);
  if (!asTable) return;
  const table = await send('GET', path, undefined, { Accept: TABLE });
  const tb = parse(table);
  if (table.status !== 200 || tb?.kind !== 'Table' || tb.rows?.length !== 1 || tb.rows[0].cells.length !== tb.columnDefinitions.length) {
    fail(`${what}: GET as Table answered ${table.status}: ${table.body.slice(0, 200)}`);
  }
}

function baseObject(t: ResourceType, name: string): Json {
  const make = EXAMPLES[exampleKey(t)];
  assert.ok(make, `no example object for ${exampleKey(t)}: add one to hostile-examples.ts`);
  const obj = structuredClone(make(namespaceOf(t) ?? ''));
  const meta = (obj.metadata ?? {}) as Json;
  obj.apiVersion = apiVersionOf(t);
  obj.kind = t.kind;
  obj.metadata = { ...meta, name, ...(t.namespaced ? { namespace: namespaceOf(t) } : {}) };
  return obj;
}

/** Notes an accepted object; answers how many of its kind were accepted so far. */
function remember(t: ResourceType, name: string): number {
  const names = accepted.get(t.resource) ?? new Set<string>();
  names.add(name);
  accepted.set(t.resource, names);
  return names.size;
}

let counter = 0;
const nextName = (prefix: string) => `${prefix}-${(counter++).toString(36)}`;

interface Case {
  t: ResourceType;
  fp: FieldPath;
  h: Hostile;
}

async function createCase({ t, fp, h }: Case): Promise<void> {
  const name = nextName('hx');
  const obj = baseObject(t, name);
  applyHostile(obj, fp, h);
  const what = `create ${t.kind} ${fp.text} = ${h.label}`;
  const started = Date.now();
  const res = await send('POST', `${collectionPath(t)}${h.unknown === 'Strict' ? '?fieldValidation=Strict' : ''}`, encode(obj));
  if (process.env.NUBIS_HOSTILE_TRACE) process.stderr.write(`${Date.now() - started} ms ${res.status} ${what}\n`);
  const body = checkAnswer(what, t, fp, h, res);
  if (res.status >= 300 || !body) return;
  if (t.ephemeral) {
    if (body.kind !== t.kind || typeof body.status !== 'object') fail(`${what}: a review answered without its status: ${res.body.slice(0, 200)}`);
    return;
  }
  const stored = body as KubeObject;
  const kept = remember(t, stored.metadata?.name);
  checkStored(what, t, fp, h, stored);
  await checkReads(what, t, stored, kept % TABLE_SAMPLE === 0);
  if (res.body.length > KEEP_BYTES) large.push(`${collectionPath(t, stored.metadata.namespace)}/${encodeURIComponent(stored.metadata.name)}`);
}

type WriteVerb = 'update' | 'merge' | 'json' | 'strategic' | 'apply';
const VERBS: WriteVerb[] = ['update', 'merge', 'json', 'strategic', 'apply'];

/** The request that writes `modified` over `current` with one verb. */
function writeRequest(verb: WriteVerb, fp: FieldPath, current: KubeObject, modified: Json, strict: boolean): { method: string; query: string; body: unknown; type: string } {
  const top = 'field' in fp.segs[0]! ? fp.segs[0].field : '';
  const q = strict ? 'fieldValidation=Strict' : '';
  switch (verb) {
    case 'update':
      return { method: 'PUT', query: q, body: modified, type: 'application/json' };
    case 'merge':
      return { method: 'PATCH', query: q, body: { [top]: modified[top] }, type: 'application/merge-patch+json' };
    case 'strategic':
      return { method: 'PATCH', query: q, body: { [top]: modified[top] }, type: 'application/strategic-merge-patch+json' };
    case 'json': {
      // The exact field where its parent exists, else the whole top-level field.
      const parentExists = getAt(current, fp.segs.slice(0, -1)) !== undefined && typeof getAt(current, fp.segs.slice(0, -1)) === 'object';
      const segs = parentExists ? fp.segs : fp.segs.slice(0, 1);
      const pointer = `/${segs.map((g) => String('index' in g ? g.index : 'field' in g ? g.field : g.key).replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`;
      return { method: 'PATCH', query: q, body: [{ op: 'add', path: pointer, value: getAt(modified, segs) }], type: 'application/json-patch+json' };
    }
    case 'apply': {
      const meta = { ...(modified.metadata as Json) };
      for (const f of ['resourceVersion', 'uid', 'creationTimestamp', 'managedFields', 'generation']) if (fp.text !== `metadata.${f}` && !fp.text.startsWith(`metadata.${f}[`)) delete meta[f];
      const applied = { ...modified, metadata: meta };
      return { method: 'PATCH', query: `fieldManager=hostile&force=true${q ? `&${q}` : ''}`, body: applied, type: 'application/apply-patch+yaml' };
    }
  }
}

/** One hostile write over a fresh valid object (kept for the final lists): answered well, and a refused write changes nothing. */
async function writeCase({ t, fp, h }: Case, verb: WriteVerb): Promise<void> {
  const name = nextName('hu');
  const what = `${verb} ${t.kind} ${fp.text} = ${h.label}`;
  const made = await send('POST', collectionPath(t), JSON.stringify(baseObject(t, name)));
  if (made.status !== 201) {
    fail(`${what}: the valid example was refused (${made.status}): ${made.body.slice(0, 300)}`);
    return;
  }
  const current = JSON.parse(made.body) as KubeObject;
  remember(t, name);
  const modified = structuredClone(current) as unknown as Json;
  applyHostile(modified, fp, h);
  const req = writeRequest(verb, fp, current, modified, h.unknown === 'Strict');
  const itemPath = `${collectionPath(t)}/${name}`;
  const res = await send(req.method, `${itemPath}${req.query ? `?${req.query}` : ''}`, encode(req.body), { 'Content-Type': req.type });
  // A merge or strategic patch only carries the top-level field: the unknown-field Warning still applies.
  const body = checkAnswer(what, t, fp, h, res);
  if (res.status >= 400) {
    const now = await send('GET', itemPath);
    if (now.status !== 200 || !isDeepStrictEqual(parse(now), current)) fail(`${what}: a refused write changed the object (${now.status})`);
  } else if (body) {
    checkStored(what, t, fp, h, body as KubeObject);
    await checkReads(what, t, body as KubeObject);
  }
}

async function pool<T>(items: readonly T[], run: (item: T) => Promise<void>, concurrency = CONCURRENCY): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      try {
        await run(item);
      } catch (err) {
        fail(`request failed: ${(err as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** Whether a field path is one this run covers: all of them, but a sample below workloads' pod templates. */
function covered(t: ResourceType, fp: FieldPath, i: number): boolean {
  if (t.kind === 'Pod' || !fp.text.startsWith('spec.template.spec.')) return true;
  return i % TEMPLATE_SAMPLE === 0;
}

before(async () => {
  // Thousands of writes: on tmpfs where there is one (the server's SQLite syncs every write).
  if (existsSync('/dev/shm')) process.env.TMPDIR = '/dev/shm';
  // The garbage collector's scans of every object are not what this test is about.
  s = await TestServer.start({ gcIntervalMs: 60_000 });
  for (const t of registry.all()) {
    const ns = namespaceOf(t);
    if (!ns) continue;
    const res = await s.request('POST', '/api/v1/namespaces', { body: JSON.stringify({ metadata: { name: ns } }) });
    assert.equal(res.status, 201, res.body);
    remember(registry.byResource('', 'namespaces')!, ns);
  }
  const tenant = await s.request('POST', '/apis/nubis.dev/v1/tenants', { body: JSON.stringify({ metadata: { name: FIXTURES.tenant } }) });
  assert.equal(tenant.status, 201, tenant.body);
  const user = await s.request('POST', '/apis/nubis.dev/v1/users', { body: JSON.stringify({ metadata: { name: FIXTURES.user }, spec: { tenant: FIXTURES.tenant, roles: ['member'] } }) });
  assert.equal(user.status, 201, user.body);
  const password = await s.request('PUT', `/apis/nubis.dev/v1/users/${FIXTURES.user}/password`, { body: JSON.stringify({ password: FIXTURES.password }) });
  assert.equal(password.status, 200, password.body);
  // The VMI the migration example names, in the migrations' namespace.
  const vmis = registry.byResource('kubevirt.io', 'virtualmachineinstances')!;
  const vmi = await s.request('POST', collectionPath(vmis, namespaceOf(registry.byResource('kubevirt.io', 'virtualmachineinstancemigrations')!)), { body: JSON.stringify({ ...baseObject(vmis, FIXTURES.vmi), metadata: { name: FIXTURES.vmi } }) });
  assert.equal(vmi.status, 201, vmi.body);
  remember(vmis, FIXTURES.vmi);
  remember(registry.byResource('nubis.dev', 'tenants')!, FIXTURES.tenant);
  remember(registry.byResource('nubis.dev', 'users')!, FIXTURES.user);
});

after(async () => {
  await s?.close();
});

test('hostile values at every field of every served kind: no 5xx, Kubernetes-shaped 4xx, nothing invalid stored', async () => {
  const t0 = Date.now();
  // NUBIS_HOSTILE_KINDS=Pod,Service narrows a run while debugging (and says so).
  const only = process.env.NUBIS_HOSTILE_KINDS?.split(',');
  if (only) process.stdout.write(`# only ${only.join(', ')}\n`);
  const kinds = registry.all().filter((t) => !only || only.includes(t.kind));
  const missing = kinds.filter((t) => !EXAMPLES[exampleKey(t)]).map(exampleKey);
  assert.deepEqual(missing, [], 'every served kind has an example object');

  // Each example is valid as it is (else the hostile values would only ever meet its own faults).
  for (const t of kinds) {
    const name = nextName('hx');
    const res = await send('POST', collectionPath(t), JSON.stringify(baseObject(t, name)));
    assert.equal(res.status, 201, `the ${t.kind} example is refused: ${res.body.slice(0, 500)}`);
    if (!t.ephemeral) {
      remember(t, name);
      checkStored(`${t.kind} example`, t, undefined, undefined, JSON.parse(res.body));
    }
  }

  const cases: Case[] = [];
  const met = new Set<Schema>();
  let paths = 0;
  for (const t of kinds) {
    const example = baseObject(t, 'x');
    fieldPaths(t.schema, example).forEach((fp, i) => {
      if (!covered(t, fp, i)) return;
      paths++;
      for (const h of hostileValues(fp, getAt(example, fp.segs), cases.length, met.has(fp.schema))) cases.push({ t, fp, h });
      met.add(fp.schema);
    });
  }
  await pool(cases, createCase);
  const createdIn = Date.now() - t0;

  // A sample as updates and patches, every verb in turn, over kinds that store objects.
  const writes = cases.filter((c, i) => !c.t.ephemeral && i % 23 === 0);
  await pool(writes.map((c, i) => [c, VERBS[i % VERBS.length]!] as const), ([c, verb]) => writeCase(c, verb));
  const writtenIn = Date.now() - t0 - createdIn;

  await pool(large, async (path) => {
    const res = await send('DELETE', path);
    if (res.status !== 200) fail(`DELETE ${path} answered ${res.status}: ${res.body.slice(0, 200)}`);
  });

  // Whole lists (JSON and Table) of every kind read, hold only what was accepted, and validate.
  const stored = kinds.filter((t) => !t.ephemeral);
  const listed = new Map<ResourceType, number>();
  await pool(stored, async (t) => {
    const all = `${t.group ? `/apis/${t.group}/${t.version}` : '/api/v1'}/${t.resource}`;
    const list = await send('GET', all);
    const body = parse(list);
    if (list.status !== 200 || !Array.isArray(body?.items)) {
      fail(`LIST ${t.resource} answered ${list.status}: ${list.body.slice(0, 200)}`);
      return;
    }
    listed.set(t, body.items.length);
    const ours = (body.items as KubeObject[]).filter((o) => /^h[xu]-/.test(o.metadata.name));
    for (const o of ours) {
      if (!accepted.get(t.resource)?.has(o.metadata.name)) fail(`LIST ${t.resource}: ${o.metadata.name} is stored but its write was refused`);
      else checkStored(`LIST ${t.resource} ${o.metadata.name}`, t, undefined, undefined, o);
    }
    const table = await send('GET', all, undefined, { Accept: TABLE });
    const tb = parse(table);
    if (table.status !== 200 || tb?.kind !== 'Table' || tb.rows?.length !== body.items.length || tb.rows.some((r: { cells: unknown[] }) => r.cells.length !== tb.columnDefinitions.length)) {
      fail(`LIST ${t.resource} as Table answered ${table.status} with ${tb?.rows?.length} rows for ${body.items.length} items`);
    }
  }, 4);

  // kubectl reads every kind that has objects, and names the field of a wrong-typed value in its error.
  await pool(stored, async (t) => {
    const res = await s.kubectl(['get', t.group ? `${t.resource}.${t.group}` : t.resource, '-A', '-o', 'json'], { allowFail: true });
    sent++;
    if (res.code !== 0) fail(`kubectl get ${t.resource} -A -o json failed: ${res.stderr.slice(0, 300)}`);
    else {
      try {
        const items = JSON.parse(res.stdout).items;
        if (items?.length !== listed.get(t)) fail(`kubectl get ${t.resource} -A -o json shows ${items?.length} objects, LIST ${listed.get(t)}`);
      } catch (err) {
        fail(`kubectl get ${t.resource} -A -o json printed no JSON: ${(err as Error).message}`);
      }
    }
  }, 4);
  for (const t of kinds.filter((k) => ['Pod', 'Deployment', 'Service', 'ConfigMap', 'Tenant'].includes(k.kind))) {
    const kind = t.kind;
    const fp = fieldPaths(t.schema, baseObject(t, 'x')).find((p) => (p.text.startsWith('spec.') && ['integer', 'boolean', 'string'].includes(p.schema.type)) || p.text === 'data');
    assert.ok(fp, `${kind} has a typed field`);
    const obj = baseObject(t, nextName('hx'));
    applyHostile(obj, fp, { label: 'wrong type', value: { hostile: true }, wrongType: true });
    const res = await s.kubectl(['create', '-f', '-', ...(t.namespaced ? ['-n', namespaceOf(t)!] : [])], { input: JSON.stringify(obj), allowFail: true });
    sent++;
    if (res.code === 0 || !res.stderr.includes(fp.text)) fail(`kubectl create ${kind} with a wrong type at ${fp.text}: exit ${res.code}, ${res.stderr.slice(0, 300)}`);
  }

  assert.equal((await send('GET', '/healthz')).status, 200, 'the server still answers /healthz');
  const hist = Object.fromEntries([...histogram].sort((a, b) => a[0] - b[0]));
  process.stdout.write(`# hostile fields: ${kinds.length} kinds, ${paths} field paths, ${cases.length} create cases, ${writes.length} update/patch cases, ${sent} requests in ${Date.now() - t0} ms (creates ${createdIn} ms, updates and patches ${writtenIn} ms)\n`);
  process.stdout.write(`# statuses ${JSON.stringify(hist)}\n`);
  if (failures.length > 0) process.stdout.write(`# ${failures.length} failures, first ones:\n${failures.slice(0, 60).map((f) => `#   ${f}`).join('\n')}\n`);
  assert.deepEqual(failures.slice(0, 60), [], `${failures.length} hostile requests were answered wrongly`);
});
