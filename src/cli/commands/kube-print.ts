/**
 * kubectl's output formats: tables from the server's meta.k8s.io Table (aligned as kubectl's tabwriter
 * aligns them: columns at least 6 wide, 3 spaces of padding), and -o yaml | json | name | jsonpath=….
 * JSON and YAML print keys sorted, as kubectl does for the objects it gets from a server.
 */
import YAML from 'yaml';
import type { KubeObject } from '../../api/meta.js';
import type { ResourceInfo, Table } from '../../client/rest-client.js';
import { invalid } from '../../lib/errors.js';
import { jsonPath } from './kube-jsonpath.js';
import { qualifiedName } from './kube-session.js';

/** Rows aligned like Go's tabwriter with kubectl's settings (minwidth 6, padding 3); the last cell is not padded. */
export function alignColumns(rows: string[][], widths: number[] = columnWidths(rows)): string {
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('') + '\n').join('');
}

export function columnWidths(rows: string[][], at: number[] = []): number[] {
  const widths = [...at];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 6, c.length + 3, 6)));
  return widths;
}

function cellText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export interface TableOptions {
  wide?: boolean;
  /** Prepend NAMESPACE (-A). */
  withNamespace?: boolean;
  showLabels?: boolean;
  /** -L key: one column per label key. */
  labelColumns?: string[];
  /** Print names as kind/name (several types in one get). */
  kindPrefix?: ResourceInfo;
}

/** Header and rows of a server Table, as `get` shows them. */
export function tableRows(table: Table, opts: TableOptions): { header: string[]; rows: string[][] } {
  const cols = table.columnDefinitions.map((c, i) => ({ c, i })).filter(({ c }) => opts.wide || c.priority === 0);
  const header = [
    ...(opts.withNamespace ? ['NAMESPACE'] : []),
    ...cols.map(({ c }) => c.name.toUpperCase()),
    ...(opts.labelColumns ?? []).map((k) => k.split('/').pop()!.toUpperCase()),
    ...(opts.showLabels ? ['LABELS'] : []),
  ];
  const rows = table.rows.map((row) => {
    const meta = row.object?.metadata;
    const labels = meta?.labels ?? {};
    const cells = cols.map(({ c, i }) => {
      const text = cellText(row.cells[i]);
      return opts.kindPrefix && c.format === 'name' ? qualifiedName(opts.kindPrefix, text) : text;
    });
    return [
      ...(opts.withNamespace ? [meta?.namespace ?? ''] : []),
      ...cells,
      ...(opts.labelColumns ?? []).map((k) => labels[k] ?? ''),
      ...(opts.showLabels ? [Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',') || '<none>'] : []),
    ];
  });
  return { header, rows };
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

/** kubectl -o json: 4-space indent, sorted keys, Go's HTML escaping. */
export function toJson(v: unknown): string {
  return `${JSON.stringify(sortKeys(v), null, 4).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026')}\n`;
}

/** kubectl -o yaml: sorted keys, lists not indented under their key, no line folding. */
export function toYaml(v: unknown): string {
  return YAML.stringify(sortKeys(v), { indentSeq: false, lineWidth: 0, minContentWidth: 0 });
}

/** What kubectl prints for several objects: a v1 List. */
export function asList(items: KubeObject[]): Record<string, unknown> {
  return { apiVersion: 'v1', items, kind: 'List', metadata: { resourceVersion: '' } };
}

export type OutputFormat = { kind: 'table'; wide: boolean } | { kind: 'json' } | { kind: 'yaml' } | { kind: 'name' } | { kind: 'jsonpath'; template: string };

/** Parses -o: wide, yaml, json, name, jsonpath=TEMPLATE, jsonpath-as-json is not offered. */
export function parseOutput(o: string | undefined): OutputFormat {
  if (!o) return { kind: 'table', wide: false };
  if (o === 'wide') return { kind: 'table', wide: true };
  if (o === 'json' || o === 'yaml' || o === 'name') return { kind: o };
  const m = /^jsonpath=(.*)$/s.exec(o);
  if (m) return { kind: 'jsonpath', template: m[1]! };
  throw invalid(`unable to match a printer suitable for the output format "${o}", allowed formats are: json,jsonpath,name,wide,yaml`);
}

/** Prints objects in a non-table format: one object alone, several as a List. */
function withoutManagedFields(obj: KubeObject): KubeObject {
  if (obj.metadata?.managedFields === undefined) return obj;
  const { managedFields: _hidden, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

export function formatObjects(format: Exclude<OutputFormat, { kind: 'table' }>, items: Array<{ resource: ResourceInfo; object: KubeObject }>, single: boolean): string {
  if (format.kind === 'name') return items.map((i) => `${qualifiedName(i.resource, i.object.metadata.name)}\n`).join('');
  // As kubectl does, JSON and YAML leave out metadata.managedFields (server-side apply bookkeeping).
  const shown = format.kind === 'jsonpath' ? items.map((i) => i.object) : items.map((i) => withoutManagedFields(i.object));
  const data = single && shown.length === 1 ? shown[0]! : asList(shown);
  if (format.kind === 'json') return toJson(data);
  if (format.kind === 'yaml') return toYaml(data);
  return jsonPath(format.template, data);
}
