/**
 * `nubis config`: print the kubeconfig in effect (bare `nubis config` prints the selected context's
 * kubeconfig with credentials, ready for `> ~/.kube/config`), `view` (secrets hidden unless --raw),
 * `write FILE` (merge the selected context into FILE and make it current), `use-context`,
 * `current-context`, `get-contexts`.
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import {
  emptyKubeconfig,
  loadKubeconfig,
  minifyKubeconfig,
  parseKubeconfig,
  redactKubeconfig,
  serializeKubeconfig,
  writeKubeconfig,
  type Kubeconfig,
  type KubeconfigSource,
} from '../../client/kubeconfig.js';
import { errno, invalid, notFound } from '../../lib/errors.js';
import type { CliContext } from '../context.js';
import { alignColumns, toJson } from './kube-print.js';
import { envOf, type KubeFlags } from './kube-session.js';

export interface ConfigFlags extends KubeFlags {
  raw?: boolean;
  minify?: boolean;
  output?: string;
}

function sourceOf(ctx: CliContext, flags: KubeFlags): KubeconfigSource {
  const env = envOf(ctx);
  return { flag: flags.kubeconfig, env: env.KUBECONFIG, dataDir: ctx.dataDir(), home: env.HOME || os.homedir() };
}

function print(ctx: CliContext, cfg: Kubeconfig, output: string | undefined): void {
  if (output === 'json') ctx.stdout.write(toJson(cfg));
  else if (!output || output === 'yaml') ctx.stdout.write(serializeKubeconfig(cfg));
  else throw invalid(`config view prints -o yaml or json, not "${output}"`);
}

export async function runConfigView(ctx: CliContext, flags: ConfigFlags): Promise<void> {
  const { config } = await loadKubeconfig(sourceOf(ctx, flags));
  let cfg = flags.minify ? minifyKubeconfig(config, flags.context) : config;
  if (!flags.raw) cfg = redactKubeconfig(cfg);
  print(ctx, cfg, flags.output);
}

/** Bare `nubis config`: the selected context with credentials. */
export async function runConfigPrint(ctx: CliContext, flags: ConfigFlags): Promise<void> {
  const { config } = await loadKubeconfig(sourceOf(ctx, flags));
  print(ctx, minifyKubeconfig(config, flags.context), flags.output);
}

async function readOrEmpty(file: string): Promise<Kubeconfig> {
  try {
    return parseKubeconfig(await readFile(file, 'utf8'), file);
  } catch (err) {
    if (errno(err) === 'ENOENT') return emptyKubeconfig();
    throw err;
  }
}

/** Merges the selected context (cluster, user, context) into `file`, replacing same-named entries, and makes it current. */
export async function runConfigWrite(ctx: CliContext, file: string, flags: ConfigFlags): Promise<void> {
  const { config } = await loadKubeconfig(sourceOf(ctx, flags));
  const mini = minifyKubeconfig(config, flags.context);
  const into = await readOrEmpty(file);
  const replace = <T extends { name: string }>(list: T[], add: T[]) => [...list.filter((e) => !add.some((a) => a.name === e.name)), ...add];
  const merged: Kubeconfig = {
    ...into,
    clusters: replace(into.clusters, mini.clusters),
    users: replace(into.users, mini.users),
    contexts: replace(into.contexts, mini.contexts),
    'current-context': mini['current-context'],
  };
  await writeKubeconfig(file, merged);
  ctx.stdout.write(`wrote context "${mini['current-context']}" to ${file}\n`);
}

export async function runUseContext(ctx: CliContext, name: string, flags: ConfigFlags): Promise<void> {
  const loaded = await loadKubeconfig(sourceOf(ctx, flags));
  if (!loaded.config.contexts.some((c) => c.name === name)) throw notFound(`no context exists with the name: "${name}"`);
  // kubectl writes current-context into the first file that sets it, else the first file.
  const part = loaded.parts.find((p) => p.config['current-context']) ?? loaded.parts[0];
  const file = part?.file ?? loaded.files[0]!;
  const cfg = part ? await readOrEmpty(file) : emptyKubeconfig();
  cfg['current-context'] = name;
  await writeKubeconfig(file, cfg);
  ctx.stdout.write(`Switched to context "${name}".\n`);
}

export async function runCurrentContext(ctx: CliContext, flags: ConfigFlags): Promise<void> {
  const { config } = await loadKubeconfig(sourceOf(ctx, flags));
  if (!config['current-context']) throw invalid('current-context is not set');
  ctx.stdout.write(`${config['current-context']}\n`);
}

export async function runGetContexts(ctx: CliContext, flags: ConfigFlags & { noHeaders?: boolean }): Promise<void> {
  const { config } = await loadKubeconfig(sourceOf(ctx, flags));
  if (flags.output === 'name') {
    ctx.stdout.write(config.contexts.map((c) => `${c.name}\n`).sort().join(''));
    return;
  }
  const current = config['current-context'];
  const rows = [...config.contexts].sort((a, b) => a.name.localeCompare(b.name)).map((c) => [c.name === current ? '*' : '', c.name, c.context.cluster, c.context.user, c.context.namespace ?? '']);
  ctx.stdout.write(alignColumns(flags.noHeaders ? rows : [['CURRENT', 'NAME', 'CLUSTER', 'AUTHINFO', 'NAMESPACE'], ...rows]));
}
