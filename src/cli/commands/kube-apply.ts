/** `nubis apply -f` and `nubis create -f | namespace | configmap | secret generic`, with kubectl's words for outcomes. */
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { KubeObject } from '../../api/meta.js';
import { applyObject, withLastApplied } from '../../client/client-apply.js';
import { invalid, isNubisError, messageOf } from '../../lib/errors.js';
import type { CliContext } from '../context.js';
import { readManifests, type Manifest } from './kube-manifests.js';
import { formatObjects, parseOutput } from './kube-print.js';
import { qualifiedName, withSession, type KubeFlags, type KubeSession } from './kube-session.js';

export interface ApplyFlags extends KubeFlags {
  filename: string[];
  recursive?: boolean;
  serverSide?: boolean;
  forceConflicts?: boolean;
  fieldManager?: string;
  dryRun?: string;
  output?: string;
}

type DryRun = 'none' | 'client' | 'server';

function dryRunOf(v: string | undefined): DryRun {
  if (v === undefined || v === 'none' || v === 'false') return 'none';
  if (v === 'client' || v === 'server') return v;
  if (v === 'true' || v === '') return 'client';
  throw invalid(`invalid --dry-run "${v}": use none, client or server`);
}

const suffix = (d: DryRun) => (d === 'none' ? '' : ` (${d} dry run)`);

/** The namespace an object goes to; an object naming another namespace than an explicit -n is an error. */
function targetNamespace(m: Manifest, s: KubeSession): string {
  const own = m.object.metadata.namespace;
  if (own && s.explicitNamespace && own !== s.namespace) {
    throw invalid(`the namespace from the provided object "${own}" does not match the namespace "${s.namespace}". You must pass '--namespace=${own}' to perform this operation.`);
  }
  return own || s.namespace;
}

function report(ctx: CliContext, source: string, verb: string, err: unknown): void {
  ctx.stderr.write(`nubis: error when ${verb} "${source}": ${messageOf(err)}\n`);
  ctx.exitCode = 1;
}

export async function runApply(ctx: CliContext, flags: ApplyFlags): Promise<void> {
  const dryRun = dryRunOf(flags.dryRun);
  const output = flags.output ? parseOutput(flags.output) : undefined;
  if (output?.kind === 'table') throw invalid('apply prints -o yaml, json, name or jsonpath');
  const manifests = await readManifests(ctx, flags.filename, flags.recursive);
  await withSession(ctx, flags, async (s) => {
    for (const m of manifests) {
      try {
        const namespace = targetNamespace(m, s);
        if (dryRun === 'client') {
          const resource = await s.discovery.forKind(m.object.apiVersion, m.object.kind);
          ctx.stdout.write(output ? formatObjects(output, [{ resource, object: m.object }], true) : `${qualifiedName(resource, m.object.metadata.name)} configured${suffix(dryRun)}\n`);
          continue;
        }
        const r = await applyObject(s.client, s.discovery, m.object, {
          namespace,
          serverSide: flags.serverSide,
          force: flags.forceConflicts,
          fieldManager: flags.fieldManager,
          dryRun: dryRun === 'server',
        });
        if (r.missingAnnotation && r.outcome !== 'unchanged') {
          ctx.stderr.write(
            `Warning: resource ${r.resource.resource}/${m.object.metadata.name} is missing the kubectl.kubernetes.io/last-applied-configuration annotation which is required by nubis apply. nubis apply should only be used on resources created declaratively by either nubis create --save-config or nubis apply. The missing annotation will be patched automatically.\n`,
          );
        }
        ctx.stdout.write(output ? formatObjects(output, [{ resource: r.resource, object: r.object }], true) : `${qualifiedName(r.resource, r.object.metadata.name)} ${r.outcome}${suffix(dryRun)}\n`);
      } catch (err) {
        if (!isNubisError(err)) throw err;
        report(ctx, m.source, 'applying', err);
      }
    }
  });
}

export interface CreateFlags extends KubeFlags {
  filename?: string[];
  recursive?: boolean;
  saveConfig?: boolean;
  dryRun?: string;
  output?: string;
  fieldManager?: string;
}

async function createOne(ctx: CliContext, s: KubeSession, obj: KubeObject, namespace: string, flags: CreateFlags): Promise<void> {
  const dryRun = dryRunOf(flags.dryRun);
  const output = flags.output ? parseOutput(flags.output) : undefined;
  if (output?.kind === 'table') throw invalid('create prints -o yaml, json, name or jsonpath');
  const resource = await s.discovery.forKind(obj.apiVersion, obj.kind);
  let body = structuredClone(obj);
  if (resource.namespaced) body.metadata.namespace = body.metadata.namespace || namespace;
  if (flags.saveConfig) body = withLastApplied(body);
  const created =
    dryRun === 'client'
      ? body
      : await s.client.create(resource, body, { namespace: body.metadata.namespace, dryRun: dryRun === 'server', fieldManager: flags.fieldManager ?? 'kubectl-create' });
  ctx.stdout.write(output ? formatObjects(output, [{ resource, object: created }], true) : `${qualifiedName(resource, created.metadata.name)} created${suffix(dryRun)}\n`);
}

export async function runCreateFiles(ctx: CliContext, flags: CreateFlags): Promise<void> {
  const manifests = await readManifests(ctx, flags.filename ?? [], flags.recursive);
  await withSession(ctx, flags, async (s) => {
    for (const m of manifests) {
      try {
        await createOne(ctx, s, m.object, targetNamespace(m, s), flags);
      } catch (err) {
        if (!isNubisError(err)) throw err;
        report(ctx, m.source, 'creating', err);
      }
    }
  });
}

export async function runCreateNamespace(ctx: CliContext, name: string, flags: CreateFlags): Promise<void> {
  await withSession(ctx, flags, (s) => createOne(ctx, s, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, s.namespace, flags));
}

export interface DataFlags extends CreateFlags {
  fromLiteral?: string[];
  fromFile?: string[];
  fromEnvFile?: string[];
  type?: string;
}

/** key=value pairs from --from-literal, --from-file=[key=]path (directories: each file) and --from-env-file. */
async function collectData(flags: DataFlags): Promise<Record<string, string>> {
  const data: Record<string, string> = {};
  const put = (k: string, v: string) => {
    if (!/^[-._a-zA-Z0-9]+$/.test(k)) throw invalid(`"${k}" is not a valid key name: keys consist of alphanumerics, "-", "_" or "."`);
    if (k in data) throw invalid(`cannot add key "${k}", another key by that name already exists`);
    data[k] = v;
  };
  for (const lit of flags.fromLiteral ?? []) {
    const eq = lit.indexOf('=');
    if (eq <= 0) throw invalid(`invalid literal source ${lit}, expected key=value`);
    put(lit.slice(0, eq), lit.slice(eq + 1));
  }
  for (const spec of flags.fromFile ?? []) {
    const eq = spec.indexOf('=');
    const [key, file] = eq > 0 ? [spec.slice(0, eq), spec.slice(eq + 1)] : [undefined, spec];
    if ((await stat(file)).isDirectory()) {
      if (key) throw invalid(`cannot give a key name for a directory path: ${spec}`);
      for (const e of await readdir(file, { withFileTypes: true })) if (e.isFile()) put(e.name, await readFile(path.join(file, e.name), 'utf8'));
    } else put(key ?? path.basename(file), await readFile(file, 'utf8'));
  }
  for (const file of flags.fromEnvFile ?? []) {
    for (const line of (await readFile(file, 'utf8')).split('\n')) {
      const t = line.trim();
      if (!t || t.startsWith('#')) continue;
      const eq = t.indexOf('=');
      if (eq <= 0) throw invalid(`${file}: "${t}" is not KEY=VALUE`);
      put(t.slice(0, eq), t.slice(eq + 1));
    }
  }
  return data;
}

export async function runCreateConfigMap(ctx: CliContext, name: string, flags: DataFlags): Promise<void> {
  const data = await collectData(flags);
  await withSession(ctx, flags, (s) => createOne(ctx, s, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data }, s.namespace, flags));
}

export async function runCreateSecret(ctx: CliContext, name: string, flags: DataFlags): Promise<void> {
  const plain = await collectData(flags);
  const data = Object.fromEntries(Object.entries(plain).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
  await withSession(ctx, flags, (s) =>
    createOne(ctx, s, { apiVersion: 'v1', kind: 'Secret', metadata: { name }, type: flags.type ?? 'Opaque', data }, s.namespace, flags),
  );
}
