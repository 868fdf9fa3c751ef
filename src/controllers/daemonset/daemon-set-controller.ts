/**
 * The DaemonSet controller: one pod on every eligible node (node-eligibility.ts), bound to it directly;
 * pods on nodes that no longer qualify, failed pods and extra pods are deleted. Pods carry the
 * template's `controller-revision-hash`; with the RollingUpdate strategy, old pods are replaced at most
 * maxUnavailable nodes at a time (unavailable old pods first), with OnDelete only when someone deletes them.
 */
import type { DaemonSet } from '../../api/apps/v1/daemon-set.js';
import type { Node } from '../../api/core/v1/node.js';
import type { Pod } from '../../api/core/v1/pod-types.js';
import { selectorMatches } from '../../api/validation.js';
import type { Informer } from '../../client/informer.js';
import { NAMESPACE_INDEX } from '../../client/object-cache.js';
import { isNubisError, messageOf } from '../../lib/errors.js';
import { logger } from '../../lib/log.js';
import { claimObjects, recheckOwner } from '../claim.js';
import { type Controller, type ControllerDeps, runController, resolveOwner, writeStatus } from '../controller.js';
import { scaledValue, templateHash } from '../deployment/deployment-util.js';
import { Expectations } from '../expectations.js';
import { controllerRefOf, isPodReady, keyOf, podAvailability, podFromTemplate, splitKey } from '../pod-util.js';
import { DAEMONSETS, NODES, PODS } from '../resources.js';
import { type ReconcileResult, WorkQueue } from '../work-queue.js';
import { nodeShouldRunPod, withDaemonTolerations } from './node-eligibility.js';

const log = logger('daemonset-controller');
export const REVISION_HASH = 'controller-revision-hash';

export interface DaemonSetControllerOptions {
  workers?: number;
}

export class DaemonSetController implements Controller {
  readonly name = 'daemonset';
  readonly queue = new WorkQueue();
  readonly expectations = new Expectations();
  private readonly sets: Informer<DaemonSet>;
  private readonly nodes: Informer<Node>;
  private readonly pods: Informer<Pod>;

  constructor(
    private readonly deps: ControllerDeps,
    private readonly opts: DaemonSetControllerOptions = {},
  ) {
    this.sets = deps.informers.get<DaemonSet>(DAEMONSETS);
    this.nodes = deps.informers.get<Node>(NODES);
    this.pods = deps.informers.get<Pod>(PODS);
    const enqueue = (ds: DaemonSet) => this.queue.add(keyOf(ds));
    this.sets.addHandlers({ add: enqueue, update: (_o, ds) => enqueue(ds), delete: (ds) => { this.expectations.delete(keyOf(ds)); enqueue(ds); } });
    const all = () => this.sets.cache.list().forEach(enqueue);
    this.nodes.addHandlers({
      add: all,
      update: (o, n) => {
        const changed = JSON.stringify([o.metadata.labels, o.spec?.taints]) !== JSON.stringify([n.metadata.labels, n.spec?.taints]);
        if (changed) all();
      },
      delete: all,
    });
    const podEvent = (p: Pod, deleted: boolean) => {
      const ds = this.ownerOf(p);
      if (!ds) {
        if (!controllerRefOf(p) && !deleted) {
          for (const x of this.sets.cache.byIndex(NAMESPACE_INDEX, p.metadata.namespace ?? '')) if (selectorMatches(x.spec.selector, p.metadata.labels ?? {})) enqueue(x);
        }
        return;
      }
      if (deleted || p.metadata.deletionTimestamp) this.expectations.deletionObserved(keyOf(ds), keyOf(p));
      enqueue(ds);
    };
    this.pods.addHandlers({
      add: (p) => {
        const ds = this.ownerOf(p);
        if (ds) this.expectations.creationObserved(keyOf(ds));
        podEvent(p, false);
      },
      update: (o, p) => {
        if (o.metadata.resourceVersion !== p.metadata.resourceVersion) podEvent(p, false);
      },
      delete: (p) => podEvent(p, true),
    });
  }

  run(signal: AbortSignal): Promise<void> {
    return runController(this.deps, this.queue, signal, this.opts.workers ?? 2, (key) => this.sync(key), log);
  }

  private ownerOf(pod: Pod): DaemonSet | undefined {
    return resolveOwner(this.sets, pod, 'DaemonSet');
  }

  async sync(key: string): Promise<ReconcileResult> {
    const ds = this.sets.cache.get(key);
    if (!ds) {
      this.expectations.delete(key);
      return;
    }
    const { namespace } = splitKey(key);
    const hash = templateHash(ds.spec.template);
    const pods = await claimObjects({
      client: this.deps.client,
      resource: PODS,
      owner: ds,
      selector: ds.spec.selector,
      candidates: this.pods.cache.byIndex(NAMESPACE_INDEX, namespace ?? ''),
      canAdopt: recheckOwner(this.deps.client, DAEMONSETS, ds),
    });
    const byNode = new Map<string, Pod[]>();
    for (const p of pods) {
      const n = p.spec.nodeName ?? '';
      byNode.set(n, [...(byNode.get(n) ?? []), p]);
    }
    const nodes = this.nodes.cache.list();
    const minReady = ds.spec.minReadySeconds ?? 0;
    const now = Date.now();
    const create: string[] = [];
    const remove: Pod[] = [];
    const oldOnNode = new Map<string, Pod>();
    let waitMs: number | undefined;
    const status = { desiredNumberScheduled: 0, currentNumberScheduled: 0, numberMisscheduled: 0, numberReady: 0, updatedNumberScheduled: 0, numberAvailable: 0, numberUnavailable: 0, observedGeneration: ds.metadata.generation };
    for (const node of nodes) {
      const name = node.metadata.name;
      const here = (byNode.get(name) ?? []).filter((p) => !p.metadata.deletionTimestamp);
      const should = nodeShouldRunPod(ds.spec.template.spec, node);
      const failed = here.filter((p) => p.status?.phase === 'Failed' || p.status?.phase === 'Succeeded');
      const running = here.filter((p) => !failed.includes(p));
      remove.push(...failed);
      if (!should) {
        if (running.length) status.numberMisscheduled++;
        remove.push(...running);
        continue;
      }
      status.desiredNumberScheduled++;
      if (running.length === 0) {
        // A pod still terminating on the node: wait for it to go before making its replacement.
        if (!(byNode.get(name) ?? []).some((p) => p.metadata.deletionTimestamp)) create.push(name);
        status.numberUnavailable++;
        continue;
      }
      status.currentNumberScheduled++;
      const sorted = [...running].sort((a, b) => (b.metadata.labels?.[REVISION_HASH] === hash ? 1 : 0) - (a.metadata.labels?.[REVISION_HASH] === hash ? 1 : 0) || Date.parse(a.metadata.creationTimestamp ?? '') - Date.parse(b.metadata.creationTimestamp ?? ''));
      const pod = sorted[0]!;
      remove.push(...sorted.slice(1));
      if (isPodReady(pod)) status.numberReady++;
      const a = podAvailability(pod, minReady, now);
      if (a.available) status.numberAvailable++;
      else {
        status.numberUnavailable++;
        if (a.waitMs !== undefined) waitMs = Math.min(waitMs ?? Infinity, a.waitMs);
      }
      if (pod.metadata.labels?.[REVISION_HASH] === hash) status.updatedNumberScheduled++;
      else oldOnNode.set(name, pod);
    }
    for (const [node, pods] of byNode) if (node && !nodes.some((n) => n.metadata.name === node)) remove.push(...pods.filter((p) => !p.metadata.deletionTimestamp));
    if ((ds.spec.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate') remove.push(...this.rollingVictims(ds, oldOnNode, status.desiredNumberScheduled, status.numberUnavailable, now));
    if (this.expectations.satisfied(key) && !ds.metadata.deletionTimestamp) await this.act(ds, hash, create, remove);
    await writeStatus(this.deps.client, DAEMONSETS, ds, { ...(ds.status ?? {}), ...status });
    return waitMs !== undefined ? { requeueAfterMs: waitMs } : undefined;
  }

  /** Old pods to replace now: unavailable ones freely, then available ones while under maxUnavailable. */
  private rollingVictims(ds: DaemonSet, old: Map<string, Pod>, desired: number, unavailable: number, now: number): Pod[] {
    const max = Math.max(1, scaledValue(ds.spec.updateStrategy?.rollingUpdate?.maxUnavailable ?? 1, desired, true));
    const minReady = ds.spec.minReadySeconds ?? 0;
    const out: Pod[] = [];
    let budget = max - unavailable;
    for (const pod of old.values()) if (!podAvailability(pod, minReady, now).available) out.push(pod);
    for (const pod of old.values()) {
      if (budget <= 0) break;
      if (out.includes(pod)) continue;
      out.push(pod);
      budget--;
    }
    return out;
  }

  private async act(ds: DaemonSet, hash: string, nodes: string[], remove: Pod[]): Promise<void> {
    const key = keyOf(ds);
    const victims = [...new Map(remove.map((p) => [keyOf(p), p])).values()];
    this.expectations.expectCreations(key, nodes.length);
    this.expectations.expectDeletions(key, victims.map(keyOf));
    const template = structuredClone(ds.spec.template);
    template.spec.tolerations = withDaemonTolerations(template.spec);
    await Promise.all([
      ...nodes.map(async (node) => {
        try {
          const pod = podFromTemplate(template, ds, { nodeName: node, labels: { [REVISION_HASH]: hash, 'pod-template-generation': String(ds.metadata.generation ?? 1) } });
          const created = await this.deps.client.create<Pod>(PODS, pod);
          this.deps.recorder.event(ds, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata.name}`);
        } catch (err) {
          this.expectations.creationObserved(key);
          this.deps.recorder.event(ds, 'Warning', 'FailedCreate', `Error creating: ${messageOf(err)}`);
          log.warn(`${key}: creating a pod on ${node}: ${messageOf(err)}`);
        }
      }),
      ...victims.map(async (p) => {
        try {
          await this.deps.client.delete(PODS, p.metadata.name, { namespace: p.metadata.namespace, preconditions: { uid: p.metadata.uid } });
          this.deps.recorder.event(ds, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata.name}`);
        } catch (err) {
          this.expectations.deletionObserved(key, keyOf(p));
          if (!isNubisError(err, 'NotFound') && !isNubisError(err, 'Conflict')) log.warn(`${key}: deleting ${p.metadata.name}: ${messageOf(err)}`);
        }
      }),
    ]);
  }
}
