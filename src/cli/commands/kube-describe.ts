/**
 * `nubis describe`: readable sections per object — metadata, labels, annotations, the highlights of the
 * spec and status of the kinds Nubis serves, conditions, and the object's Events from the API.
 * Kinds without a describer here print their spec and status as YAML.
 */
import type { KubeObject } from '../../api/meta.js';
import { since } from '../../api/table.js';
import type { ResourceInfo } from '../../client/rest-client.js';
import { isNubisError, notFound } from '../../lib/errors.js';
import type { CliContext } from '../context.js';
import { alignColumns, toYaml } from './kube-print.js';
import { parseResourceArgs, withSession, type KubeFlags, type KubeSession } from './kube-session.js';
import { describeKind, type Out } from './kube-describers.js';

export interface DescribeFlags extends KubeFlags {
  selector?: string;
  allNamespaces?: boolean;
  showEvents?: boolean;
}

/** Lines with a nesting level; key/value lines in one run at one level align their values. */
export class DescribeWriter implements Out {
  readonly lines: Array<{ level: number; key: string; value?: string }> = [];

  /** `Key:  value`; a multi-line value continues aligned under the first line. */
  kv(level: number, key: string, value: unknown): void {
    this.lines.push({ level, key: `${key}:`, value: value === undefined || value === null || value === '' ? '<none>' : String(value) });
  }

  /** A heading (`Containers:`) whose content follows one level deeper. */
  section(level: number, key: string): void {
    this.lines.push({ level, key: `${key}:` });
  }

  /** A line of free text. */
  text(level: number, text: string): void {
    this.lines.push({ level, key: text });
  }

  /** A map as `k=v` lines (labels, selectors). */
  map(level: number, key: string, m: Record<string, string> | undefined): void {
    const entries = Object.entries(m ?? {}).sort(([a], [b]) => a.localeCompare(b));
    this.kv(level, key, entries.length ? entries.map(([k, v]) => `${k}=${v}`).join('\n') : '<none>');
  }

  /** A small table indented at `level` (conditions, events). */
  table(level: number, header: string[], rows: string[][]): void {
    const underline = header.map((h) => '-'.repeat(h.length));
    for (const l of alignColumns([header, underline, ...rows]).trimEnd().split('\n')) this.text(level, l.replace(/\s+$/, ''));
  }

  toString(): string {
    const out: string[] = [];
    let i = 0;
    while (i < this.lines.length) {
      const start = i;
      const level = this.lines[i]!.level;
      while (i < this.lines.length && this.lines[i]!.level === level && this.lines[i]!.value !== undefined) i++;
      if (i === start) {
        out.push(`${'  '.repeat(level)}${this.lines[i]!.key}`);
        i++;
        continue;
      }
      const run = this.lines.slice(start, i);
      const width = Math.max(...run.map((l) => l.key.length)) + 2;
      for (const l of run) {
        const [first, ...rest] = l.value!.split('\n');
        out.push(`${'  '.repeat(level)}${l.key.padEnd(width)}${first}`.trimEnd());
        for (const r of rest) out.push(`${'  '.repeat(level)}${' '.repeat(width)}${r}`.trimEnd());
      }
    }
    return `${out.join('\n')}\n`;
  }
}

function describeObject(r: ResourceInfo, obj: KubeObject, events: KubeObject[] | undefined): string {
  const w = new DescribeWriter();
  const m = obj.metadata;
  w.kv(0, 'Name', m.name);
  if (r.namespaced) w.kv(0, 'Namespace', m.namespace);
  w.map(0, 'Labels', m.labels);
  w.map(0, 'Annotations', m.annotations);
  if (m.creationTimestamp) w.kv(0, 'CreationTimestamp', new Date(m.creationTimestamp).toUTCString());
  if (m.deletionTimestamp) w.kv(0, 'Deletion Requested', `${new Date(m.deletionTimestamp).toUTCString()} (grace period ${m.deletionGracePeriodSeconds ?? 0}s)`);
  const owner = m.ownerReferences?.find((o) => o.controller) ?? m.ownerReferences?.[0];
  if (owner) w.kv(0, 'Controlled By', `${owner.kind}/${owner.name}`);
  if (m.finalizers?.length) w.kv(0, 'Finalizers', `[${m.finalizers.join(' ')}]`);
  if (!describeKind(w, r, obj)) {
    for (const part of ['spec', 'status'] as const) {
      if (obj[part] === undefined) continue;
      w.section(0, part === 'spec' ? 'Spec' : 'Status');
      for (const line of toYaml(obj[part]).trimEnd().split('\n')) w.text(1, line);
    }
  }
  if (events !== undefined) {
    if (events.length === 0) w.kv(0, 'Events', '<none>');
    else {
      w.section(0, 'Events');
      const rows = events.map((e) => {
        const ev = e as KubeObject & { type?: string; reason?: string; message?: string; count?: number; source?: { component?: string }; reportingComponent?: string; lastTimestamp?: string; eventTime?: string; firstTimestamp?: string };
        const last = ev.lastTimestamp ?? ev.eventTime ?? ev.metadata.creationTimestamp;
        const age = ev.count && ev.count > 1 && ev.firstTimestamp ? `${since(last)} (x${ev.count} over ${since(ev.firstTimestamp)})` : since(last);
        return [ev.type ?? '', ev.reason ?? '', age, ev.source?.component ?? ev.reportingComponent ?? '', (ev.message ?? '').trim()];
      });
      w.table(1, ['Type', 'Reason', 'Age', 'From', 'Message'], rows);
    }
  }
  return w.toString();
}

async function eventsFor(s: KubeSession, r: ResourceInfo, obj: KubeObject): Promise<KubeObject[]> {
  try {
    const events = await s.discovery.resolve('events');
    const fields = [`involvedObject.name=${obj.metadata.name}`, `involvedObject.kind=${r.kind}`];
    if (obj.metadata.namespace) fields.push(`involvedObject.namespace=${obj.metadata.namespace}`);
    const list = await s.client.listAll(events, { namespace: obj.metadata.namespace, fieldSelector: fields.join(',') });
    const uid = obj.metadata.uid;
    const when = (e: KubeObject) => Date.parse(String((e as { lastTimestamp?: string }).lastTimestamp ?? (e as { eventTime?: string }).eventTime ?? e.metadata.creationTimestamp ?? 0));
    const uidOf = (e: KubeObject) => (e as { involvedObject?: { uid?: string } }).involvedObject?.uid;
    return list.items.filter((e) => !uid || !uidOf(e) || uidOf(e) === uid).sort((a, b) => when(a) - when(b));
  } catch (err) {
    if (isNubisError(err, 'NotFound') || isNubisError(err, 'Forbidden')) return [];
    throw err;
  }
}

export async function runDescribe(ctx: CliContext, args: string[], flags: DescribeFlags): Promise<void> {
  await withSession(ctx, flags, async (s) => {
    const found: Array<{ r: ResourceInfo; obj: KubeObject }> = [];
    for (const req of parseResourceArgs(args)) {
      const r = await s.discovery.resolve(req.type);
      const namespace = r.namespaced && !flags.allNamespaces ? s.namespace : undefined;
      if (req.names.length === 0) {
        const list = await s.client.listAll(r, { namespace, labelSelector: flags.selector });
        found.push(...list.items.map((obj) => ({ r, obj })));
        continue;
      }
      for (const name of req.names) {
        try {
          found.push({ r, obj: await s.client.get(r, name, { namespace: r.namespaced ? s.namespace : undefined }) });
        } catch (err) {
          if (!isNubisError(err, 'NotFound')) throw err;
          // kubectl describes every object whose name starts with the one given.
          const list = await s.client.listAll(r, { namespace: r.namespaced ? s.namespace : undefined });
          const prefixed = list.items.filter((o) => o.metadata.name.startsWith(name));
          if (prefixed.length === 0) throw err;
          found.push(...prefixed.map((obj) => ({ r, obj })));
        }
      }
    }
    if (found.length === 0) {
      if (args.length > 0 && parseResourceArgs(args).every((a) => a.names.length === 0)) {
        ctx.stderr.write(`No resources found in ${s.namespace} namespace.\n`);
        return;
      }
      throw notFound('no objects found');
    }
    const texts: string[] = [];
    for (const { r, obj } of found) texts.push(describeObject(r, obj, flags.showEvents === false ? undefined : await eventsFor(s, r, obj)));
    ctx.stdout.write(texts.join('\n\n'));
  });
}
