import type { KubeObject } from './meta.js';
import type { TableColumn } from './resource-type.js';

/**
 * Helpers for meta.k8s.io/v1 Table rows as kube-apiserver prints them: ages are strings computed on the
 * server ("5m", "3d4h"), priority 1 columns appear only with `kubectl get -o wide`.
 */

export function column(name: string, description: string, options: Partial<Omit<TableColumn, 'name' | 'description'>> = {}): TableColumn {
  return { name, type: options.type ?? 'string', format: options.format ?? '', description, priority: options.priority ?? 0 };
}

export const nameColumn = (): TableColumn =>
  column('Name', 'Name must be unique within a namespace. Cannot be updated.', { format: 'name' });
export const ageColumn = (): TableColumn =>
  column('Age', 'CreationTimestamp is a timestamp representing the server time when this object was created.');
export const wide = (name: string, description: string, options: Partial<Omit<TableColumn, 'name' | 'description'>> = {}): TableColumn =>
  column(name, description, { ...options, priority: 1 });

/**
 * Kubernetes' duration.HumanDuration: seconds below 2 minutes, then minutes (with seconds below 10
 * minutes), hours (with minutes below 8 hours), days (with hours below 8 days), years (with days below 8).
 */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  const withRest = (big: number, bigUnit: string, small: number, smallUnit: string) => (small === 0 ? `${big}${bigUnit}` : `${big}${bigUnit}${small}${smallUnit}`);
  if (minutes < 10) return withRest(minutes, 'm', seconds % 60, 's');
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return withRest(hours, 'h', minutes % 60, 'm');
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 8) return withRest(days, 'd', hours % 24, 'h');
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.floor(days / 365);
  if (hours < 24 * 365 * 8) return withRest(years, 'y', days % 365, 'd');
  return `${years}y`;
}

/** The age cell of a timestamp; `<unknown>` when absent, as kubectl prints it. */
export function since(timestamp: string | undefined, now = Date.now()): string {
  if (!timestamp) return '<unknown>';
  const t = Date.parse(timestamp);
  if (Number.isNaN(t)) return '<unknown>';
  return humanDuration(now - t);
}

export const age = (obj: KubeObject, now?: number): string => since(obj.metadata.creationTimestamp, now);

/** `<none>` for empty cells, as kubectl prints them. */
export const orNone = (v: string | undefined): string => (v ? v : '<none>');

/** `key=value,...` of a string map, `<none>` when empty. */
export function formatMap(m: Record<string, string> | undefined): string {
  const entries = Object.entries(m ?? {});
  return entries.length ? entries.map(([k, v]) => `${k}=${v}`).join(',') : '<none>';
}

/** Container names and images of a pod template, comma-joined (the wide columns of workloads). */
export function containerColumns(podSpec: { containers?: Array<{ name?: string; image?: string }> } | undefined): [string, string] {
  const cs = podSpec?.containers ?? [];
  return [cs.map((c) => c.name ?? '').join(','), cs.map((c) => c.image ?? '').join(',')];
}
