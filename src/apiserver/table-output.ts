/** meta.k8s.io/v1 Table answers for `kubectl get` (server-side printing), built from ResourceType.table. */
import type { KubeObject } from '../api/meta.js';
import type { ResourceType } from '../api/registry.js';
import { badRequest } from './status.js';

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export function includeObjectParam(value: string | null): IncludeObject {
  if (value === null || value === '') return 'Metadata';
  if (value === 'None' || value === 'Metadata' || value === 'Object') return value;
  throw badRequest(`includeObject must be None, Metadata or Object, not "${value.slice(0, 50)}"`);
}

function rowObject(obj: KubeObject, include: IncludeObject): unknown {
  if (include === 'None') return undefined;
  if (include === 'Object') return obj;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
}

function row(t: ResourceType, obj: KubeObject, include: IncludeObject, now: number): Record<string, unknown> {
  let cells: unknown[];
  try {
    cells = t.table.cells(obj, now);
  } catch {
    // A stored object a printer cannot read still gets a row: its name and blanks.
    cells = t.table.columns.map((c, i) => (i === 0 ? obj.metadata.name : c.type === 'integer' ? 0 : '<unknown>'));
  }
  const out: Record<string, unknown> = { cells };
  const o = rowObject(obj, include);
  if (o !== undefined) out.object = o;
  return out;
}

/** A Table for a list (or a single object), with the list's resourceVersion and continue token. */
export function toTable(
  t: ResourceType,
  items: KubeObject[],
  include: IncludeObject,
  listMeta: { resourceVersion?: string; continue?: string } = {},
  withColumns = true,
): Record<string, unknown> {
  const now = Date.now();
  const metadata: Record<string, string> = {};
  if (listMeta.resourceVersion) metadata.resourceVersion = listMeta.resourceVersion;
  if (listMeta.continue) metadata.continue = listMeta.continue;
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata,
    columnDefinitions: withColumns ? t.table.columns : [],
    rows: items.map((o) => row(t, o, include, now)),
  };
}
