/** `nubis delete`: by type and name, -f files, -l selector or --all; cascade, grace period, and waiting until gone. */
import type { KubeObject } from '../../api/meta.js';
import type { ResourceInfo } from '../../client/rest-client.js';
import { invalid, isNubisError, timeout } from '../../lib/errors.js';
import type { CliContext } from '../context.js';
import { parseDuration } from './kube-get.js';
import { readManifests } from './kube-manifests.js';
import { kindWithName, parseResourceArgs, withSession, type KubeFlags, type KubeSession } from './kube-session.js';

export interface DeleteFlags extends KubeFlags {
  filename?: string[];
  recursive?: boolean;
  selector?: string;
  fieldSelector?: string;
  all?: boolean;
  allNamespaces?: boolean;
  cascade?: string;
  gracePeriod?: string;
  now?: boolean;
  force?: boolean;
  wait?: boolean;
  timeout?: string;
  ignoreNotFound?: boolean;
}

type Policy = 'Background' | 'Foreground' | 'Orphan';

function policyOf(cascade: string | undefined): Policy {
  switch (cascade ?? 'background') {
    case 'background':
    case 'true':
      return 'Background';
    case 'foreground':
      return 'Foreground';
    case 'orphan':
    case 'false':
      return 'Orphan';
    default:
      throw invalid(`invalid --cascade "${cascade}": use background, foreground or orphan`);
  }
}

interface Target {
  resource: ResourceInfo;
  name: string;
  namespace?: string;
}

export async function runDelete(ctx: CliContext, args: string[], flags: DeleteFlags): Promise<void> {
  const propagationPolicy = policyOf(flags.cascade);
  let gracePeriodSeconds = flags.gracePeriod === undefined ? undefined : Number(flags.gracePeriod);
  if (gracePeriodSeconds !== undefined && (!Number.isInteger(gracePeriodSeconds) || gracePeriodSeconds < -1)) throw invalid(`invalid --grace-period "${flags.gracePeriod}"`);
  if (gracePeriodSeconds === -1) gracePeriodSeconds = undefined;
  if (flags.now) gracePeriodSeconds = 1;
  if (flags.force) gracePeriodSeconds = 0;
  const byFile = (flags.filename ?? []).length > 0;
  if (byFile && args.length > 0) throw invalid('cannot combine -f with resource arguments');
  const manifests = byFile ? await readManifests(ctx, flags.filename!, flags.recursive) : [];
  await withSession(ctx, flags, async (s) => {
    const targets: Target[] = [];
    if (byFile) {
      for (const m of manifests) {
        const resource = await s.discovery.forKind(m.object.apiVersion, m.object.kind);
        targets.push({ resource, name: m.object.metadata.name, namespace: resource.namespaced ? m.object.metadata.namespace || s.namespace : undefined });
      }
    } else {
      for (const req of parseResourceArgs(args)) {
        const resource = await s.discovery.resolve(req.type);
        const namespace = resource.namespaced ? s.namespace : undefined;
        if (req.names.length > 0) {
          if (flags.all || flags.selector) throw invalid('names cannot be combined with --all or -l');
          for (const name of req.names) targets.push({ resource, name, namespace });
          continue;
        }
        if (!flags.all && !flags.selector && !flags.fieldSelector) throw invalid('resource(s) were provided, but no name was specified: give names, -l, or --all');
        const listNs = resource.namespaced && !flags.allNamespaces ? s.namespace : undefined;
        const list = await s.client.listAll(resource, { namespace: listNs, labelSelector: flags.selector, fieldSelector: flags.fieldSelector });
        for (const o of list.items) targets.push({ resource, name: o.metadata.name, namespace: resource.namespaced ? o.metadata.namespace : undefined });
      }
      if (targets.length === 0) {
        if (!flags.ignoreNotFound) ctx.stderr.write('No resources found\n');
        return;
      }
    }
    const deleted: Array<Target & { uid?: string }> = [];
    for (const t of targets) {
      try {
        const res = await s.client.delete<KubeObject>(t.resource, t.name, { namespace: t.namespace, propagationPolicy, gracePeriodSeconds });
        ctx.stdout.write(`${kindWithName(t.resource, t.name)} deleted\n`);
        deleted.push({ ...t, uid: (res as Partial<KubeObject>).metadata?.uid });
      } catch (err) {
        if (isNubisError(err, 'NotFound')) {
          if (flags.ignoreNotFound) continue;
          ctx.stderr.write(`nubis: ${err.message}\n`);
          ctx.exitCode = 1;
          continue;
        }
        throw err;
      }
    }
    if (flags.wait !== false) await waitGone(s, deleted, parseDuration(flags.timeout));
  });
}

/** Waits until every deleted object (by uid) is gone: finalizers and foreground deletion may hold it. */
async function waitGone(s: KubeSession, targets: Array<Target & { uid?: string }>, timeoutSeconds: number | undefined): Promise<void> {
  const deadline = timeoutSeconds === undefined ? Infinity : Date.now() + timeoutSeconds * 1000;
  let delay = 50;
  for (const t of targets) {
    for (;;) {
      try {
        const o = await s.client.get(t.resource, t.name, { namespace: t.namespace });
        if (t.uid && o.metadata.uid !== t.uid) break;
      } catch (err) {
        if (isNubisError(err, 'NotFound')) break;
        throw err;
      }
      if (Date.now() > deadline) throw timeout(`timed out waiting for ${kindWithName(t.resource, t.name)} to be deleted`);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(1000, delay * 2);
    }
  }
}
