/** `nubis get`: tables from the server's Table rendering, or objects as yaml, json, name or jsonpath; -w watches. */
import type { KubeObject } from '../../api/meta.js';
import type { ResourceInfo, Table } from '../../client/rest-client.js';
import { invalid, isNubisError } from '../../lib/errors.js';
import type { CliContext } from '../context.js';
import { alignColumns, columnWidths, formatObjects, parseOutput, tableRows, type OutputFormat, type TableOptions } from './kube-print.js';
import { parseResourceArgs, withSession, type KubeFlags, type KubeSession } from './kube-session.js';

export interface GetFlags extends KubeFlags {
  allNamespaces?: boolean;
  selector?: string;
  fieldSelector?: string;
  output?: string;
  watch?: boolean;
  watchOnly?: boolean;
  showLabels?: boolean;
  labelColumns?: string[];
  noHeaders?: boolean;
  chunkSize?: string;
  requestTimeout?: string;
}

/** kubectl's --request-timeout: "0", "30", "30s", "2m", "1h". */
export function parseDuration(v: string | undefined): number | undefined {
  if (v === undefined || v === '' || v === '0') return undefined;
  const m = /^(\d+)(ms|s|m|h)?$/.exec(v);
  if (!m) throw invalid(`invalid duration "${v}": use e.g. 30s, 2m, 1h`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n / 1000 : m[2] === 'm' ? n * 60 : m[2] === 'h' ? n * 3600 : n;
}

interface Fetched {
  resource: ResourceInfo;
  table?: Table;
  objects: KubeObject[];
  resourceVersion?: string;
}

export async function runGet(ctx: CliContext, args: string[], flags: GetFlags): Promise<void> {
  const format = parseOutput(flags.output);
  const requests = parseResourceArgs(args);
  if ((flags.watch || flags.watchOnly) && requests.length !== 1) throw invalid('you may only specify a single resource type with --watch');
  const chunk = flags.chunkSize === undefined ? 500 : Number(flags.chunkSize);
  await withSession(ctx, flags, async (s) => {
    const fetched: Fetched[] = [];
    let failed = false;
    for (const req of requests) {
      const resource = await s.discovery.resolve(req.type);
      const namespace = resource.namespaced && !flags.allNamespaces ? s.namespace : undefined;
      const f: Fetched = { resource, objects: [] };
      if (flags.watchOnly) {
        fetched.push(f);
        continue;
      }
      if (req.names.length > 0) {
        for (const name of req.names) {
          try {
            if (format.kind === 'table') merge(f, await s.client.table(resource, { namespace: resource.namespaced ? s.namespace : undefined, name }));
            else f.objects.push(await s.client.get(resource, name, { namespace: resource.namespaced ? s.namespace : undefined }));
          } catch (err) {
            if (!isNubisError(err, 'NotFound')) throw err;
            ctx.stderr.write(`nubis: ${err.message}\n`);
            failed = true;
          }
        }
      } else if (format.kind === 'table') {
        let cont: string | undefined;
        do {
          const page = await s.client.table(resource, { namespace, labelSelector: flags.selector, fieldSelector: flags.fieldSelector, limit: chunk || undefined, continue: cont });
          merge(f, page);
          cont = page.metadata.continue;
        } while (cont);
      } else {
        const list = await s.client.listAll(resource, { namespace, labelSelector: flags.selector, fieldSelector: flags.fieldSelector, pageSize: chunk || undefined });
        f.objects.push(...list.items.map((o) => withKind(o, list.apiVersion, resource.kind)));
        f.resourceVersion = list.metadata.resourceVersion;
      }
      fetched.push(f);
    }
    if (!flags.watchOnly) print(ctx, fetched, format, flags, requests.some((r) => r.names.length > 0), s);
    if (flags.watch || flags.watchOnly) await watch(ctx, s, fetched[0]!, format, flags);
    if (failed) ctx.exitCode = 1;
  });
}

/** List items may come without apiVersion and kind; kubectl prints them with both. */
function withKind(o: KubeObject, apiVersion: string, kind: string): KubeObject {
  return { ...o, apiVersion: o.apiVersion || apiVersion, kind: o.kind || kind };
}

const apiVersionOf = (r: ResourceInfo) => (r.group ? `${r.group}/${r.version}` : r.version);

function merge(f: Fetched, t: Table): void {
  if (!f.table) f.table = { ...t, rows: [...t.rows] };
  else f.table.rows.push(...t.rows);
  f.resourceVersion = t.metadata.resourceVersion ?? f.resourceVersion;
}

function tableOptions(f: Fetched, format: Extract<OutputFormat, { kind: 'table' }>, flags: GetFlags, several: boolean): TableOptions {
  return {
    wide: format.wide,
    withNamespace: !!flags.allNamespaces && f.resource.namespaced,
    showLabels: flags.showLabels,
    labelColumns: flags.labelColumns,
    kindPrefix: several ? f.resource : undefined,
  };
}

function print(ctx: CliContext, fetched: Fetched[], format: OutputFormat, flags: GetFlags, named: boolean, s: KubeSession): void {
  if (format.kind !== 'table') {
    const items = fetched.flatMap((f) => f.objects.map((object) => ({ resource: f.resource, object })));
    const single = named && fetched.length === 1 && items.length === 1;
    if (items.length === 0 && !named) {
      noResources(ctx, fetched, flags, s);
      if (format.kind === 'name' || format.kind === 'jsonpath') return;
    }
    ctx.stdout.write(formatObjects(format, items, single));
    return;
  }
  const several = fetched.length > 1;
  const blocks: string[] = [];
  for (const f of fetched) {
    if (!f.table || f.table.rows.length === 0) continue;
    const { header, rows } = tableRows(f.table, tableOptions(f, format, flags, several));
    blocks.push(alignColumns(flags.noHeaders ? rows : [header, ...rows]));
  }
  if (blocks.length === 0) {
    if (!named) noResources(ctx, fetched, flags, s);
    return;
  }
  ctx.stdout.write(blocks.join('\n'));
}

function noResources(ctx: CliContext, fetched: Fetched[], flags: GetFlags, s: KubeSession): void {
  const namespaced = fetched.some((f) => f.resource.namespaced);
  ctx.stderr.write(namespaced && !flags.allNamespaces ? `No resources found in ${s.namespace} namespace.\n` : 'No resources found\n');
}

async function watch(ctx: CliContext, s: KubeSession, f: Fetched, format: OutputFormat, flags: GetFlags): Promise<void> {
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const table = format.kind === 'table';
  let widths: number[] | undefined;
  let headerShown = false;
  if (table && f.table && f.table.rows.length > 0) {
    const { header, rows } = tableRows(f.table, tableOptions(f, format, flags, false));
    widths = columnWidths([header, ...rows]);
    headerShown = true;
  }
  let columns = f.table?.columnDefinitions ?? [];
  try {
    const events = await s.client.watch(f.resource, {
      namespace: f.resource.namespaced && !flags.allNamespaces ? s.namespace : undefined,
      labelSelector: flags.selector,
      fieldSelector: flags.fieldSelector,
      resourceVersion: flags.watchOnly ? undefined : f.resourceVersion,
      timeoutSeconds: parseDuration(flags.requestTimeout),
      table,
      signal: ac.signal,
    });
    for await (const ev of events) {
      if (ev.type === 'BOOKMARK') continue;
      if (format.kind !== 'table') {
        ctx.stdout.write(formatObjects(format, [{ resource: f.resource, object: withKind(ev.object, apiVersionOf(f.resource), f.resource.kind) }], true));
        continue;
      }
      const t = ev.object as unknown as Table;
      if (t.columnDefinitions?.length) columns = t.columnDefinitions;
      const { header, rows } = tableRows({ ...t, columnDefinitions: columns }, tableOptions(f, format, flags, false));
      const lines = !headerShown && !flags.noHeaders ? [header, ...rows] : rows;
      headerShown = true;
      widths = columnWidths(lines, widths);
      ctx.stdout.write(alignColumns(lines, widths));
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
