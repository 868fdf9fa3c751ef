/**
 * kubeconfig files as kubectl reads them: several files merged (KUBECONFIG=a:b, the first file that names
 * a cluster, user or context wins, as does the first current-context), one context selected, and the
 * connection it describes (server, CA, bearer token or client certificate). Relative file references
 * resolve against the file that holds them.
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { errno, invalid, notFound } from '../lib/errors.js';
import { exists, writeFileAtomic } from '../lib/files.js';
import type { ClusterConnection } from './rest-client.js';

export interface KubeCluster {
  server: string;
  'certificate-authority'?: string;
  'certificate-authority-data'?: string;
  'insecure-skip-tls-verify'?: boolean;
  'tls-server-name'?: string;
  [field: string]: unknown;
}

export interface KubeUser {
  token?: string;
  tokenFile?: string;
  'client-certificate'?: string;
  'client-certificate-data'?: string;
  'client-key'?: string;
  'client-key-data'?: string;
  username?: string;
  password?: string;
  [field: string]: unknown;
}

export interface KubeContext {
  cluster: string;
  user: string;
  namespace?: string;
  [field: string]: unknown;
}

/** A kubeconfig document (kind: Config). */
export interface Kubeconfig {
  apiVersion: string;
  kind: string;
  clusters: Array<{ name: string; cluster: KubeCluster }>;
  users: Array<{ name: string; user: KubeUser }>;
  contexts: Array<{ name: string; context: KubeContext }>;
  'current-context'?: string;
  preferences?: Record<string, unknown>;
  [field: string]: unknown;
}

/** An empty kubeconfig. */
export function emptyKubeconfig(): Kubeconfig {
  return { apiVersion: 'v1', kind: 'Config', clusters: [], users: [], contexts: [], preferences: {} };
}

function namedList<E>(doc: Record<string, unknown>, field: string, inner: string, file: string): E[] {
  const v = doc[field];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw invalid(`${file}: "${field}" must be a list`);
  return v.map((entry, i) => {
    if (typeof entry !== 'object' || entry === null || typeof (entry as { name?: unknown }).name !== 'string') {
      throw invalid(`${file}: ${field}[${i}] needs a name`);
    }
    const body = (entry as Record<string, unknown>)[inner];
    if (typeof body !== 'object' || body === null) throw invalid(`${file}: ${field}[${i}] ("${(entry as { name: string }).name}") has no ${inner}`);
    return entry as E;
  });
}

const FILE_FIELDS: Record<string, string[]> = {
  cluster: ['certificate-authority'],
  user: ['client-certificate', 'client-key', 'tokenFile'],
};

/**
 * Parses one kubeconfig. With `file`, relative paths inside (certificate-authority, client-certificate,
 * client-key, tokenFile) become absolute against its directory.
 */
export function parseKubeconfig(text: string, file = '<kubeconfig>'): Kubeconfig {
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (err) {
    throw invalid(`${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`, err);
  }
  if (doc === null || doc === undefined) return emptyKubeconfig();
  if (typeof doc !== 'object' || Array.isArray(doc)) throw invalid(`${file}: a kubeconfig must be a map`);
  const d = doc as Record<string, unknown>;
  const cfg: Kubeconfig = {
    ...d,
    apiVersion: typeof d.apiVersion === 'string' ? d.apiVersion : 'v1',
    kind: typeof d.kind === 'string' ? d.kind : 'Config',
    clusters: namedList<Kubeconfig['clusters'][number]>(d, 'clusters', 'cluster', file),
    users: namedList<Kubeconfig['users'][number]>(d, 'users', 'user', file),
    contexts: namedList<Kubeconfig['contexts'][number]>(d, 'contexts', 'context', file),
  };
  if (typeof d['current-context'] !== 'string' || d['current-context'] === '') delete cfg['current-context'];
  if (file !== '<kubeconfig>') {
    const dir = path.dirname(path.resolve(file));
    const absolutize = (obj: Record<string, unknown>, fields: string[]) => {
      for (const f of fields) {
        const v = obj[f];
        if (typeof v === 'string' && v !== '' && !path.isAbsolute(v)) obj[f] = path.join(dir, v);
      }
    };
    cfg.clusters = cfg.clusters.map((c) => ({ ...c, cluster: { ...c.cluster } }));
    cfg.users = cfg.users.map((u) => ({ ...u, user: { ...u.user } }));
    for (const c of cfg.clusters) absolutize(c.cluster, FILE_FIELDS.cluster!);
    for (const u of cfg.users) absolutize(u.user, FILE_FIELDS.user!);
  }
  return cfg;
}

/** kubectl's merge: the first definition of each name wins, and the first current-context set. */
export function mergeKubeconfigs(configs: Kubeconfig[]): Kubeconfig {
  const out = emptyKubeconfig();
  const add = <T extends { name: string }>(into: T[], from: T[]) => {
    for (const e of from) if (!into.some((x) => x.name === e.name)) into.push(e);
  };
  for (const c of configs) {
    add(out.clusters, c.clusters);
    add(out.users, c.users);
    add(out.contexts, c.contexts);
    if (!out['current-context'] && c['current-context']) out['current-context'] = c['current-context'];
  }
  return out;
}

/** Where the kubeconfig comes from: the flag, else KUBECONFIG, else <data-dir>/admin.kubeconfig when present, else ~/.kube/config. */
export interface KubeconfigSource {
  /** --kubeconfig: must exist. */
  flag?: string;
  /** The KUBECONFIG environment variable (files separated by ':'; missing ones are skipped). */
  env?: string;
  dataDir?: string;
  home?: string;
}

/** The files to read, in priority order, and whether they were named explicitly. */
export async function kubeconfigFiles(source: KubeconfigSource): Promise<{ files: string[]; explicit: boolean }> {
  if (source.flag) return { files: [path.resolve(source.flag)], explicit: true };
  const env = (source.env ?? '').split(path.delimiter).filter(Boolean);
  if (env.length > 0) return { files: env.map((f) => path.resolve(f)), explicit: false };
  if (source.dataDir) {
    const admin = path.join(source.dataDir, 'admin.kubeconfig');
    if (await exists(admin)) return { files: [admin], explicit: false };
  }
  return { files: [path.join(source.home ?? os.homedir(), '.kube', 'config')], explicit: false };
}

/** A loaded kubeconfig and the files it came from (for writing changes back). */
export interface LoadedKubeconfig {
  config: Kubeconfig;
  files: string[];
  /** Each file that exists, parsed, in order. */
  parts: Array<{ file: string; config: Kubeconfig }>;
}

/** Reads and merges the kubeconfig of `source`; an explicit file that is missing is NotFound. */
export async function loadKubeconfig(source: KubeconfigSource): Promise<LoadedKubeconfig> {
  const { files, explicit } = await kubeconfigFiles(source);
  const parts: LoadedKubeconfig['parts'] = [];
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if (errno(err) === 'ENOENT' && !explicit) continue;
      if (errno(err) === 'ENOENT') throw notFound(`kubeconfig ${file} does not exist`, err);
      throw invalid(`cannot read kubeconfig ${file}: ${(err as Error).message}`, err);
    }
    parts.push({ file, config: parseKubeconfig(text, file) });
  }
  return { config: mergeKubeconfigs(parts.map((p) => p.config)), files, parts };
}

/** The context a command uses: the named one, or current-context. */
export interface SelectedContext {
  name: string;
  context: KubeContext;
  cluster: KubeCluster;
  user: KubeUser;
  /** The context's namespace, or "default". */
  namespace: string;
}

export function selectContext(cfg: Kubeconfig, contextName?: string): SelectedContext {
  const name = contextName || cfg['current-context'];
  if (!name) {
    if (cfg.contexts.length === 0 && cfg.clusters.length === 0) {
      throw invalid('no kubeconfig found: start a server (nubis server) or pass --kubeconfig');
    }
    throw invalid('current-context is not set in the kubeconfig: pass --context');
  }
  const ctx = cfg.contexts.find((c) => c.name === name)?.context;
  if (!ctx) throw notFound(`context "${name}" does not exist in the kubeconfig`);
  const cluster = cfg.clusters.find((c) => c.name === ctx.cluster)?.cluster;
  if (!cluster) throw notFound(`cluster "${ctx.cluster}" of context "${name}" does not exist in the kubeconfig`);
  if (typeof cluster.server !== 'string' || !cluster.server) throw invalid(`cluster "${ctx.cluster}" has no server`);
  const user = cfg.users.find((u) => u.name === ctx.user)?.user ?? {};
  return { name, context: ctx, cluster, user, namespace: ctx.namespace || 'default' };
}

async function dataOrFile(data: string | undefined, file: string | undefined, what: string): Promise<Buffer | undefined> {
  if (data) return Buffer.from(data, 'base64');
  if (!file) return undefined;
  try {
    return await readFile(file);
  } catch (err) {
    throw invalid(`cannot read ${what} ${file}: ${(err as Error).message}`, err);
  }
}

/** The connection a selected context describes, with files read. */
export async function connectionFor(sel: SelectedContext): Promise<ClusterConnection> {
  const { cluster, user } = sel;
  let token = user.token;
  if (!token && user.tokenFile) token = (await dataOrFile(undefined, user.tokenFile, 'token file'))!.toString('utf8').trim();
  const conn: ClusterConnection = {
    server: cluster.server.replace(/\/+$/, ''),
    ca: await dataOrFile(cluster['certificate-authority-data'], cluster['certificate-authority'], 'certificate authority'),
    cert: await dataOrFile(user['client-certificate-data'], user['client-certificate'], 'client certificate'),
    key: await dataOrFile(user['client-key-data'], user['client-key'], 'client key'),
    insecureSkipTLSVerify: cluster['insecure-skip-tls-verify'] === true,
    tlsServerName: cluster['tls-server-name'],
  };
  if (token) conn.token = token;
  else if (user.username !== undefined && user.password !== undefined) conn.basicAuth = `${user.username}:${user.password}`;
  return conn;
}

/** Only what one context needs (`config view --minify`). */
export function minifyKubeconfig(cfg: Kubeconfig, contextName?: string): Kubeconfig {
  const sel = selectContext(cfg, contextName);
  return {
    ...emptyKubeconfig(),
    clusters: cfg.clusters.filter((c) => c.name === sel.context.cluster),
    users: cfg.users.filter((u) => u.name === sel.context.user),
    contexts: cfg.contexts.filter((c) => c.name === sel.name),
    'current-context': sel.name,
  };
}

/** Secrets replaced as `kubectl config view` shows them without --raw. */
export function redactKubeconfig(cfg: Kubeconfig): Kubeconfig {
  const out = structuredClone(cfg);
  for (const c of out.clusters) if (c.cluster['certificate-authority-data']) c.cluster['certificate-authority-data'] = 'DATA+OMITTED';
  for (const u of out.users) {
    for (const f of ['client-certificate-data', 'client-key-data'] as const) if (u.user[f]) u.user[f] = 'DATA+OMITTED';
    for (const f of ['token', 'password'] as const) if (u.user[f]) u.user[f] = 'REDACTED';
  }
  return out;
}

/** YAML text of a kubeconfig, in kubectl's field order. */
export function serializeKubeconfig(cfg: Kubeconfig): string {
  const { apiVersion, kind, clusters, contexts, users, preferences, 'current-context': current, ...rest } = cfg;
  const doc = { apiVersion, clusters, contexts, 'current-context': current ?? '', kind, preferences: preferences ?? {}, users, ...rest };
  return YAML.stringify(doc, { indentSeq: false, lineWidth: 0 });
}

/** Writes a kubeconfig atomically, readable by its owner only (it may hold tokens). */
export async function writeKubeconfig(file: string, cfg: Kubeconfig): Promise<void> {
  await writeFileAtomic(file, serializeKubeconfig(cfg), 0o600);
}
