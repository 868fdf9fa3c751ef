/**
 * `nubis scale` and `nubis rollout status|history|undo|restart|pause|resume` against a real API server
 * with the Deployment and ReplicaSet controllers, checked against what kubectl 1.32 prints for the same
 * Deployment.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Deployment } from '../../../src/api/apps/v1/deployment.js';
import { DEPLOYMENTS } from '../../../src/controllers/resources.js';
import { requireKubectl } from '../apiserver/harness.js';
import { runNubis } from '../client/cli-runner.js';
import { ControllerRig, eventually, namespace } from './harness.js';

let rig: ControllerRig;
before(async () => {
  requireKubectl();
  rig = await ControllerRig.start({ enabled: ['replicaset', 'deployment'] });
});
after(async () => rig?.close());

const nubis = (args: string[]) => runNubis(rig.server.dataDir, args);

async function revision(ns: string, want: string): Promise<Deployment> {
  return eventually(`revision ${want} rolled out`, async () => {
    const d = await rig.client.get<Deployment>(DEPLOYMENTS, 'web', { namespace: ns });
    const s = d.status ?? {};
    const done = d.metadata.annotations?.['deployment.kubernetes.io/revision'] === want && s.observedGeneration === d.metadata.generation && s.updatedReplicas === d.spec.replicas && s.availableReplicas === d.spec.replicas && s.replicas === d.spec.replicas;
    return done ? d : undefined;
  }, 30_000);
}

test('scale, rollout status/history/undo/restart/pause/resume', async () => {
  const c = rig.client;
  const ns = await namespace(c, 'cli-rollout');
  await c.create(DEPLOYMENTS, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: ns },
    spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx:1' }] } } },
  } as Deployment);
  const status = await nubis(['rollout', 'status', 'deployment/web', '-n', ns, '--timeout=30s']);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /deployment "web" successfully rolled out\n$/);

  const scaled = await nubis(['scale', 'deployment', 'web', '-n', ns, '--replicas=3']);
  assert.equal(scaled.stdout, 'deployment.apps/web scaled\n');
  const wrong = await nubis(['scale', 'deploy/web', '-n', ns, '--replicas=4', '--current-replicas=1']);
  assert.equal(wrong.code, 125);
  assert.match(wrong.stderr, /expected replicas to be 1, was 3/);

  await c.patch(DEPLOYMENTS, 'web', { spec: { template: { spec: { containers: [{ name: 'c', image: 'nginx:2' }] } } } }, 'strategic', { namespace: ns });
  await revision(ns, '2');
  const mine = await nubis(['rollout', 'history', 'deployment/web', '-n', ns]);
  const theirs = await rig.server.kubectl(['rollout', 'history', 'deployment/web', '-n', ns]);
  assert.equal(mine.stdout, theirs.stdout);
  assert.match((await nubis(['rollout', 'history', 'deployment/web', '-n', ns, '--revision=1'])).stdout, /image: nginx:1/);

  assert.equal((await nubis(['rollout', 'undo', 'deployment/web', '-n', ns])).stdout, 'deployment.apps/web rolled back\n');
  let d = await revision(ns, '3');
  assert.equal(d.spec.template.spec.containers[0]!.image, 'nginx:1');
  assert.equal((await nubis(['rollout', 'undo', 'deployment/web', '-n', ns, '--to-revision=3'])).stdout, 'deployment.apps/web skipped rollback (current template already matches revision 3)\n');
  assert.equal((await nubis(['rollout', 'history', 'deployment/web', '-n', ns])).stdout, (await rig.server.kubectl(['rollout', 'history', 'deployment/web', '-n', ns])).stdout);
  // kubectl undoes what nubis did and the other way round: both read the same revisions.
  await rig.server.kubectl(['rollout', 'undo', 'deployment/web', '-n', ns]);
  d = await revision(ns, '4');
  assert.equal(d.spec.template.spec.containers[0]!.image, 'nginx:2');

  assert.equal((await nubis(['rollout', 'pause', 'deployment/web', '-n', ns])).stdout, 'deployment.apps/web paused\n');
  const refused = await nubis(['rollout', 'undo', 'deployment/web', '-n', ns]);
  assert.equal(refused.code, 125);
  assert.match(refused.stderr, /cannot rollback a paused deployment/);
  assert.equal((await nubis(['rollout', 'resume', 'deployment/web', '-n', ns])).stdout, 'deployment.apps/web resumed\n');

  assert.equal((await nubis(['rollout', 'restart', 'deployment/web', '-n', ns])).stdout, 'deployment.apps/web restarted\n');
  d = await revision(ns, '5');
  assert.ok(d.spec.template.metadata?.annotations?.['kubectl.kubernetes.io/restartedAt']);
  const done = await nubis(['rollout', 'status', 'deploy/web', '-n', ns]);
  assert.match(done.stdout, /successfully rolled out/);
});
