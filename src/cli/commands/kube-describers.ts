/** Per-kind sections of `nubis describe`: what an operator looks for first in each kind. */
import type { KubeObject } from '../../api/meta.js';
import { Quantity } from '../../api/quantity.js';
import type { ResourceInfo } from '../../client/rest-client.js';

/** The writer describers print through (DescribeWriter). */
export interface Out {
  kv(level: number, key: string, value: unknown): void;
  section(level: number, key: string): void;
  text(level: number, text: string): void;
  map(level: number, key: string, m: Record<string, string> | undefined): void;
  table(level: number, header: string[], rows: string[][]): void;
}

type Rec = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function list(v: unknown): Rec[] {
  return Array.isArray(v) ? (v as Rec[]) : [];
}

function ports(c: Rec): string {
  const ps = list(c.ports);
  return ps.length ? ps.map((p) => `${p.containerPort}/${p.protocol ?? 'TCP'}${p.name ? ` (${p.name})` : ''}`).join(', ') : '<none>';
}

function resources(w: Out, level: number, c: Rec): void {
  for (const kind of ['limits', 'requests'] as const) {
    const m = c.resources?.[kind] as Record<string, string> | undefined;
    if (!m || Object.keys(m).length === 0) continue;
    w.section(level, kind === 'limits' ? 'Limits' : 'Requests');
    for (const [k, v] of Object.entries(m)) w.kv(level + 1, k, v);
  }
}

function state(w: Out, level: number, key: string, s: Rec | undefined): void {
  if (!s || Object.keys(s).length === 0) return;
  const [name, detail] = Object.entries(s)[0] as [string, Rec];
  w.kv(level, key, name[0]!.toUpperCase() + name.slice(1));
  if (detail?.reason) w.kv(level + 1, 'Reason', detail.reason);
  if (detail?.exitCode !== undefined) w.kv(level + 1, 'Exit Code', detail.exitCode);
  if (detail?.startedAt) w.kv(level + 1, 'Started', new Date(detail.startedAt).toUTCString());
  if (detail?.finishedAt) w.kv(level + 1, 'Finished', new Date(detail.finishedAt).toUTCString());
}

function containers(w: Out, level: number, title: string, specs: Rec[], statuses: Rec[]): void {
  if (specs.length === 0) return;
  w.section(level, title);
  for (const c of specs) {
    const st = statuses.find((s) => s.name === c.name);
    w.section(level + 1, c.name);
    if (st?.containerID) w.kv(level + 2, 'Container ID', st.containerID);
    w.kv(level + 2, 'Image', c.image);
    if (st?.imageID) w.kv(level + 2, 'Image ID', st.imageID);
    w.kv(level + 2, 'Port', ports(c));
    if (list(c.command).length) w.kv(level + 2, 'Command', (c.command as string[]).join('\n'));
    if (list(c.args).length) w.kv(level + 2, 'Args', (c.args as string[]).join('\n'));
    state(w, level + 2, 'State', st?.state);
    state(w, level + 2, 'Last State', st?.lastState);
    if (st) {
      w.kv(level + 2, 'Ready', st.ready ? 'True' : 'False');
      w.kv(level + 2, 'Restart Count', st.restartCount ?? 0);
    }
    resources(w, level + 2, c);
    const env = list(c.env);
    w.kv(level + 2, 'Environment', env.length ? env.map((e) => `${e.name}=${e.value ?? (e.valueFrom ? '<set from a reference>' : '')}`).join('\n') : '<none>');
    const mounts = list(c.volumeMounts);
    w.kv(level + 2, 'Mounts', mounts.length ? mounts.map((m) => `${m.mountPath} from ${m.name} (${m.readOnly ? 'ro' : 'rw'})`).join('\n') : '<none>');
  }
}

function conditions(w: Out, level: number, conds: Rec[], extra: 'pod' | 'full'): void {
  if (conds.length === 0) return;
  w.section(level, 'Conditions');
  if (extra === 'pod') w.table(level + 1, ['Type', 'Status'], conds.map((c) => [c.type, c.status]));
  else w.table(level + 1, ['Type', 'Status', 'Reason'], conds.map((c) => [c.type, c.status, c.reason ?? '']));
}

function volumes(w: Out, level: number, vols: Rec[]): void {
  if (vols.length === 0) {
    w.kv(level, 'Volumes', '<none>');
    return;
  }
  w.section(level, 'Volumes');
  for (const v of vols) {
    const { name, ...source } = v;
    const [type, detail] = (Object.entries(source)[0] ?? ['unknown', {}]) as [string, Rec];
    w.section(level + 1, name);
    w.kv(level + 2, 'Type', type);
    for (const [k, val] of Object.entries(detail ?? {})) if (typeof val !== 'object') w.kv(level + 2, k[0]!.toUpperCase() + k.slice(1), val);
  }
}

function podTemplate(w: Out, template: Rec | undefined): void {
  if (!template) return;
  w.section(0, 'Pod Template');
  w.map(1, 'Labels', template.metadata?.labels);
  containers(w, 1, 'Init Containers', list(template.spec?.initContainers), []);
  containers(w, 1, 'Containers', list(template.spec?.containers), []);
  volumes(w, 1, list(template.spec?.volumes));
}

function selector(sel: Rec | undefined): string {
  if (!sel) return '<none>';
  const parts = Object.entries((sel.matchLabels ?? {}) as Record<string, string>).map(([k, v]) => `${k}=${v}`);
  for (const e of list(sel.matchExpressions)) parts.push(`${e.key} ${String(e.operator).toLowerCase()} (${(e.values ?? []).join(',')})`);
  return parts.join(',') || '<none>';
}

const SCOPE_HELP: Record<string, string> = {
  Terminating: 'Matches all pods that have an active deadline. These pods have a limited lifespan on a node before being actively terminated by the system.',
  NotTerminating: 'Matches all pods that do not have an active deadline. These pods usually include long running pods whose container command is not expected to terminate.',
  BestEffort: 'Matches all pods that do not have resource requirements set. These pods have a best effort quality of service.',
  NotBestEffort: 'Matches all pods that have at least one resource requirement set. These pods have a burstable or guaranteed quality of service.',
};

/** kubectl's quota table: used shown in the hard limit's format. */
function quotaTable(w: Out, spec: Rec, status: Rec): void {
  const scopes = [...list(spec.scopes)].map(String).sort();
  if (scopes.length) w.kv(0, 'Scopes', scopes.join(', '));
  for (const s of scopes) if (SCOPE_HELP[s]) w.text(0, ` * ${SCOPE_HELP[s]}`);
  const rows = Object.keys(status.hard ?? {}).sort().map((k) => {
    const hard = Quantity.orZero(status.hard[k]);
    const used = Quantity.orZero(status.used?.[k]);
    return [k, (used.format === hard.format ? used : Quantity.of(used.value(), hard.format)).toString(), hard.toString()];
  });
  w.table(0, ['Resource', 'Used', 'Hard'], rows);
}

/** kubectl's limit range table: one row per item and resource, `-` where nothing is set. */
function limitTable(w: Out, spec: Rec): void {
  const cols = ['min', 'max', 'defaultRequest', 'default', 'maxLimitRequestRatio'];
  const rows = list(spec.limits).flatMap((item) => {
    const names = [...new Set(cols.flatMap((c) => Object.keys(item[c] ?? {})))].sort();
    return names.map((n) => [item.type, n, ...cols.map((c) => (item[c]?.[n] === undefined ? '-' : String(item[c][n])))]);
  });
  w.table(0, ['Type', 'Resource', 'Min', 'Max', 'Default Request', 'Default Limit', 'Max Limit/Request Ratio'], rows);
}

/** Writes the kind's sections; false when there is no describer for the kind. */
export function describeKind(w: Out, r: ResourceInfo, obj: KubeObject): boolean {
  const spec = (obj.spec ?? {}) as Rec;
  const status = (obj.status ?? {}) as Rec;
  const key = `${r.group}/${r.kind}`;
  switch (key) {
    case '/Pod': {
      w.kv(0, 'Service Account', spec.serviceAccountName);
      w.kv(0, 'Node', spec.nodeName ? `${spec.nodeName}${status.hostIP ? `/${status.hostIP}` : ''}` : '<none>');
      if (status.startTime) w.kv(0, 'Start Time', new Date(status.startTime).toUTCString());
      w.kv(0, 'Status', obj.metadata.deletionTimestamp ? 'Terminating' : status.phase);
      if (status.reason) w.kv(0, 'Reason', status.reason);
      if (status.message) w.kv(0, 'Message', status.message);
      w.kv(0, 'IP', status.podIP ?? '');
      if (spec.runtimeClassName) w.kv(0, 'Runtime Class Name', spec.runtimeClassName);
      containers(w, 0, 'Init Containers', list(spec.initContainers), list(status.initContainerStatuses));
      containers(w, 0, 'Containers', list(spec.containers), list(status.containerStatuses));
      conditions(w, 0, list(status.conditions), 'pod');
      volumes(w, 0, list(spec.volumes));
      if (status.qosClass) w.kv(0, 'QoS Class', status.qosClass);
      w.map(0, 'Node-Selectors', spec.nodeSelector);
      const tol = list(spec.tolerations).map((t) => `${t.key ?? ''}${t.operator === 'Exists' ? '' : `=${t.value ?? ''}`}${t.effect ? `:${t.effect}` : ''}${t.tolerationSeconds !== undefined ? ` for ${t.tolerationSeconds}s` : ''}`);
      w.kv(0, 'Tolerations', tol.join('\n') || '<none>');
      return true;
    }
    case 'apps/Deployment':
    case 'apps/ReplicaSet':
    case 'apps/StatefulSet':
    case 'apps/DaemonSet': {
      w.kv(0, 'Selector', selector(spec.selector));
      if (r.kind === 'DaemonSet') {
        w.kv(0, 'Desired Number of Nodes Scheduled', status.desiredNumberScheduled ?? 0);
        w.kv(0, 'Current Number of Nodes Scheduled', status.currentNumberScheduled ?? 0);
        w.kv(0, 'Number Ready', status.numberReady ?? 0);
      } else if (r.kind === 'Deployment') {
        const desired = spec.replicas ?? 1;
        w.kv(0, 'Replicas', `${desired} desired | ${status.updatedReplicas ?? 0} updated | ${status.replicas ?? 0} total | ${status.availableReplicas ?? 0} available | ${status.unavailableReplicas ?? 0} unavailable`);
        w.kv(0, 'StrategyType', spec.strategy?.type);
        w.kv(0, 'MinReadySeconds', spec.minReadySeconds ?? 0);
        if (spec.strategy?.rollingUpdate) w.kv(0, 'RollingUpdateStrategy', `${spec.strategy.rollingUpdate.maxUnavailable ?? '25%'} max unavailable, ${spec.strategy.rollingUpdate.maxSurge ?? '25%'} max surge`);
      } else {
        w.kv(0, 'Replicas', `${status.replicas ?? 0} current / ${spec.replicas ?? 1} desired`);
        w.kv(0, 'Pods Status', `${status.readyReplicas ?? 0} Ready / ${status.availableReplicas ?? 0} Available`);
      }
      podTemplate(w, spec.template);
      conditions(w, 0, list(status.conditions), 'full');
      return true;
    }
    case 'batch/Job': {
      w.kv(0, 'Selector', selector(spec.selector));
      w.kv(0, 'Parallelism', spec.parallelism ?? 1);
      w.kv(0, 'Completions', spec.completions ?? '<unset>');
      if (status.startTime) w.kv(0, 'Start Time', new Date(status.startTime).toUTCString());
      if (status.completionTime) w.kv(0, 'Completed At', new Date(status.completionTime).toUTCString());
      w.kv(0, 'Pods Statuses', `${status.active ?? 0} Active / ${status.succeeded ?? 0} Succeeded / ${status.failed ?? 0} Failed`);
      podTemplate(w, spec.template);
      conditions(w, 0, list(status.conditions), 'full');
      return true;
    }
    case '/Service': {
      w.map(0, 'Selector', spec.selector);
      w.kv(0, 'Type', spec.type);
      w.kv(0, 'IP', spec.clusterIP);
      for (const p of list(spec.ports)) {
        w.kv(0, 'Port', `${p.name ?? '<unset>'}  ${p.port}/${p.protocol ?? 'TCP'}`);
        w.kv(0, 'TargetPort', `${p.targetPort ?? p.port}/${p.protocol ?? 'TCP'}`);
        if (p.nodePort) w.kv(0, 'NodePort', `${p.name ?? '<unset>'}  ${p.nodePort}/${p.protocol ?? 'TCP'}`);
      }
      w.kv(0, 'Session Affinity', spec.sessionAffinity ?? 'None');
      return true;
    }
    case '/ConfigMap': {
      w.section(0, 'Data');
      w.text(0, '====');
      for (const [k, v] of Object.entries((obj.data ?? {}) as Record<string, string>)) {
        w.text(0, `${k}:`);
        w.text(0, '----');
        for (const line of String(v).split('\n')) w.text(0, line);
      }
      w.section(0, 'BinaryData');
      w.text(0, '====');
      for (const [k, v] of Object.entries((obj.binaryData ?? {}) as Record<string, string>)) w.text(0, `${k}: ${Buffer.from(v, 'base64').length} bytes`);
      return true;
    }
    case '/Secret': {
      w.kv(0, 'Type', obj.type);
      w.section(0, 'Data');
      w.text(0, '====');
      for (const [k, v] of Object.entries((obj.data ?? {}) as Record<string, string>)) w.kv(0, k, `${Buffer.from(v, 'base64').length} bytes`);
      return true;
    }
    case '/Namespace':
      w.kv(0, 'Status', status.phase);
      return true;
    case '/ResourceQuota':
      quotaTable(w, spec, status);
      return true;
    case '/LimitRange':
      limitTable(w, spec);
      return true;
    case '/Node': {
      w.kv(0, 'Unschedulable', spec.unschedulable ? 'true' : 'false');
      const taints = list(spec.taints).map((t) => `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`);
      w.kv(0, 'Taints', taints.join('\n') || '<none>');
      conditions(w, 0, list(status.conditions), 'full');
      const addrs = list(status.addresses);
      if (addrs.length) {
        w.section(0, 'Addresses');
        for (const a of addrs) w.kv(1, a.type, a.address);
      }
      for (const part of ['capacity', 'allocatable'] as const) {
        const m = status[part] as Record<string, string> | undefined;
        if (!m) continue;
        w.section(0, part === 'capacity' ? 'Capacity' : 'Allocatable');
        for (const [k, v] of Object.entries(m)) w.kv(1, k, v);
      }
      if (status.nodeInfo) {
        w.section(0, 'System Info');
        for (const [k, v] of Object.entries(status.nodeInfo as Record<string, string>)) w.kv(1, k[0]!.toUpperCase() + k.slice(1).replace(/([A-Z])/g, ' $1'), v);
      }
      return true;
    }
    default:
      return false;
  }
}
