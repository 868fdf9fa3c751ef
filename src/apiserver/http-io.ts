/** Reading request bodies (size limit, JSON or YAML) and writing JSON answers, with content negotiation. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, badRequest, type Status } from './status.js';
import { YamlParser, YamlTooSlow } from './yaml-parser.js';

/** Kubernetes' limit for one request body. */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

/** Reads the whole body; 413 as soon as it passes `limit`. */
export async function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    throw tooLarge(limit);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      req.resume();
      throw tooLarge(limit);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function tooLarge(limit: number): ApiError {
  return new ApiError('RequestEntityTooLarge', `the request body is larger than the limit of ${limit} bytes`);
}

/** The media type of a Content-Type header, lower case, without parameters. */
export function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]!.trim().toLowerCase();
}

/** Where YAML bodies parse (off the event loop when large); its idle threads do not keep the process alive. */
export const yamlParser = new YamlParser();

/** Parses a body as JSON, or as YAML for YAML media types (apply-patch+yaml, application/yaml). */
export async function parseBody(body: Buffer, contentType: string | undefined): Promise<unknown> {
  const type = mediaType(contentType);
  if (type === 'application/vnd.kubernetes.protobuf') {
    throw new ApiError('UnsupportedMediaType', 'protobuf bodies are not supported; send JSON or YAML');
  }
  const text = body.toString('utf8');
  if (text.trim() === '') throw badRequest('the request body is empty');
  let yaml = type.endsWith('yaml');
  if (yaml && text.trimStart().startsWith('{')) {
    // JSON is YAML too (kubectl sends server-side apply as JSON under a YAML type): read it as JSON, fast.
    checkNesting(text, true);
    try {
      return wellFormed(text, JSON.parse(text));
    } catch {
      yaml = true;
    }
  }
  // YAML parses far slower than JSON (seconds for a MiB of nested flow collections): bounded, and off the event loop.
  if (yaml && body.length > MAX_YAML_BYTES) throw new ApiError('RequestEntityTooLarge', `YAML request bodies are limited to ${MAX_YAML_BYTES / 1024} KiB; send JSON`);
  checkNesting(text, !yaml);
  if (yaml) {
    try {
      return wellFormed(text, await yamlParser.parse(text));
    } catch (err) {
      if (err instanceof YamlTooSlow) throw new ApiError('RequestEntityTooLarge', err.message);
      throw badRequest(`the request body is not valid YAML: ${(err as Error).message.split('\n')[0]}`, err);
    }
  }
  if (type !== '' && !type.endsWith('json') && type !== 'text/plain' && type !== '*/*') {
    throw new ApiError('UnsupportedMediaType', `unsupported media type "${type.slice(0, 100)}"`);
  }
  try {
    return wellFormed(text, JSON.parse(text));
  } catch (err) {
    throw badRequest(`the request body is not valid JSON: ${(err as Error).message}`, err);
  }
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * A parsed body whose strings and keys hold no lone UTF-16 surrogates (`"\ud800"` escapes): they become
 * U+FFFD, as Go's JSON decoder makes them, so that names and keys are valid Unicode (a store key or a
 * URL could not hold them). Only bodies that have such an escape at all are walked.
 */
function wellFormed(text: string, value: unknown): unknown {
  if (!/\\u[dD][89a-fA-F]/.test(text)) return value;
  const fix = (v: unknown): unknown => {
    if (typeof v === 'string') return v.replace(LONE_SURROGATE, '\ufffd');
    if (Array.isArray(v)) return v.map(fix);
    if (typeof v !== 'object' || v === null) return v;
    return Object.fromEntries(Object.entries(v).map(([k, child]) => [fix(k) as string, fix(child)]));
  };
  return fix(value);
}

/** The largest YAML body parsed (JSON bodies may be as large as any body). */
export const MAX_YAML_BYTES = 1024 * 1024;

/** How deep objects and lists may nest in a body (Kubernetes objects need a few dozen levels at most). */
export const MAX_NESTING = 100;

/**
 * Refuses, before parsing, a body nested deeper than MAX_NESTING: by brackets (JSON outside strings;
 * YAML everywhere, since its quoting, comments and block scalars are the parser's to know, and a
 * mistaken guess would let a deep body through) and by indentation (YAML block style). A deep body would otherwise cost the
 * parser seconds and every later walk of the object (validation, patches, serialization) more.
 */
export function checkNesting(text: string, json: boolean): void {
  let depth = 0;
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = '';
      continue;
    }
    if (c === '"' && json) quote = c;
    else if (c === '[' || c === '{') {
      if (++depth > MAX_NESTING) throw badRequest(`the request body nests deeper than ${MAX_NESTING} levels`);
    } else if (c === ']' || c === '}') depth = Math.max(0, depth - 1);
  }
  // Block YAML: every level indents at least one more column (and "- " items two).
  const indent = /^([ \t-]*)\S/gm;
  for (let m = indent.exec(text); m; m = indent.exec(text)) {
    if (m[1]!.length > MAX_NESTING * 2) throw badRequest(`the request body nests deeper than ${MAX_NESTING} levels`);
  }
}

/** A body that must be a JSON object (not an array, string or null). */
export function asObject(value: unknown, what = 'the request body'): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badRequest(`${what} must be a JSON object`);
  return value as Record<string, unknown>;
}

/** One clause of an Accept header: media type and parameters (as, g, v). */
export interface AcceptClause {
  type: string;
  params: Record<string, string>;
}

export function parseAccept(header: string | undefined): AcceptClause[] {
  if (!header) return [{ type: '*/*', params: {} }];
  return header.split(',').map((clause) => {
    const [type, ...params] = clause.split(';');
    const p: Record<string, string> = {};
    for (const kv of params) {
      const eq = kv.indexOf('=');
      if (eq > 0) p[kv.slice(0, eq).trim().toLowerCase()] = kv.slice(eq + 1).trim();
    }
    return { type: type!.trim().toLowerCase(), params: p };
  });
}

/** What representation a client wants: plain JSON, a meta.k8s.io Table, or something we cannot give. */
export type Representation = 'json' | 'table' | 'none';

export function negotiate(header: string | undefined): Representation {
  for (const c of parseAccept(header)) {
    const jsonish = c.type === 'application/json' || c.type === '*/*' || c.type === 'application/*' || c.type === 'application/yaml';
    if (!jsonish) continue;
    if (c.params.as === 'Table' && c.params.g === 'meta.k8s.io' && (c.params.v === 'v1' || c.params.v === 'v1beta1')) return 'table';
    if (c.params.as === undefined) return 'json';
  }
  return 'none';
}

/** Writes a JSON answer. */
export function sendJson(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendStatus(res: ServerResponse, status: Status): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, status.code, status);
}
