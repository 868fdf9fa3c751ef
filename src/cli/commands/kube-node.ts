/**
 * `nubis node ls|cordon|uncordon|drain` (kubectl's cordon/drain conventions and messages) and
 * `nubis top nodes|pods` from the agents' /stats/summary, read through the API server's node proxy.
 */
import type { Node } from '../../api/core/v1/node.js';
import type { Pod } from '../../api/core/v1/pod-types.js';
import type { ResourceInfo, RestClient } from '../../client/rest-client.js';
import { invalid, isNubisError, messageOf, timeout as timeoutError, unavailable } from '../../lib/errors.js';
import { formatTable, type CliContext } from '../context.js';
import { PODS } from './kube-pod-run.js';
import { withSession, type KubeFlags } from './kube-session.js';

const NODES: ResourceInfo = { group: '', version: 'v1', resource: 'nodes', kind: 'Node', namespaced: false };

export async function runCordon(ctx: CliContext, names: string[], o: KubeFlags, unschedulable: boolean): Promise<void> {
  if (names.length === 0) throw invalid(`${unschedulable ? 'cordon' : 'uncordon'} needs a node name`);
  await withSession(ctx, o, async (s) => {
    for (const name of names) ctx.stdout.write(`${await setUnschedulable(s.client, name, unschedulable)}\n`);
  });
}

async function setUnschedulable(client: RestClient, name: string, unschedulable: boolean): Promise<string> {
  const node = await client.get<Node>(NODES, name);
  const word = unschedulable ? 'cordoned' : 'uncordoned';
  if (!!node.spec?.unschedulable === unschedulable) return `node/${name} already ${word}`;
  await client.patch(NODES, name, { spec: { unschedulable: unschedulable ? true : null } }, 'strategic');
  return `node/${name} ${word}`;
}

export interface DrainOptions extends KubeFlags {
  ignoreDaemonsets?: boolean;
  deleteEmptydirData?: boolean;
  force?: boolean;
  timeout?: string;
  gracePeriod?: string;
}

/** Cordons the node, evicts its pods (the Eviction subresource) and waits until they are gone. */
export async function runDrain(ctx: CliContext, name: string, o: DrainOptions): Promise<void> {
  const timeoutMs = o.timeout ? parseSeconds(o.timeout) * 1000 : 0;
  await withSession(ctx, o, async (s) => {
    ctx.stdout.write(`${await setUnschedulable(s.client, name, true)}\n`);
    const pods = (await s.client.list<Pod>(PODS, { fieldSelector: `spec.nodeName=${name}` })).items;
    const problems: string[] = [];
    const daemon: string[] = [];
    const evict: Pod[] = [];
    for (const p of pods) {
      const id = `${p.metadata.namespace}/${p.metadata.name}`;
      const owner = p.metadata.ownerReferences?.find((r) => r.controller);
      if (owner?.kind === 'DaemonSet') {
        if (o.ignoreDaemonsets) daemon.push(id);
        else problems.push(`cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): ${id}`);
        continue;
      }
      if (!owner && !o.force) problems.push(`cannot delete Pods that declare no controller (use --force to override): ${id}`);
      if ((p.spec.volumes ?? []).some((v) => 'emptyDir' in v) && !o.deleteEmptydirData) problems.push(`cannot delete Pods with local storage (use --delete-emptydir-data to override): ${id}`);
      evict.push(p);
    }
    if (problems.length > 0) throw invalid(`unable to drain node "${name}" due to error: ${problems.join(', ')}`);
    if (daemon.length > 0) ctx.stderr.write(`Warning: ignoring DaemonSet-managed Pods: ${daemon.join(', ')}\n`);
    for (const p of evict) {
      ctx.stdout.write(`evicting pod ${p.metadata.namespace}/${p.metadata.name}\n`);
      const body = {
        apiVersion: 'policy/v1',
        kind: 'Eviction',
        metadata: { name: p.metadata.name, namespace: p.metadata.namespace },
        ...(o.gracePeriod !== undefined && o.gracePeriod !== '-1' ? { deleteOptions: { gracePeriodSeconds: Number(o.gracePeriod) } } : {}),
      };
      try {
        await s.client.createSubresource(PODS, p.metadata.name, 'eviction', body, { namespace: p.metadata.namespace });
      } catch (err) {
        if (!isNubisError(err, 'NotFound')) throw err;
      }
    }
    const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : Infinity;
    const waiting = new Map(evict.map((p) => [`${p.metadata.namespace}/${p.metadata.name}`, p]));
    while (waiting.size > 0) {
      for (const [id, p] of waiting) {
        try {
          const now = await s.client.get<Pod>(PODS, p.metadata.name, { namespace: p.metadata.namespace });
          if (now.metadata.uid !== p.metadata.uid) throw Object.assign(new Error('replaced'), { replaced: true });
        } catch (err) {
          if (!isNubisError(err, 'NotFound') && !(err as { replaced?: boolean }).replaced) throw err;
          waiting.delete(id);
          ctx.stdout.write(`pod/${p.metadata.name} evicted\n`);
        }
      }
      if (waiting.size === 0) break;
      if (Date.now() > deadline) throw timeoutError(`drain did not complete within ${o.timeout}: still waiting for ${[...waiting.keys()].join(', ')}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    ctx.stdout.write(`node/${name} drained\n`);
  });
}

function parseSeconds(text: string): number {
  const m = /^(\d+)(s|m|h)?$/.exec(text);
  if (!m) throw invalid(`--timeout takes a duration such as 30s or 5m, not "${text}"`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600 }[(m[2] ?? 's') as 's' | 'm' | 'h'];
}

interface Summary {
  node: { nodeName: string; cpu?: { usageNanoCores?: number }; memory?: { workingSetBytes?: number } };
  pods: Array<{ podRef: { name: string; namespace: string }; cpu?: { usageNanoCores?: number }; memory?: { workingSetBytes?: number }; containers?: Array<{ name: string; cpu?: { usageNanoCores?: number }; memory?: { workingSetBytes?: number } }> }>;
}

/** A node's stats summary, through the API server's node proxy (/api/v1/nodes/N/proxy/stats/summary). */
async function summaryOf(client: RestClient, node: Node): Promise<Summary> {
  try {
    return await client.requestJson<Summary>({ path: `/api/v1/nodes/${encodeURIComponent(node.metadata.name)}/proxy/stats/summary`, timeoutMs: 10_000 });
  } catch (err) {
    throw unavailable(`stats of node ${node.metadata.name}: ${messageOf(err)}`, err);
  }
}

const cores = (nano?: number) => `${Math.round((nano ?? 0) / 1e6)}m`;
const mebi = (bytes?: number) => `${Math.round((bytes ?? 0) / 1048576)}Mi`;

function quantity(q: string | undefined): number {
  if (!q) return 0;
  const m = /^(\d+(?:\.\d+)?)([a-zA-Z]*)$/.exec(q);
  if (!m) return 0;
  const units: Record<string, number> = { '': 1, m: 1e-3, k: 1e3, Ki: 1024, M: 1e6, Mi: 1048576, G: 1e9, Gi: 1073741824, T: 1e12, Ti: 1099511627776 };
  return Number(m[1]) * (units[m[2]!] ?? 1);
}

async function readySummaries(client: RestClient, names?: string[]): Promise<Array<{ node: Node; summary: Summary }>> {
  const nodes = (await client.list<Node>(NODES)).items.filter((n) => !names?.length || names.includes(n.metadata.name));
  const ready = nodes.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
  const out = await Promise.all(ready.map(async (node) => ({ node, summary: await summaryOf(client, node).catch(() => undefined) })));
  return out.filter((x): x is { node: Node; summary: Summary } => x.summary !== undefined);
}

export async function runTopNodes(ctx: CliContext, names: string[], o: KubeFlags & { noHeaders?: boolean }): Promise<void> {
  await withSession(ctx, o, async (s) => {
    const rows = (await readySummaries(s.client, names)).map(({ node, summary }) => {
      const cpu = summary.node.cpu?.usageNanoCores ?? 0;
      const mem = summary.node.memory?.workingSetBytes ?? 0;
      const cpuCap = quantity(node.status?.allocatable?.cpu ?? node.status?.capacity?.cpu);
      const memCap = quantity(node.status?.allocatable?.memory ?? node.status?.capacity?.memory);
      const pct = (v: number, cap: number) => (cap > 0 ? `${Math.round((v / cap) * 100)}%` : '<unknown>');
      return [node.metadata.name, cores(cpu), pct(cpu / 1e9, cpuCap), mebi(mem), pct(mem, memCap)];
    });
    if (rows.length === 0) throw unavailable('metrics not available yet: no Ready node answered');
    const table = formatTable(['NAME', 'CPU(cores)', 'CPU(%)', 'MEMORY(bytes)', 'MEMORY(%)'], rows);
    ctx.stdout.write(o.noHeaders ? table.split('\n').slice(1).join('\n') : table);
  });
}

export async function runTopPods(ctx: CliContext, names: string[], o: KubeFlags & { allNamespaces?: boolean; containers?: boolean; noHeaders?: boolean }): Promise<void> {
  await withSession(ctx, o, async (s) => {
    const rows: string[][] = [];
    for (const { summary } of await readySummaries(s.client)) {
      for (const p of summary.pods) {
        if (!o.allNamespaces && p.podRef.namespace !== s.namespace) continue;
        if (names.length > 0 && !names.includes(p.podRef.name)) continue;
        const ns = o.allNamespaces ? [p.podRef.namespace] : [];
        if (o.containers) for (const c of p.containers ?? []) rows.push([...ns, p.podRef.name, c.name, cores(c.cpu?.usageNanoCores), mebi(c.memory?.workingSetBytes)]);
        else rows.push([...ns, p.podRef.name, cores(p.cpu?.usageNanoCores), mebi(p.memory?.workingSetBytes)]);
      }
    }
    rows.sort((a, b) => a.join('/').localeCompare(b.join('/')));
    if (rows.length === 0) throw unavailable(names.length ? `metrics not available yet for pod ${names.join(', ')}` : `no pods found in ${o.allNamespaces ? 'any namespace' : `namespace ${s.namespace}`}`);
    const header = [...(o.allNamespaces ? ['NAMESPACE'] : []), 'NAME', ...(o.containers ? ['CONTAINER'] : []), 'CPU(cores)', 'MEMORY(bytes)'];
    const table = formatTable(header, rows);
    ctx.stdout.write(o.noHeaders ? table.split('\n').slice(1).join('\n') : table);
  });
}
