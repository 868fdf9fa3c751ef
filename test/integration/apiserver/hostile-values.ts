/**
 * The hostile values of hostile-fields.test.ts and how they are put into objects: every field path of a
 * kind's schema (lists at their first item, maps at a key), and per field a few values that a server
 * must refuse or store well-formed, by the field's type and name.
 */
import type { Schema } from '../../../src/api/schema.js';

export type Json = Record<string, unknown>;
export type Seg = { field: string } | { index: number } | { key: string };

/** One field of a kind, reached from the example: how to get there, its schema, its name in errors. */
export interface FieldPath {
  segs: Seg[];
  schema: Schema;
  /** As Kubernetes names fields in errors: `spec.containers[0].ports[0].name`, `metadata.labels[app]`. */
  text: string;
  /** As unknown-field errors name it (map keys after a dot). */
  unknownText: string;
}

export interface Hostile {
  label: string;
  value: unknown;
  /** Not the JSON type the schema says: never stored. */
  wrongType?: boolean;
  /** Where below the path the wrong type sits (a list's first item). */
  below?: string;
  /** Nested beyond the server's limit: a 400. */
  deep?: boolean;
  /** Put a field the schema does not know below this path, with fieldValidation (Warn by default). */
  unknown?: 'Warn' | 'Strict';
}

/** How deep field paths go (a PodSpec needs about ten levels). */
const MAX_DEPTH = 14;

const LONG = 'x'.repeat(300 * 1024);
const BAD_UTF8 = 'HX-BAD-UTF8-MARKER';
/** The name of the unknown field the test puts into objects. */
export const UNKNOWN = 'zzHostileUnknown';

function deepValue(levels: number, kind: 'array' | 'object'): unknown {
  let v: unknown = 1;
  for (let i = 0; i < levels; i++) v = kind === 'array' ? [v] : { a: v };
  return v;
}

const STRINGS: Hostile[] = [
  { label: '300KB string', value: LONG },
  { label: 'control characters', value: 'a\u0000b\u0001c\u001b[31m\u007f' },
  { label: 'lone surrogates', value: 'a\ud800b\udfffc' },
  { label: 'invalid UTF-8', value: BAD_UTF8 },
  { label: 'empty string', value: '' },
  { label: 'whitespace', value: '  \t ' },
  { label: 'not a name', value: 'Bad_Name..' },
  { label: 'unicode', value: 'ünïcödé-名前' },
  { label: 'path traversal', value: '../../etc/passwd' },
  { label: '254 characters', value: 'a'.repeat(254) },
];
const INTEGERS: Hostile[] = [
  { label: 'fraction', value: 1.5 },
  { label: 'negative', value: -1 },
  { label: 'int32 max + 1', value: 2 ** 31 },
  { label: 'int32 min - 1', value: -(2 ** 31) - 1 },
  { label: 'beyond 2^53', value: 2 ** 53 + 2 },
  { label: '1e308', value: 1e308 },
  { label: '-1e308', value: -1e308 },
  { label: 'zero', value: 0 },
  { label: 'beyond int64', value: 2 ** 64 },
];
const QUANTITIES: Hostile[] = [
  { label: 'not a quantity', value: 'abc' },
  { label: 'huge exponent', value: '1e999999999' },
  { label: 'bad suffix', value: '1Qi' },
  { label: 'negative quantity', value: '-1' },
  { label: 'two points', value: '1.5.5' },
  { label: 'empty quantity', value: '' },
  { label: '1e308', value: 1e308 },
  { label: 'digits x400', value: '9'.repeat(400) },
  { label: 'tiny', value: '0.0000000001m' },
  { label: 'exponent suffix only', value: '1E' },
];
const INT_OR_STRINGS: Hostile[] = [
  { label: 'fraction', value: 1.5 },
  { label: 'negative', value: -1 },
  { label: 'beyond a port', value: 70000 },
  { label: 'beyond int32', value: 2 ** 31 },
  { label: 'empty string', value: '' },
  { label: 'bad percent', value: 'abc%' },
  { label: 'negative percent', value: '-5%' },
  { label: '1e308', value: 1e308 },
  { label: '300KB string', value: LONG },
];
const TIMES: Hostile[] = [
  { label: 'not a time', value: 'yesterday' },
  { label: 'impossible date', value: '2024-13-45T99:99:99Z' },
  { label: 'empty time', value: '' },
  { label: 'year 0', value: '0000-00-00T00:00:00Z' },
  { label: 'five-digit year', value: '99999-01-01T00:00:00Z' },
  { label: 'control characters', value: '2024-01-01T00:00:00Z\u0000' },
];
const BYTES: Hostile[] = [
  { label: 'not base64', value: '!!!not base64' },
  { label: 'unpadded', value: 'YQ' },
  { label: 'empty', value: '' },
  { label: 'invalid UTF-8', value: BAD_UTF8 },
];
const NUMBERS: Hostile[] = [
  { label: '1e308', value: 1e308 },
  { label: '-1e308', value: -1e308 },
  { label: 'negative', value: -1 },
];
/** By field name: addresses, ranges and ports get the malformed values of their kind. */
const NAMED: Array<[RegExp, Hostile[]]> = [
  [/(^|[a-z])(ip|IP|ips|IPs|address|addresses|nameservers)$/, [
    { label: 'bad IPv4', value: '999.1.1.1' },
    { label: 'bad IPv6', value: '::g' },
    { label: 'IP with prefix', value: '10.0.0.1/33' },
  ]],
  [/(cidr|CIDR|CIDRs|Ranges)$/, [{ label: 'bad CIDR', value: '10.0.0.0/99' }, { label: 'not a CIDR', value: 'x' }]],
  [/([pP]ort|Port)$/, [{ label: 'port 0', value: 0 }, { label: 'port 65536', value: 65536 }, { label: 'port name too long', value: 'a-very-long-port-name' }]],
  [/^(image|operator|key|effect|type|protocol|verbs?|scopeName|restartPolicy|dnsPolicy|phase)$/, [{ label: 'unsupported value', value: 'Bogus Value' }]],
];

function wrongTypes(s: Schema): unknown[] {
  switch (s.type) {
    case 'string':
    case 'date-time':
    case 'byte':
      return [42, { a: 1 }, ['x'], true];
    case 'integer':
    case 'number':
      return ['7', { a: 1 }, [1], true];
    case 'boolean':
      return ['true', 1, { a: 1 }, []];
    case 'int-or-string':
    case 'quantity':
      return [{ a: 1 }, ['1'], true, false];
    case 'object':
    case 'map':
      return ['x', 5, ['x'], true];
    case 'array':
      return ['x', 5, { a: 1 }, true];
    case 'any':
      return [];
  }
}

/** A value of the schema's type that is valid enough to fill a list or map (huge lists and maps). */
function filler(s: Schema, existing: unknown): unknown {
  if (existing !== undefined && existing !== null) return existing;
  switch (s.type) {
    case 'string':
      return 'x';
    case 'integer':
    case 'number':
    case 'int-or-string':
      return 1;
    case 'quantity':
      return '1';
    case 'boolean':
      return false;
    case 'date-time':
      return '2024-01-01T00:00:00Z';
    case 'byte':
      return 'eA==';
    case 'array':
      return [];
    default:
      return {};
  }
}

/**
 * The hostile values for one field: two wrong types, null, and picks from the type's pool, rotating
 * with `n`. A schema met before (a container's fields again in containers after initContainers, a
 * probe's in the next probe, a PodSpec again in a workload, metadata in every kind) gets one of them.
 */
export function hostileValues(fp: FieldPath, current: unknown, n: number, again: boolean): Hostile[] {
  const all = allHostileValues(fp, current, n);
  return again ? [all[n % all.length]!] : all;
}

function allHostileValues(fp: FieldPath, current: unknown, n: number): Hostile[] {
  const s = fp.schema;
  const pick = <T>(xs: T[], count: number): T[] => (xs.length <= count ? xs : Array.from({ length: count }, (_, i) => xs[(n + i * 3) % xs.length]!));
  const out: Hostile[] = pick(wrongTypes(s), 1).map((value) => ({ label: `wrong type ${Array.isArray(value) ? 'array' : typeof value}`, value, wrongType: true }));
  out.push({ label: 'null', value: null });
  const last = fp.segs.at(-1);
  const name = last && 'field' in last ? last.field : '';
  for (const [re, values] of NAMED) if (re.test(name)) out.push(...pick(values, 1));
  switch (s.type) {
    case 'string':
      out.push(...pick(STRINGS, 2));
      break;
    case 'integer':
      out.push(...pick(INTEGERS, 2));
      break;
    case 'number':
      out.push(...pick(NUMBERS, 1));
      break;
    case 'int-or-string':
      out.push(...pick(INT_OR_STRINGS, 2));
      break;
    case 'quantity':
      out.push(...pick(QUANTITIES, 2));
      break;
    case 'date-time':
      out.push(...pick(TIMES, 2));
      break;
    case 'byte':
      out.push(...pick(BYTES, 2));
      break;
    case 'object':
      out.push({ label: 'unknown field', value: undefined, unknown: n % 2 === 0 ? 'Warn' : 'Strict' });
      if (n % 3 === 0) out.push({ label: 'nested 150 deep', value: deepValue(150, 'object'), deep: true });
      break;
    case 'map': {
      const v = current && typeof current === 'object' ? Object.values(current)[0] : undefined;
      const pool: Hostile[] = [
        { label: 'huge map', value: Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`k${i}`, filler(s.values, v)])) },
        { label: 'bad keys', value: { 'bad key!': filler(s.values, v), '': filler(s.values, v) } },
        { label: '300KB key', value: { [LONG]: filler(s.values, v) } },
        { label: 'nested 150 deep', value: { k: deepValue(150, 'object') }, deep: true },
      ];
      out.push(...pick(pool, 2));
      break;
    }
    case 'array': {
      const item = Array.isArray(current) ? current[0] : undefined;
      const pool: Hostile[] = [
        { label: 'huge list', value: Array.from({ length: 2000 }, () => structuredClone(filler(s.items, item))) },
        { label: 'null item', value: [null], wrongType: s.items.type !== 'any', below: '[0]' },
        { label: 'duplicate items', value: [filler(s.items, item), filler(s.items, item)] },
        { label: 'nested 150 deep', value: deepValue(150, 'array'), deep: true },
      ];
      out.push(...pick(pool, 2));
      break;
    }
    case 'any':
      out.push({ label: 'nested 150 deep', value: deepValue(150, 'array'), deep: true });
      out.push({ label: 'nested 90 deep', value: deepValue(90, 'object') });
      out.push({ label: 'a string', value: LONG });
      break;
  }
  return out;
}

function child(v: unknown, seg: Seg): unknown {
  if (v === null || typeof v !== 'object') return undefined;
  if ('index' in seg) return Array.isArray(v) ? v[seg.index] : undefined;
  return (v as Json)['field' in seg ? seg.field : seg.key];
}

/** Every field path of a schema, lists stepped into at item 0 and maps at an existing (or made-up) key. */
export function fieldPaths(root: Schema, example: unknown): FieldPath[] {
  const out: FieldPath[] = [];
  const walk = (s: Schema, v: unknown, segs: Seg[], text: string, unknownText: string) => {
    if (segs.length > 0) out.push({ segs, schema: s, text, unknownText });
    if (segs.length >= MAX_DEPTH) return;
    if (s.type === 'object') {
      for (const [k, cs] of Object.entries(s.fields)) {
        const seg = { field: k };
        walk(cs, child(v, seg), [...segs, seg], text ? `${text}.${k}` : k, unknownText ? `${unknownText}.${k}` : k);
      }
    } else if (s.type === 'map') {
      const key = v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0 ? Object.keys(v)[0]! : 'hx-key';
      const seg = { key };
      walk(s.values, child(v, seg), [...segs, seg], `${text}[${key}]`, `${unknownText}.${key}`);
    } else if (s.type === 'array') {
      const seg = { index: 0 };
      walk(s.items, child(v, seg), [...segs, seg], `${text}[0]`, `${unknownText}[0]`);
    }
  };
  walk(root, example, [], '', '');
  return out;
}

/** Sets `value` at `segs`, making missing objects, lists and list items on the way. */
export function setAt(obj: Json, segs: Seg[], value: unknown): void {
  let cur: unknown = obj;
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i]!;
    const next = segs[i + 1];
    const container = cur as Record<string | number, unknown>;
    const k = 'index' in seg ? seg.index : 'field' in seg ? seg.field : seg.key;
    if (!next) {
      container[k] = value;
      return;
    }
    const want = 'index' in next ? 'array' : 'object';
    const have = container[k];
    const ok = want === 'array' ? Array.isArray(have) : have !== null && typeof have === 'object' && !Array.isArray(have);
    if (!ok) container[k] = want === 'array' ? [] : {};
    if (want === 'array') {
      const list = container[k] as unknown[];
      while (list.length <= (next as { index: number }).index) list.push({});
    }
    cur = container[k];
  }
}

export function getAt(obj: unknown, segs: Seg[]): unknown {
  let cur = obj;
  for (const seg of segs) cur = child(cur, seg);
  return cur;
}

/** The request body: JSON, with the invalid-UTF-8 marker replaced by raw bytes that are no UTF-8. */
export function encode(body: unknown): string | Buffer {
  const text = JSON.stringify(body);
  if (!text.includes(BAD_UTF8)) return text;
  const parts = text.split(BAD_UTF8);
  const bad = Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80]);
  return Buffer.concat(parts.flatMap((p, i) => (i === 0 ? [Buffer.from(p)] : [bad, Buffer.from(p)])));
}

/** Puts one hostile value into `obj` (an unknown field goes below the path, beside what is there). */
export function applyHostile(obj: Json, fp: FieldPath, h: Hostile): void {
  if (h.unknown) {
    const here = getAt(obj, fp.segs);
    setAt(obj, fp.segs, { ...(here && typeof here === 'object' && !Array.isArray(here) ? here : {}), [UNKNOWN]: 1 });
  } else {
    setAt(obj, fp.segs, structuredClone(h.value));
  }
}
