/**
 * Decoding of Kubernetes' protobuf request bodies (Content-Type application/vnd.kubernetes.protobuf),
 * which client-go's typed clients send since 1.31 (`kubectl create namespace|configmap|secret|
 * deployment|service|job`, `kubectl drain`'s evictions): the 4-byte magic `k8s\0`, then a
 * runtime.Unknown {typeMeta {apiVersion, kind}, raw, contentEncoding, contentType} whose raw bytes are
 * the object's message. The result is the object as JSON, shaped as Go's JSON encoder writes the
 * decoded struct (omitted zero values, int-or-string, quantities, RFC 3339 times, base64 bytes), so the
 * rest of the server sees no difference from a JSON body.
 *
 * A field number the schema (core-proto.ts and friends) does not list is refused with a 400 naming
 * where it was, never silently dropped. Answers stay JSON: clients that send protobuf also accept JSON.
 */
import protobuf from 'protobufjs';
import { ApiError, badRequest } from '../status.js';
import { CORE_PROTO } from './core-proto.js';
import { SMALL_PROTOS } from './meta-proto.js';
import { AUTHENTICATION_PROTO, BATCH_PROTO, CERTIFICATES_PROTO, RBAC_PROTO, REVIEWS_PROTO, WORKLOADS_PROTO } from './workloads-proto.js';

export const PROTOBUF_CONTENT_TYPE = 'application/vnd.kubernetes.protobuf';
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

type Json = Record<string, unknown>;

/** API group → the package of its messages in the schema. */
const PACKAGES: Record<string, string> = {
  '': 'k8s.core',
  apps: 'k8s.apps',
  batch: 'k8s.batch',
  'coordination.k8s.io': 'k8s.coordination',
  'node.k8s.io': 'k8s.node',
  policy: 'k8s.policy',
  autoscaling: 'k8s.autoscaling',
  'meta.k8s.io': 'k8s.meta',
  'rbac.authorization.k8s.io': 'k8s.rbac',
  'authorization.k8s.io': 'k8s.authorization',
  'authentication.k8s.io': 'k8s.authentication',
  'certificates.k8s.io': 'k8s.certificates',
};

let root: protobuf.Root | undefined;

/** The schema, parsed once on first use (most servers never see a protobuf body). */
function schema(): protobuf.Root {
  if (root) return root;
  const r = new protobuf.Root();
  for (const src of [...SMALL_PROTOS, CORE_PROTO, WORKLOADS_PROTO, BATCH_PROTO, RBAC_PROTO, REVIEWS_PROTO, AUTHENTICATION_PROTO, CERTIFICATES_PROTO]) protobuf.parse(src, r, { keepCase: true });
  r.resolveAll();
  root = r;
  return r;
}

/** The message type for an apiVersion and kind, undefined when Nubis has no schema for it. */
export function messageType(apiVersion: string, kind: string): protobuf.Type | undefined {
  const slash = apiVersion.indexOf('/');
  const group = slash >= 0 ? apiVersion.slice(0, slash) : '';
  // DeleteOptions is registered in every group version; its message lives in meta.
  const pkg = kind === 'DeleteOptions' ? 'k8s.meta' : PACKAGES[group];
  if (!pkg || !/^[A-Za-z]+$/.test(kind)) return undefined;
  const found = schema().lookup(`${pkg}.${kind}`);
  return found instanceof protobuf.Type ? found : undefined;
}

/** Decodes a protobuf request body into the JSON object it stands for (with apiVersion and kind). */
export function decodeProtobufBody(body: Buffer): Json {
  if (body.length < MAGIC.length || !body.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw badRequest('the protobuf body does not start with the Kubernetes magic number (k8s\\0)');
  }
  const unknownType = schema().lookupType('k8s.runtime.Unknown');
  const envelope = body.subarray(MAGIC.length);
  checkKnownFields(unknownType, envelope, '');
  let wrapper: { typeMeta?: { apiVersion?: string; kind?: string }; raw?: Uint8Array; contentEncoding?: string; contentType?: string };
  try {
    wrapper = unknownType.decode(envelope) as typeof wrapper;
  } catch (err) {
    throw badRequest(`the protobuf body is malformed: ${(err as Error).message}`, err);
  }
  if (wrapper.contentEncoding) throw new ApiError('UnsupportedMediaType', `protobuf bodies with content encoding "${wrapper.contentEncoding.slice(0, 50)}" are not supported`);
  if (wrapper.contentType && wrapper.contentType !== PROTOBUF_CONTENT_TYPE) {
    throw new ApiError('UnsupportedMediaType', `unsupported inner content type "${wrapper.contentType.slice(0, 100)}"`);
  }
  const apiVersion = wrapper.typeMeta?.apiVersion ?? '';
  const kind = wrapper.typeMeta?.kind ?? '';
  if (!kind) throw badRequest('the protobuf body names no kind');
  const type = messageType(apiVersion, kind);
  if (!type) {
    throw new ApiError('UnsupportedMediaType', `protobuf is not decoded for ${apiVersion ? `${apiVersion.slice(0, 100)}, ` : ''}Kind=${kind.slice(0, 100)}; send it as JSON`);
  }
  const raw = Buffer.from(wrapper.raw ?? new Uint8Array());
  checkKnownFields(type, raw, '');
  let message: protobuf.Message;
  try {
    message = type.decode(raw);
  } catch (err) {
    throw badRequest(`the protobuf body is malformed: ${(err as Error).message}`, err);
  }
  const obj = toJson(type, message as unknown as Json);
  return apiVersion ? { apiVersion, kind, ...obj } : { kind, ...obj };
}

/**
 * Walks the wire format and refuses any field number the schema lacks, naming the JSON path where it
 * appeared (protobufjs itself would skip it without a word).
 */
function checkKnownFields(type: protobuf.Type, bytes: Uint8Array, path: string): void {
  const reader = protobuf.Reader.create(bytes);
  try {
    walk(type, reader, bytes.length, path);
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw badRequest(`the protobuf body is malformed: ${(err as Error).message}`, err);
  }
}

function walk(type: protobuf.Type, reader: protobuf.Reader, end: number, path: string): void {
  while (reader.pos < end) {
    const tag = reader.uint32();
    const id = tag >>> 3;
    const wire = tag & 7;
    const field = type.fieldsById[id];
    if (!field) {
      throw badRequest(
        `the protobuf body has field number ${id} in ${path || 'the object'} (${type.name}), which Nubis does not decode; send the object as JSON`,
      );
    }
    const here = path ? `${path}.${field.name}` : field.name;
    const nested = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
    if (wire !== 2 || !nested) {
      reader.skipType(wire);
      continue;
    }
    const len = reader.uint32();
    const stop = reader.pos + len;
    if (field.map) {
      // A map entry: key = 1, value = 2 (the message checked).
      while (reader.pos < stop) {
        const t = reader.uint32();
        if (t >>> 3 === 2 && (t & 7) === 2) {
          const l = reader.uint32();
          walk(nested, reader, reader.pos + l, `${here}[]`);
        } else reader.skipType(t & 7);
      }
    } else {
      walk(nested, reader, stop, field.repeated ? `${here}[]` : here);
    }
    reader.pos = stop;
  }
}

const isLong = (v: unknown): v is { toNumber(): number } => typeof v === 'object' && v !== null && typeof (v as { toNumber?: unknown }).toNumber === 'function';
const num = (v: unknown): number => (typeof v === 'number' ? v : isLong(v) ? v.toNumber() : Number(v));

function rfc3339(seconds: number, nanos: number, micro: boolean): string {
  const d = new Date(seconds * 1000);
  const base = d.toISOString().slice(0, 19);
  return micro ? `${base}.${String(Math.floor(nanos / 1000)).padStart(6, '0')}Z` : `${base}Z`;
}

/** A message with a JSON form of its own (Time, Quantity, IntOrString...), or undefined for ordinary ones. */
function special(type: protobuf.Type, m: Json): { value: unknown } | undefined {
  switch (type.fullName) {
    case '.k8s.meta.Time':
    case '.k8s.meta.MicroTime': {
      const seconds = num(m.seconds ?? 0);
      const nanos = num(m.nanos ?? 0);
      if (seconds === 0 && nanos === 0) return { value: undefined };
      return { value: rfc3339(seconds, nanos, type.name === 'MicroTime') };
    }
    case '.k8s.resource.Quantity':
      return { value: typeof m.string === 'string' && m.string !== '' ? m.string : '0' };
    case '.k8s.intstr.IntOrString':
      return { value: num(m.type ?? 0) === 1 ? (m.strVal ?? '') : num(m.intVal ?? 0) };
    case '.k8s.meta.FieldsV1': {
      const raw = m.Raw as Uint8Array | undefined;
      if (!raw || raw.length === 0) return { value: {} };
      try {
        return { value: JSON.parse(Buffer.from(raw).toString('utf8')) };
      } catch (err) {
        throw badRequest('managedFields[].fieldsV1 in the protobuf body is not JSON', err);
      }
    }
    default:
      return undefined;
  }
}

function isZero(v: unknown): boolean {
  if (v === undefined || v === null || v === '' || v === false || v === 0) return true;
  if (isLong(v)) return v.toNumber() === 0;
  if (v instanceof Uint8Array) return v.length === 0;
  if (Array.isArray(v)) return v.length === 0;
  return typeof v === 'object' && Object.keys(v).length === 0;
}

function scalar(field: protobuf.Field, v: unknown): unknown {
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (isLong(v)) return v.toNumber();
  if (field.type === 'int64' || field.type === 'uint64' || field.type === 'sint64') return num(v);
  return v;
}

function value(field: protobuf.Field, v: unknown): unknown {
  const t = field.resolvedType;
  if (t instanceof protobuf.Type) return message(t, v as Json);
  return scalar(field, v);
}

function message(type: protobuf.Type, m: Json): unknown {
  const s = special(type, m);
  return s ? s.value : toJson(type, m);
}

/** The JSON object of a decoded message (fields the sender set, zero values by Go's rules). */
function toJson(type: protobuf.Type, m: Json): Json {
  const out: Json = {};
  for (const field of type.fieldsArray) {
    if (!Object.prototype.hasOwnProperty.call(m, field.name)) continue;
    const raw = m[field.name];
    const opts = field.options ?? {};
    const ptr = opts['(ptr)'] === true;
    const keep = opts['(keep)'] === true;
    let v: unknown;
    if (field.map) {
      const entries = Object.entries((raw ?? {}) as Json);
      if (entries.length === 0) continue;
      v = Object.fromEntries(entries.map(([k, x]) => [k, value(field, x)]));
    } else if (field.repeated) {
      const list = (raw ?? []) as unknown[];
      if (list.length === 0) continue;
      v = list.map((x) => value(field, x));
    } else {
      v = value(field, raw);
    }
    if (opts['(inline)'] === true) {
      if (v && typeof v === 'object') Object.assign(out, v);
      continue;
    }
    if (v === undefined) continue;
    if (!ptr && !keep && isZero(v)) continue;
    out[field.name] = v;
  }
  return out;
}
