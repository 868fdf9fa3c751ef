/**
 * What every cluster verb (get, apply, delete…) shares: the kubeconfig flags, a connected client,
 * the namespace in effect, resource arguments as kubectl reads them, and object names as kubectl prints them.
 */
import os from 'node:os';
import type { Command } from 'commander';
import type { KubeObject } from '../../api/meta.js';
import type { Discovery } from '../../client/discovery.js';
import type { ResourceInfo, RestClient } from '../../client/rest-client.js';
import { invalid } from '../../lib/errors.js';
import type { CliContext } from '../context.js';

/** The CLI context plus what cluster verbs read from the process (tests replace them). */
export interface KubeCliContext extends CliContext {
  stdin?: NodeJS.ReadableStream;
  env?: NodeJS.ProcessEnv;
}

export interface KubeFlags {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

/** Adds --kubeconfig, --context and -n/--namespace (kubectl's global flags) to a verb. */
export function withKubeFlags(cmd: Command, namespaced = true): Command {
  cmd.option('--kubeconfig <file>', 'kubeconfig file (default: KUBECONFIG, <data-dir>/admin.kubeconfig, ~/.kube/config)');
  cmd.option('--context <name>', 'kubeconfig context to use');
  if (namespaced) cmd.option('-n, --namespace <ns>', 'namespace (default: the context\'s)');
  return cmd;
}

export interface KubeSession {
  client: RestClient;
  discovery: Discovery;
  /** The namespace in effect: -n, else the context's, else "default". */
  namespace: string;
  /** Whether -n was given (apply refuses objects naming another namespace then). */
  explicitNamespace: boolean;
  close(): void;
}

export function envOf(ctx: CliContext): NodeJS.ProcessEnv {
  return (ctx as KubeCliContext).env ?? process.env;
}

/** Connects as the flags say; warnings from the server go to stderr as kubectl prints them. */
export async function openSession(ctx: CliContext, flags: KubeFlags): Promise<KubeSession> {
  const env = envOf(ctx);
  // The client (http, https, tls) loads when a cluster verb runs, not with the command tree.
  const { connect } = await import('../../client/connect.js');
  const c = await connect({ flag: flags.kubeconfig, env: env.KUBECONFIG, dataDir: ctx.dataDir(), home: env.HOME || os.homedir() }, flags.context, { userAgent: 'nubis' });
  c.client.onWarning = (w) => ctx.stderr.write(`Warning: ${w}\n`);
  return {
    client: c.client,
    discovery: c.discovery,
    namespace: flags.namespace || c.namespace,
    explicitNamespace: !!flags.namespace,
    close: () => c.client.close(),
  };
}

/** Runs `fn` with a session and always closes it. */
export async function withSession<T>(ctx: CliContext, flags: KubeFlags, fn: (s: KubeSession) => Promise<T>): Promise<T> {
  const s = await openSession(ctx, flags);
  try {
    return await fn(s);
  } finally {
    s.close();
  }
}

/** One resource type with the names asked for (none: all). */
export interface ResourceArg {
  type: string;
  names: string[];
}

/** kubectl's forms: `TYPE`, `TYPE NAME…`, `TYPE1,TYPE2`, `TYPE/NAME…`. */
export function parseResourceArgs(args: string[]): ResourceArg[] {
  if (args.length === 0) throw invalid('you must specify the type of resource: e.g. pods, deployments, configmaps');
  if (args[0]!.includes('/')) {
    const out: ResourceArg[] = [];
    for (const a of args) {
      const slash = a.indexOf('/');
      if (slash <= 0 || slash === a.length - 1) throw invalid(`there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'nubis get resource/<resource_name>' instead of 'nubis get resource resource/<resource_name>'): ${a}`);
      const type = a.slice(0, slash);
      const prev = out.find((r) => r.type === type);
      if (prev) prev.names.push(a.slice(slash + 1));
      else out.push({ type, names: [a.slice(slash + 1)] });
    }
    return out;
  }
  const [types, ...names] = args;
  if (names.some((n) => n.includes('/'))) throw invalid('arguments in resource/name form must have a single resource and name');
  const list = types!.split(',').filter(Boolean);
  if (list.length > 1 && names.length > 0) throw invalid('names cannot be combined with several resource types; use TYPE/NAME');
  return list.map((type) => ({ type, names }));
}

/** `pod/web`, `deployment.apps/web` (kubectl's -o name). */
export function qualifiedName(r: Pick<ResourceInfo, 'kind' | 'group'>, name: string): string {
  return `${r.kind.toLowerCase()}${r.group ? `.${r.group}` : ''}/${name}`;
}

/** `deployment.apps "web"` as kubectl words deletes: the kind (with group) and the quoted name. */
export function kindWithName(r: Pick<ResourceInfo, 'kind' | 'group'>, name: string): string {
  return `${r.kind.toLowerCase()}${r.group ? `.${r.group}` : ''} "${name}"`;
}

export function namespaceOf(r: ResourceInfo, obj: KubeObject | undefined, session: KubeSession): string | undefined {
  return r.namespaced ? obj?.metadata.namespace || session.namespace : undefined;
}

/** Reads all of stdin (or the context's replacement). */
export async function readStdin(ctx: CliContext): Promise<string> {
  const input = (ctx as KubeCliContext).stdin ?? process.stdin;
  const chunks: Buffer[] = [];
  for await (const c of input as AsyncIterable<Buffer | string>) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
  return Buffer.concat(chunks).toString('utf8');
}
