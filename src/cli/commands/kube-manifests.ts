/** Objects from -f arguments: files, directories (-R for subdirectories), `-` for stdin; multi-document YAML or JSON, `kind: List` expanded. */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import type { KubeObject } from '../../api/meta.js';
import { errno, invalid, notFound } from '../../lib/errors.js';
import type { CliContext } from '../context.js';
import { readStdin } from './kube-session.js';

export interface Manifest {
  /** Where it came from (file path or "STDIN"), for messages. */
  source: string;
  object: KubeObject;
}

const EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

async function filesOf(arg: string, recursive: boolean): Promise<string[]> {
  let st;
  try {
    st = await stat(arg);
  } catch (err) {
    if (errno(err) === 'ENOENT') throw notFound(`the path "${arg}" does not exist`, err);
    throw err;
  }
  if (!st.isDirectory()) return [arg];
  const out: string[] = [];
  for (const e of (await readdir(arg, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = path.join(arg, e.name);
    if (e.isDirectory()) {
      if (recursive) out.push(...(await filesOf(p, true)));
    } else if (EXTENSIONS.has(path.extname(e.name))) out.push(p);
  }
  return out;
}

/** The objects of one text (YAML stream or JSON), checked to have apiVersion, kind and a name. */
export function parseManifests(text: string, source: string): Manifest[] {
  const out: Manifest[] = [];
  const docs = YAML.parseAllDocuments(text);
  for (const [i, doc] of docs.entries()) {
    if (doc.errors.length > 0) throw invalid(`error parsing ${source}: ${doc.errors[0]!.message.split('\n')[0]}`);
    const value = doc.toJS({ maxAliasCount: 100 }) as unknown;
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || Array.isArray(value)) throw invalid(`error validating ${source} (document ${i + 1}): an object must be a map`);
    const obj = value as KubeObject;
    if (obj.kind === 'List' || (typeof obj.kind === 'string' && obj.kind.endsWith('List') && Array.isArray(obj.items))) {
      for (const item of (obj.items as KubeObject[]) ?? []) out.push({ source, object: check(item, source) });
      continue;
    }
    out.push({ source, object: check(obj, source) });
  }
  return out;
}

function check(obj: KubeObject, source: string): KubeObject {
  if (typeof obj !== 'object' || obj === null) throw invalid(`error validating ${source}: an item is not a map`);
  if (!obj.apiVersion) throw invalid(`error validating ${source}: apiVersion not set`);
  if (!obj.kind) throw invalid(`error validating ${source}: kind not set`);
  if (typeof obj.metadata !== 'object' || obj.metadata === null) obj.metadata = { name: '' };
  return obj;
}

/** Reads every -f argument in order; fails before anything is sent when any file is bad. */
export async function readManifests(ctx: CliContext, files: string[], recursive = false): Promise<Manifest[]> {
  if (files.length === 0) throw invalid('must specify one of -f and -k');
  const out: Manifest[] = [];
  for (const f of files) {
    if (f === '-') {
      out.push(...parseManifests(await readStdin(ctx), 'STDIN'));
      continue;
    }
    if (/^https?:\/\//.test(f)) throw invalid(`reading manifests from URLs is not supported: ${f}`);
    for (const file of await filesOf(f, recursive)) out.push(...parseManifests(await readFile(file, 'utf8'), file));
  }
  if (out.length === 0) throw invalid('no objects passed to the command');
  return out;
}
