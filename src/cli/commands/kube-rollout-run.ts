/**
 * The rollout verbs as kubectl 1.32 implements them, over the same conventions the controllers keep:
 * a Deployment's history is its ReplicaSets (controlled by it) and their deployment.kubernetes.io/revision
 * annotations; undo copies a ReplicaSet's template (without pod-template-hash) and annotations back into
 * the Deployment with a JSON patch; restart sets the kubectl.kubernetes.io/restartedAt template annotation.
 */
import YAML from 'yaml';
import type { KubeObject } from '../../api/meta.js';
import type { ResourceInfo } from '../../client/rest-client.js';
import { invalid, notFound, timeout as timeoutError } from '../../lib/errors.js';
import type { CliContext } from '../context.js';
import { parseDuration } from './kube-get.js';
import { type KubeFlags, type KubeSession, parseResourceArgs, qualifiedName, withSession } from './kube-session.js';

const REVISION = 'deployment.kubernetes.io/revision';
const HASH = 'pod-template-hash';
/** Deployment annotations that undo keeps instead of taking them from the ReplicaSet (kubectl's annotationsToSkip). */
const KEPT_ON_UNDO = ['kubectl.kubernetes.io/last-applied-configuration', REVISION, 'deployment.kubernetes.io/revision-history', 'deployment.kubernetes.io/desired-replicas', 'deployment.kubernetes.io/max-replicas', 'deprecated.deployment.rollback.to'];
const REPLICASETS: ResourceInfo = { group: 'apps', version: 'v1', resource: 'replicasets', kind: 'ReplicaSet', namespaced: true };

interface Workload extends KubeObject {
  spec: { replicas?: number; paused?: boolean; selector?: { matchLabels?: Record<string, string> }; template: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec: unknown }; [k: string]: unknown };
  status?: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** The objects named by TYPE NAME or TYPE/NAME arguments. */
async function targets(s: KubeSession, args: string[]): Promise<Array<{ resource: ResourceInfo; name: string }>> {
  const out: Array<{ resource: ResourceInfo; name: string }> = [];
  for (const r of parseResourceArgs(args)) {
    if (r.names.length === 0) throw invalid(`a resource name is required: e.g. ${r.type}/NAME`);
    const resource = await s.discovery.resolve(r.type);
    for (const name of r.names) out.push({ resource, name });
  }
  return out;
}

function requireKind(resource: ResourceInfo, kinds: string[], verb: string): void {
  if (!kinds.includes(resource.kind)) throw invalid(`no ${verb} for ${resource.resource}: only ${kinds.map((k) => `${k.toLowerCase()}s`).join(' and ')}`);
}

export async function runScale(ctx: CliContext, args: string[], flags: KubeFlags & { replicas: number; currentReplicas?: number }): Promise<void> {
  await withSession(ctx, flags, async (s) => {
    for (const { resource, name } of await targets(s, args)) {
      if (flags.currentReplicas !== undefined) {
        const scale = await s.client.getSubresource<{ spec?: { replicas?: number } }>(resource, name, 'scale', { namespace: s.namespace });
        if ((scale.spec?.replicas ?? 0) !== flags.currentReplicas) throw invalid(`expected replicas to be ${flags.currentReplicas}, was ${scale.spec?.replicas ?? 0}`);
      }
      await s.client.scale(resource, name, flags.replicas, { namespace: s.namespace });
      ctx.stdout.write(`${qualifiedName(resource, name)} scaled\n`);
    }
  });
}

/** The ReplicaSets a Deployment controls, by revision. */
async function history(s: KubeSession, d: Workload): Promise<Array<{ revision: number; rs: Workload }>> {
  const list = await s.client.list<Workload>(REPLICASETS, { namespace: d.metadata.namespace });
  return list.items
    .filter((rs) => rs.metadata.ownerReferences?.some((r) => r.controller && r.uid === d.metadata.uid))
    .map((rs) => ({ revision: Number.parseInt(rs.metadata.annotations?.[REVISION] ?? '', 10) || 0, rs }))
    .sort((a, b) => a.revision - b.revision);
}

export async function runRolloutHistory(ctx: CliContext, args: string[], flags: KubeFlags & { revision?: number }): Promise<void> {
  await withSession(ctx, flags, async (s) => {
    for (const { resource, name } of await targets(s, args)) {
      requireKind(resource, ['Deployment'], 'history');
      const d = await s.client.get<Workload>(resource, name, { namespace: s.namespace });
      const revisions = await history(s, d);
      if (flags.revision) {
        const found = revisions.find((r) => r.revision === flags.revision);
        if (!found) throw notFound(`unable to find the specified revision`);
        const template = structuredClone(found.rs.spec.template);
        delete template.metadata?.labels?.[HASH];
        const body = YAML.stringify({ 'Pod Template': template }).trimEnd();
        ctx.stdout.write(`${qualifiedName(resource, name)} with revision #${flags.revision}\n${body}\n`);
        continue;
      }
      const rows = revisions.filter((r) => r.revision > 0).map((r) => [String(r.revision), r.rs.metadata.annotations?.['kubernetes.io/change-cause'] || '<none>']);
      const width = Math.max('REVISION'.length, ...rows.map((r) => r[0]!.length)) + 2;
      ctx.stdout.write(`${qualifiedName(resource, name)} \n${'REVISION'.padEnd(width)}CHANGE-CAUSE\n${rows.map(([r, c]) => `${r!.padEnd(width)}${c}`).join('\n')}${rows.length ? '\n' : ''}\n`);
    }
  });
}

function withoutHash(t: Workload['spec']['template']): unknown {
  const c = structuredClone(t);
  if (c.metadata?.labels) delete c.metadata.labels[HASH];
  return c;
}

/** Template equality as Kubernetes compares decoded structs: nulls and empty maps or lists do not count. */
function normalized(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normalized);
  if (!v || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v).sort()) {
    const n = normalized((v as Record<string, unknown>)[k]);
    if (n === null || n === undefined || (typeof n === 'object' && Object.keys(n as object).length === 0)) continue;
    out[k] = n;
  }
  return out;
}

export async function runRolloutUndo(ctx: CliContext, args: string[], flags: KubeFlags & { toRevision?: number }): Promise<void> {
  await withSession(ctx, flags, async (s) => {
    for (const { resource, name } of await targets(s, args)) {
      requireKind(resource, ['Deployment'], 'rollback');
      const d = await s.client.get<Workload>(resource, name, { namespace: s.namespace });
      if (d.spec.paused) throw invalid(`you cannot rollback a paused deployment; resume it first with 'nubis rollout resume' and try again`);
      const revisions = await history(s, d);
      const to = flags.toRevision ?? 0;
      const target = to > 0 ? revisions.find((r) => r.revision === to) : revisions.length >= 2 ? revisions[revisions.length - 2] : undefined;
      if (!target) throw notFound(to > 0 ? `unable to find specified revision ${to} in history` : `no rollout history found for deployment "${name}"`);
      if (JSON.stringify(normalized(withoutHash(target.rs.spec.template))) === JSON.stringify(normalized(withoutHash(d.spec.template)))) {
        ctx.stdout.write(`${qualifiedName(resource, name)} skipped rollback (current template already matches revision ${target.revision})\n`);
        continue;
      }
      const annotations: Record<string, string> = {};
      for (const k of KEPT_ON_UNDO) if (d.metadata.annotations?.[k] !== undefined) annotations[k] = d.metadata.annotations[k]!;
      for (const [k, v] of Object.entries(target.rs.metadata.annotations ?? {})) if (!KEPT_ON_UNDO.includes(k)) annotations[k] = v;
      const patch = [
        { op: 'replace', path: '/spec/template', value: withoutHash(target.rs.spec.template) },
        { op: 'replace', path: '/metadata/annotations', value: annotations },
      ];
      await s.client.patch(resource, name, patch, 'json', { namespace: s.namespace });
      ctx.stdout.write(`${qualifiedName(resource, name)} rolled back\n`);
    }
  });
}

export async function runRolloutRestart(ctx: CliContext, args: string[], flags: KubeFlags): Promise<void> {
  await withSession(ctx, flags, async (s) => {
    for (const { resource, name } of await targets(s, args)) {
      requireKind(resource, ['Deployment', 'DaemonSet', 'StatefulSet'], 'restart');
      const d = await s.client.get<Workload>(resource, name, { namespace: s.namespace });
      if (d.spec.paused) throw invalid(`can't restart paused deployment (run rollout resume first)`);
      const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      await s.client.patch(resource, name, { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': now } } } } }, 'strategic', { namespace: s.namespace });
      ctx.stdout.write(`${qualifiedName(resource, name)} restarted\n`);
    }
  });
}

export async function runRolloutPause(ctx: CliContext, args: string[], flags: KubeFlags, pause: boolean): Promise<void> {
  await withSession(ctx, flags, async (s) => {
    for (const { resource, name } of await targets(s, args)) {
      requireKind(resource, ['Deployment'], pause ? 'pause' : 'resume');
      const d = await s.client.get<Workload>(resource, name, { namespace: s.namespace });
      const word = pause ? 'paused' : 'resumed';
      if (!!d.spec.paused === pause) {
        ctx.stdout.write(`${qualifiedName(resource, name)} ${pause ? 'already paused' : 'is not paused'}\n`);
        continue;
      }
      await s.client.patch(resource, name, { spec: { paused: pause } }, 'merge', { namespace: s.namespace });
      ctx.stdout.write(`${qualifiedName(resource, name)} ${word}\n`);
    }
  });
}

/** One look at a rollout: its message, and whether it is done (an exceeded deadline throws). */
export function rolloutState(obj: Workload, revision?: number): { message: string; done: boolean } {
  const name = obj.metadata.name;
  const st = obj.status ?? {};
  if (obj.kind === 'DaemonSet') {
    if ((obj.metadata.generation ?? 0) > (st.observedGeneration ?? 0)) return { message: 'Waiting for daemon set spec update to be observed...', done: false };
    if ((st.updatedNumberScheduled ?? 0) < (st.desiredNumberScheduled ?? 0)) return { message: `Waiting for daemon set "${name}" rollout to finish: ${st.updatedNumberScheduled ?? 0} out of ${st.desiredNumberScheduled ?? 0} new pods have been updated...`, done: false };
    if ((st.numberAvailable ?? 0) < (st.desiredNumberScheduled ?? 0)) return { message: `Waiting for daemon set "${name}" rollout to finish: ${st.numberAvailable ?? 0} of ${st.desiredNumberScheduled ?? 0} updated pods are available...`, done: false };
    return { message: `daemon set "${name}" successfully rolled out`, done: true };
  }
  if (revision && Number(obj.metadata.annotations?.[REVISION] ?? 0) !== revision) throw invalid(`desired revision (${revision}) is different from the running revision (${obj.metadata.annotations?.[REVISION] ?? 0})`);
  if ((obj.metadata.generation ?? 0) > (st.observedGeneration ?? 0)) return { message: 'Waiting for deployment spec update to be observed...', done: false };
  const progressing = (st.conditions ?? []).find((c: { type: string }) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') throw timeoutError(`deployment "${name}" exceeded its progress deadline`);
  const want = obj.spec.replicas ?? 1;
  const updated = st.updatedReplicas ?? 0;
  if (updated < want) return { message: `Waiting for deployment "${name}" rollout to finish: ${updated} out of ${want} new replicas have been updated...`, done: false };
  if ((st.replicas ?? 0) > updated) return { message: `Waiting for deployment "${name}" rollout to finish: ${(st.replicas ?? 0) - updated} old replicas are pending termination...`, done: false };
  if ((st.availableReplicas ?? 0) < updated) return { message: `Waiting for deployment "${name}" rollout to finish: ${st.availableReplicas ?? 0} of ${updated} updated replicas are available...`, done: false };
  return { message: `deployment "${name}" successfully rolled out`, done: true };
}

export async function runRolloutStatus(ctx: CliContext, args: string[], flags: KubeFlags & { watch?: string | boolean; timeout?: string; revision?: number }): Promise<void> {
  const watch = !(flags.watch === false || flags.watch === 'false');
  const limit = parseDuration(flags.timeout);
  const deadline = limit === undefined ? Infinity : Date.now() + limit * 1000;
  await withSession(ctx, flags, async (s) => {
    for (const { resource, name } of await targets(s, args)) {
      requireKind(resource, ['Deployment', 'DaemonSet'], 'status');
      let last = '';
      for (;;) {
        const obj = await s.client.get<Workload>(resource, name, { namespace: s.namespace });
        const state = rolloutState(obj, flags.revision);
        if (state.message !== last) ctx.stdout.write(`${state.message}\n`);
        last = state.message;
        if (state.done || !watch) break;
        if (Date.now() > deadline) throw timeoutError('timed out waiting for the condition');
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  });
}
