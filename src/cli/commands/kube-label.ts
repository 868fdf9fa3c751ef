/** `nubis label` (add, overwrite with --overwrite, remove with key-) and `nubis patch` (strategic, merge, json). */
import YAML from 'yaml';
import type { KubeObject } from '../../api/meta.js';
import { deepEqual } from '../../api/validation.js';
import type { PatchType, ResourceInfo } from '../../client/rest-client.js';
import { invalid } from '../../lib/errors.js';
import type { CliContext } from '../context.js';
import { formatObjects, parseOutput } from './kube-print.js';
import { parseResourceArgs, qualifiedName, withSession, type KubeFlags } from './kube-session.js';

export interface LabelFlags extends KubeFlags {
  overwrite?: boolean;
  selector?: string;
  all?: boolean;
  allNamespaces?: boolean;
  list?: boolean;
  resourceVersion?: string;
  dryRun?: string;
}

const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** Splits `key=value` and `key-` arguments from the resource arguments before them. */
export function parseLabelChanges(args: string[]): { resources: string[]; set: Record<string, string>; remove: string[] } {
  const set: Record<string, string> = {};
  const remove: string[] = [];
  const resources: string[] = [];
  for (const a of args) {
    const eq = a.indexOf('=');
    if (eq > 0) {
      const k = a.slice(0, eq);
      if (!LABEL_KEY.test(k)) throw invalid(`invalid label key "${k}"`);
      set[k] = a.slice(eq + 1);
    } else if (a.endsWith('-') && resources.length > 0 && LABEL_KEY.test(a.slice(0, -1))) {
      remove.push(a.slice(0, -1));
    } else {
      if (Object.keys(set).length > 0 || remove.length > 0) throw invalid(`"${a}": resource arguments must come before label changes`);
      resources.push(a);
    }
  }
  for (const k of remove) if (k in set) throw invalid(`can not both modify and remove the label "${k}" in the same command`);
  return { resources, set, remove };
}

export async function runLabel(ctx: CliContext, args: string[], flags: LabelFlags): Promise<void> {
  const { resources, set, remove } = parseLabelChanges(args);
  if (!flags.list && Object.keys(set).length === 0 && remove.length === 0) throw invalid('at least one label update is required');
  await withSession(ctx, flags, async (s) => {
    const targets: Array<{ resource: ResourceInfo; object: KubeObject }> = [];
    for (const req of parseResourceArgs(resources)) {
      const resource = await s.discovery.resolve(req.type);
      const namespace = resource.namespaced ? s.namespace : undefined;
      if (req.names.length > 0) {
        for (const name of req.names) targets.push({ resource, object: await s.client.get(resource, name, { namespace }) });
      } else {
        if (!flags.all && !flags.selector) throw invalid('resource(s) were provided, but no name was specified: give names, -l, or --all');
        const list = await s.client.listAll(resource, { namespace: resource.namespaced && !flags.allNamespaces ? namespace : undefined, labelSelector: flags.selector });
        targets.push(...list.items.map((object) => ({ resource, object })));
      }
    }
    for (const { resource, object } of targets) {
      const labels = object.metadata.labels ?? {};
      if (flags.list) {
        for (const [k, v] of Object.entries(labels)) ctx.stdout.write(`${k}=${v}\n`);
        continue;
      }
      const change: Record<string, string | null> = {};
      for (const [k, v] of Object.entries(set)) {
        if (k in labels && labels[k] !== v && !flags.overwrite) throw invalid(`'${k}' already has a value (${labels[k]}), and --overwrite is false`);
        if (labels[k] !== v) change[k] = v;
      }
      for (const k of remove) if (k in labels) change[k] = null;
      const name = qualifiedName(resource, object.metadata.name);
      if (Object.keys(change).length === 0) {
        ctx.stdout.write(`${name} not labeled\n`);
        continue;
      }
      const patch: Record<string, unknown> = { metadata: { labels: change, ...(flags.resourceVersion ? { resourceVersion: flags.resourceVersion } : {}) } };
      await s.client.patch(resource, object.metadata.name, patch, 'merge', {
        namespace: resource.namespaced ? object.metadata.namespace : undefined,
        dryRun: flags.dryRun === 'server',
        fieldManager: 'kubectl-label',
      });
      const onlyRemoved = Object.values(change).every((v) => v === null);
      ctx.stdout.write(`${name} ${onlyRemoved ? 'unlabeled' : 'labeled'}\n`);
    }
  });
}

export interface PatchFlags extends KubeFlags {
  patch?: string;
  type?: string;
  subresource?: string;
  output?: string;
  dryRun?: string;
}

export async function runPatch(ctx: CliContext, args: string[], flags: PatchFlags): Promise<void> {
  if (!flags.patch) throw invalid('must specify -p to patch');
  const type = (flags.type ?? 'strategic') as PatchType;
  if (!['strategic', 'merge', 'json'].includes(type)) throw invalid(`--type must be one of [json merge strategic], not "${flags.type}"`);
  let body: unknown;
  try {
    body = YAML.parse(flags.patch);
  } catch (err) {
    throw invalid(`unable to parse "${flags.patch}": ${(err as Error).message.split('\n')[0]}`, err);
  }
  if (type === 'json' ? !Array.isArray(body) : typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalid(type === 'json' ? 'a json patch must be a list of operations' : `a ${type} patch must be an object`);
  }
  const output = flags.output ? parseOutput(flags.output) : undefined;
  if (output?.kind === 'table') throw invalid('patch prints -o yaml, json, name or jsonpath');
  await withSession(ctx, flags, async (s) => {
    const reqs = parseResourceArgs(args);
    for (const req of reqs) {
      const resource = await s.discovery.resolve(req.type);
      if (req.names.length === 0) throw invalid('patch needs a resource name');
      for (const name of req.names) {
        const namespace = resource.namespaced ? s.namespace : undefined;
        const before = await s.client.get(resource, name, { namespace });
        const after = await s.client.patch(resource, name, body, type, {
          namespace,
          subresource: flags.subresource,
          dryRun: flags.dryRun === 'server',
          fieldManager: 'kubectl-patch',
        });
        if (output) ctx.stdout.write(formatObjects(output, [{ resource, object: after }], true));
        else ctx.stdout.write(`${qualifiedName(resource, name)} patched${deepEqual(after, before) ? ' (no change)' : ''}\n`);
      }
    }
  });
}
