/**
 * The Deployment controller with the ReplicaSet controller against a real API server, driven partly by
 * the real kubectl 1.32: rolling updates that never break maxSurge/maxUnavailable (checked on every pod
 * event), revisions and `kubectl rollout history/undo/status/restart/pause/resume`, `kubectl scale`,
 * Recreate, and the progress deadline.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Deployment } from '../../../src/api/apps/v1/deployment.js';
import type { ReplicaSet } from '../../../src/api/apps/v1/replica-set.js';
import type { Pod } from '../../../src/api/core/v1/pod-types.js';
import { Informer } from '../../../src/client/informer.js';
import { DEPLOYMENTS, PODS, REPLICASETS } from '../../../src/controllers/resources.js';
import { requireKubectl } from '../apiserver/harness.js';
import { ControllerRig, eventually, namespace } from './harness.js';

let rig: ControllerRig;
before(async () => {
  requireKubectl();
  rig = await ControllerRig.start({ enabled: ['replicaset', 'deployment'] });
});
after(async () => rig?.close());

function deployment(ns: string, name: string, image: string, extra: Partial<Deployment['spec']> = {}): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns },
    spec: {
      replicas: 4,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image }] } },
      ...extra,
    },
  };
}

const isActive = (p: Pod) => !p.metadata.deletionTimestamp && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed';
const isReady = (p: Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

/** Watches the pods of a namespace and checks a rule after every event. */
class PodWatch {
  readonly informer: Informer<Pod>;
  readonly violations: string[] = [];
  readonly abort = new AbortController();
  done: Promise<void>;
  constructor(ns: string, check: (pods: Pod[]) => string | undefined) {
    this.informer = new Informer<Pod>(rig.client, PODS, { namespace: ns });
    const run = () => {
      if (!this.informer.hasSynced()) return; // the first list arrives one add at a time
      const v = check(this.informer.cache.list());
      if (v) this.violations.push(v);
    };
    this.informer.addHandlers({ add: run, update: run, delete: run });
    this.done = this.informer.run(this.abort.signal);
  }
  async stop(): Promise<void> {
    this.abort.abort();
    await this.done;
  }
}

async function settled(ns: string, name: string, replicas: number): Promise<Deployment> {
  return eventually(`deployment ${name} rolled out with ${replicas}`, async () => {
    const d = await rig.client.get<Deployment>(DEPLOYMENTS, name, { namespace: ns });
    const s = d.status ?? {};
    const progressing = s.conditions?.find((c) => c.type === 'Progressing');
    const ok = s.observedGeneration === d.metadata.generation && s.replicas === replicas && s.updatedReplicas === replicas && s.availableReplicas === replicas;
    return ok && progressing?.reason === 'NewReplicaSetAvailable' ? d : undefined;
  }, 30_000);
}

async function replicaSets(ns: string, app: string): Promise<ReplicaSet[]> {
  return (await rig.client.list<ReplicaSet>(REPLICASETS, { namespace: ns, labelSelector: `app=${app}` })).items;
}

const imageOf = (o: { spec: { template?: { spec: { containers: Array<{ image?: string }> } } } }) => o.spec.template?.spec.containers[0]?.image;

test('rolling update within maxSurge and maxUnavailable; history, undo, status, scale and restart through kubectl', async () => {
  const c = rig.client;
  const ns = await namespace(c, 'deploy-roll');
  const s = rig.server;
  await c.create(DEPLOYMENTS, deployment(ns, 'web', 'nginx:1', { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } } }));
  let d = await settled(ns, 'web', 4);
  assert.equal(d.metadata.annotations?.['deployment.kubernetes.io/revision'], '1');
  const [rs1] = await replicaSets(ns, 'web');
  const hash1 = rs1!.metadata.labels?.['pod-template-hash'];
  assert.ok(hash1 && rs1!.metadata.name === `web-${hash1}`, rs1!.metadata.name);
  assert.equal(rs1!.spec.selector.matchLabels?.['pod-template-hash'], hash1);
  assert.equal(rs1!.metadata.annotations?.['deployment.kubernetes.io/desired-replicas'], '4');
  assert.equal(rs1!.metadata.annotations?.['deployment.kubernetes.io/max-replicas'], '5');
  assert.equal(d.status?.conditions?.find((x) => x.type === 'Available')?.status, 'True');

  // Every pod event during the rollout: at most replicas+maxSurge pods, at least replicas-maxUnavailable ready.
  let maxSeen = 0;
  const watch = new PodWatch(ns, (pods) => {
    const active = pods.filter(isActive);
    maxSeen = Math.max(maxSeen, active.length);
    const ready = active.filter(isReady).length;
    if (active.length > 5) return `${active.length} pods > 5`;
    if (ready < 3) return `${ready} ready < 3`;
    return undefined;
  });
  await watch.informer.waitForSync();
  await c.patch(DEPLOYMENTS, 'web', { spec: { template: { spec: { containers: [{ name: 'c', image: 'nginx:2' }] } } } }, 'strategic', { namespace: ns });
  d = await settled(ns, 'web', 4);
  await eventually('old pods gone', async () => (await c.list<Pod>(PODS, { namespace: ns })).items.filter(isActive).every((p) => p.metadata.labels?.['pod-template-hash'] !== hash1));
  await watch.stop();
  assert.deepEqual(watch.violations, []);
  assert.ok(maxSeen === 5, `the rollout used its surge (max ${maxSeen} pods)`);
  assert.equal(d.metadata.annotations?.['deployment.kubernetes.io/revision'], '2');
  const sets = await replicaSets(ns, 'web');
  assert.equal(sets.length, 2);
  const rs2 = sets.find((x) => imageOf(x) === 'nginx:2')!;
  assert.equal(rs2.metadata.annotations?.['deployment.kubernetes.io/revision'], '2');
  assert.equal(sets.find((x) => x !== rs2)!.spec.replicas, 0);

  const status = await s.kubectl(['rollout', 'status', 'deployment/web', '-n', ns, '--timeout=20s']);
  assert.match(status.stdout, /deployment "web" successfully rolled out/);
  const history = await s.kubectl(['rollout', 'history', 'deployment/web', '-n', ns]);
  assert.match(history.stdout, /REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>/);
  const rev1 = await s.kubectl(['rollout', 'history', 'deployment/web', '-n', ns, '--revision=1']);
  assert.match(rev1.stdout, /Image:\s+nginx:1/);

  // Undo: back to revision 1's template, which becomes revision 3 (history keeps "1").
  const undo = await s.kubectl(['rollout', 'undo', 'deployment/web', '-n', ns]);
  assert.match(undo.stdout, /deployment.apps\/web rolled back/);
  d = await settled(ns, 'web', 4);
  assert.equal(imageOf(d), 'nginx:1');
  assert.equal(d.metadata.annotations?.['deployment.kubernetes.io/revision'], '3');
  const back = (await replicaSets(ns, 'web')).find((x) => x.metadata.name === rs1!.metadata.name)!;
  assert.equal(back.metadata.annotations?.['deployment.kubernetes.io/revision'], '3');
  assert.equal(back.metadata.annotations?.['deployment.kubernetes.io/revision-history'], '1');
  assert.match((await s.kubectl(['rollout', 'history', 'deployment/web', '-n', ns])).stdout, /\n2\s+<none>\n3\s+<none>/);
  assert.match((await s.kubectl(['rollout', 'undo', 'deployment/web', '-n', ns, '--to-revision=3'])).stdout, /skipped rollback \(current template already matches revision 3\)/);

  // kubectl scale goes through the scale subresource.
  await s.kubectl(['scale', 'deployment/web', '-n', ns, '--replicas=6']);
  await settled(ns, 'web', 6);
  await s.kubectl(['scale', 'deployment/web', '-n', ns, '--replicas=2']);
  await settled(ns, 'web', 2);
  assert.equal((await c.list<Pod>(PODS, { namespace: ns })).items.filter(isActive).length, 2);

  // Restart: a template annotation, so a new ReplicaSet replaces every pod.
  const before = new Set((await c.list<Pod>(PODS, { namespace: ns })).items.map((p) => p.metadata.name));
  await s.kubectl(['rollout', 'restart', 'deployment/web', '-n', ns]);
  d = await eventually('restart rolled out', async () => {
    const x = await settled(ns, 'web', 2);
    return x.metadata.annotations?.['deployment.kubernetes.io/revision'] === '4' ? x : undefined;
  });
  assert.ok(d.spec.template.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt']);
  await eventually('all pods replaced', async () => {
    const now = (await c.list<Pod>(PODS, { namespace: ns })).items.filter(isActive);
    return now.length === 2 && now.every((p) => !before.has(p.metadata.name));
  });
});

test('pause holds a template change (scaling still applies), resume rolls it out', async () => {
  const c = rig.client;
  const ns = await namespace(c, 'deploy-pause');
  await c.create(DEPLOYMENTS, deployment(ns, 'api', 'app:1', { replicas: 2 }));
  await settled(ns, 'api', 2);
  await rig.server.kubectl(['rollout', 'pause', 'deployment/api', '-n', ns]);
  await eventually('Progressing says DeploymentPaused', async () => (await c.get<Deployment>(DEPLOYMENTS, 'api', { namespace: ns })).status?.conditions?.some((x) => x.reason === 'DeploymentPaused'));
  await c.patch(DEPLOYMENTS, 'api', { spec: { replicas: 3, template: { spec: { containers: [{ name: 'c', image: 'app:2' }] } } } }, 'strategic', { namespace: ns });
  await eventually('scaled to 3 while paused', async () => {
    const d = await c.get<Deployment>(DEPLOYMENTS, 'api', { namespace: ns });
    return d.status?.observedGeneration === d.metadata.generation && d.status?.availableReplicas === 3;
  });
  const sets = await replicaSets(ns, 'api');
  assert.equal(sets.length, 1, 'no new ReplicaSet while paused');
  assert.equal(imageOf(sets[0]!), 'app:1');
  await rig.server.kubectl(['rollout', 'resume', 'deployment/api', '-n', ns]);
  const d = await settled(ns, 'api', 3);
  assert.equal((await replicaSets(ns, 'api')).length, 2);
  assert.equal(imageOf(d), 'app:2');
});

test('Recreate removes every old pod before the new ones start', async () => {
  const c = rig.client;
  const ns = await namespace(c, 'deploy-recreate');
  await c.create(DEPLOYMENTS, deployment(ns, 'db', 'db:1', { replicas: 3, strategy: { type: 'Recreate' } }));
  await settled(ns, 'db', 3);
  const watch = new PodWatch(ns, (pods) => {
    const hashes = new Set(pods.filter(isActive).map((p) => p.spec.containers[0]!.image));
    return hashes.size > 1 ? `old and new pods at once: ${[...hashes].join(',')}` : undefined;
  });
  await watch.informer.waitForSync();
  await c.patch(DEPLOYMENTS, 'db', { spec: { template: { spec: { containers: [{ name: 'c', image: 'db:2' }] } } } }, 'strategic', { namespace: ns });
  const d = await settled(ns, 'db', 3);
  await watch.stop();
  assert.equal(imageOf(d), 'db:2');
  assert.deepEqual(watch.violations, []);
});

test('a rollout that makes no progress reports ProgressDeadlineExceeded, and kubectl rollout status fails', async () => {
  const c = rig.client;
  const ns = await namespace(c, 'deploy-stuck');
  rig.pods.policy = (p) => p.metadata.namespace !== ns;
  try {
    await c.create(DEPLOYMENTS, deployment(ns, 'stuck', 'x:1', { replicas: 2, progressDeadlineSeconds: 2 }));
    const d = await eventually('ProgressDeadlineExceeded', async () => {
      const x = await c.get<Deployment>(DEPLOYMENTS, 'stuck', { namespace: ns });
      const p = x.status?.conditions?.find((k) => k.type === 'Progressing');
      return p?.status === 'False' && p.reason === 'ProgressDeadlineExceeded' ? x : undefined;
    });
    assert.equal(d.status?.unavailableReplicas, 2);
    assert.equal(d.status?.conditions?.find((k) => k.type === 'Available')?.status, 'False');
    const r = await rig.server.kubectl(['rollout', 'status', 'deployment/stuck', '-n', ns, '--timeout=10s'], { allowFail: true });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /exceeded its progress deadline/);
  } finally {
    rig.pods.policy = () => true;
  }
});
