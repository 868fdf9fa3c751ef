/**
 * Pod lifecycle against a real agent: graceful deletion (preStop, SIGTERM, SIGKILL after the grace
 * period), `kubectl logs` options and `kubectl exec` (stdin, exit codes, a terminal through `script`),
 * the stats summary, and an agent restart that adopts running pods without restarting them (also from an
 * agent whose pods' namespaces were held by an infra container).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { AgentEnv, containerStatus, eventually } from './agent-harness.js';

let env: AgentEnv;
let hostDir: string;
before(async () => {
  env = await AgentEnv.start('node-l');
  hostDir = mkdtempSync(path.join(os.tmpdir(), 'nubis-lifecycle-'));
});
after(async () => {
  await env?.close();
  rmSync(hostDir, { recursive: true, force: true });
});

/** A GET of the agent's endpoint through the API server's node proxy (the agent serves only the server). */
async function getJson(p: string): Promise<any> {
  const r = await env.api.request('GET', `/api/v1/nodes/node-l/proxy${p}`);
  if (r.status !== 200) throw new Error(`${r.status}: ${r.body}`);
  return r.json();
}

test('graceful deletion: preStop, then SIGTERM; a container that ignores it is killed after the grace period', async () => {
  await env.createPod('graceful', {
    terminationGracePeriodSeconds: 3,
    containers: [
      {
        name: 'polite',
        image: 'busybox',
        command: ['sh', '-c', 'trap "echo term >> /host/events; exit 0" TERM; while :; do sleep 0.1; done'],
        lifecycle: { preStop: { exec: { command: ['sh', '-c', 'echo prestop >> /host/events'] } } },
        volumeMounts: [{ name: 'host', mountPath: '/host' }],
      },
      { name: 'stubborn', image: 'busybox', command: ['sh', '-c', 'trap "" TERM; while :; do sleep 0.1; done'] },
    ],
    volumes: [{ name: 'host', hostPath: { path: hostDir } }],
  });
  await env.waitRunning('graceful');
  await env.client.delete({ group: '', version: 'v1', resource: 'pods', kind: 'Pod', namespaced: true }, 'graceful', { namespace: 'default' });
  const marked = await env.getPod('graceful');
  assert.ok(marked.metadata.deletionTimestamp, 'a pod on a node is only marked at first');
  assert.equal(marked.metadata.deletionGracePeriodSeconds, 3);
  await eventually('the agent to finalize the deletion', async () => env.getPod('graceful').then(() => false, () => true), 30_000);
  assert.equal(readFileSync(path.join(hostDir, 'events'), 'utf8'), 'prestop\nterm\n');
});

test('kubectl logs with tail, timestamps and follow; kubectl exec with stdin, exit codes and a terminal', async () => {
  await env.createPod('talker', { containers: [{ name: 'app', image: 'busybox', command: ['sh', '-c', 'for i in 1 2 3 4 5; do echo line $i; done; exec sleep 600'] }] });
  await env.waitRunning('talker');
  await eventually('five lines', async () => (await env.kubectl(['logs', 'talker'])).stdout.split('\n').length === 6);
  assert.equal((await env.kubectl(['logs', 'talker', '--tail', '2'])).stdout, 'line 4\nline 5\n');
  assert.match((await env.kubectl(['logs', 'talker', '--tail', '1', '--timestamps'])).stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z line 5\n$/);
  const follow = await env.kubectl(['logs', 'talker', '-f', '--tail', '1', '--request-timeout', '2s'], { allowFail: true });
  assert.equal(follow.stdout, 'line 5\n');

  const withStdin = await env.kubectl(['exec', '-i', 'talker', '--', 'sh', '-c', 'tr a-z A-Z; echo err >&2'], { input: 'from stdin\n' });
  assert.equal(withStdin.stdout, 'FROM STDIN\n');
  assert.equal(withStdin.stderr, 'err\n');
  const failing = await env.kubectl(['exec', 'talker', '--', 'sh', '-c', 'exit 4'], { allowFail: true });
  assert.equal(failing.code, 4);
  const missing = await env.kubectl(['exec', 'talker', '-c', 'nope', '--', 'true'], { allowFail: true });
  assert.notEqual(missing.code, 0);
  // (kubectl retries a refused WebSocket upgrade over SPDY, so the message may be the server's answer to that)
  assert.match(missing.stderr, /container nope is not valid|SPDY is not/);

  const tty = await new Promise<string>((resolve, reject) => {
    const cmd = `kubectl --kubeconfig ${env.api.kubeconfig} exec -it talker -- sh -c 'tty; echo in-a-terminal'`;
    execFile('script', ['-qec', cmd, '/dev/null'], { timeout: 30_000, env: { ...process.env, KUBECACHEDIR: path.join(env.dataDir, 'kubecache') } }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\nstdout: ${stdout}\nstderr: ${stderr}`)) : resolve(stdout),
    );
  });
  assert.match(tty, /\/dev\/pts\/\d+\r?\n/);
  assert.match(tty, /in-a-terminal/);
  await env.deletePod('talker');
});

test('an agent restart adopts running pods without restarting them; probes, restarts and stats resume', async () => {
  await env.createPod('survivor', {
    containers: [
      { name: 'a', image: 'busybox', command: ['sh', '-c', 'exec sleep 600'], readinessProbe: { exec: { command: ['true'] }, periodSeconds: 1 } },
      { name: 'b', image: 'busybox', command: ['sh', '-c', 'trap "exit 1" TERM; while :; do sleep 0.2; done'] },
    ],
  });
  const before = await env.waitRunning('survivor');
  const ids = Object.fromEntries(before.status!.containerStatuses!.map((c) => [c.name, c.containerID]));
  const oldPort = env.agent.port;

  await env.stopAgent();
  const { OciDriver } = await import('../../../src/runtime/oci/oci-driver.js');
  const { Images } = await import('../../../src/image/images.js');
  const driver = new OciDriver({ dataDir: env.dataDir, host: env.host, images: new Images(env.dataDir, env.host) });
  for (const id of Object.values(ids)) assert.equal((await driver.get(id!.replace('nubis://', ''))).state.status, 'running', 'containers outlive the agent');

  await env.startAgent();
  await eventually('the node to name the new agent port', async () => {
    const node = await env.client.get<{ apiVersion: string; kind: string; metadata: { name: string }; status?: { daemonEndpoints?: { kubeletEndpoint?: { Port: number } } } }>(
      { group: '', version: 'v1', resource: 'nodes', kind: 'Node', namespaced: false },
      'node-l',
    );
    return node.status?.daemonEndpoints?.kubeletEndpoint?.Port === env.agent.port;
  });
  assert.notEqual(env.agent.port, 0);
  void oldPort;
  const exec = await env.kubectl(['exec', 'survivor', '-c', 'a', '--', 'echo', 'still here']);
  assert.equal(exec.stdout, 'still here\n');
  const after = await env.getPod('survivor');
  for (const c of after.status!.containerStatuses!) {
    assert.equal(c.containerID, ids[c.name], `${c.name} kept its container`);
    assert.equal(c.restartCount, 0);
    assert.equal(c.ready, true);
  }
  // The adopted container is still watched: when it dies, it is restarted.
  await env.kubectl(['exec', 'survivor', '-c', 'b', '--', 'kill', '1']);
  const restarted = await env.waitPod('survivor', 'b restarted', (p) => (p.status?.containerStatuses?.find((c) => c.name === 'b')?.restartCount ?? 0) === 1);
  assert.notEqual(containerStatus(restarted, 'b').containerID, ids.b);

  const summary = await getJson('/stats/summary');
  assert.equal(summary.node.nodeName, 'node-l');
  assert.ok(summary.node.memory.workingSetBytes > 0);
  const podStats = summary.pods.find((p: { podRef: { name: string } }) => p.podRef.name === 'survivor');
  assert.ok(podStats, 'the pod is in the summary');
  assert.deepEqual(podStats.containers.map((c: { name: string }) => c.name).sort(), ['a', 'b']);
  assert.ok(podStats.containers.every((c: { memory: { workingSetBytes: number } }) => c.memory.workingSetBytes > 0));
  await env.deletePod('survivor');
});

test('an agent from before sandbox drivers: namespaces pinned in the pod directory move to the driver, the containers go on', async () => {
  await env.createPod('mover', { containers: [{ name: 'a', image: 'busybox', command: ['sh', '-c', 'exec sleep 600'] }] });
  const pod = await env.waitRunning('mover');
  const id = containerStatus(pod, 'a').containerID!.replace('nubis://', '');
  await env.stopAgent();
  const uid = pod.metadata.uid!;
  const now = path.join(env.dataDir, 'sandboxes', uid);
  const old = path.join(env.dataDir, 'agent', 'pods', uid, 'ns');
  const netIno = statSync(path.join(now, 'net')).ino;
  // Where an older agent pinned them: the pod's directory.
  mkdirSync(old, { recursive: true });
  for (const f of ['net', 'ipc', 'uts']) {
    writeFileSync(path.join(old, f), '');
    await promisify(execFile)('mount', ['--bind', path.join(now, f), path.join(old, f)]);
  }
  await promisify(execFile)('umount', ['--lazy', ...['net', 'ipc', 'uts'].map((f) => path.join(now, f))]);
  rmSync(now, { recursive: true });

  await env.startAgent();
  await eventually('the namespaces to move to the driver, nothing left in the pod directory', async () => !existsSync(old) && existsSync(path.join(now, 'net')) && statSync(path.join(now, 'net')).ino === netIno);
  const after = await env.getPod('mover');
  assert.equal(containerStatus(after, 'a').containerID, `nubis://${id}`, 'the container was not restarted');
  assert.equal((await env.kubectl(['exec', 'mover', '--', 'hostname'])).stdout, 'mover\n');
  await env.deletePod('mover');
  assert.equal(existsSync(now), false, 'the sandbox goes with its pod');
});

test("an agent from before pinned namespaces: its pods' infra container hands its namespaces over, the containers go on", async () => {
  await env.createPod('elder', { containers: [{ name: 'a', image: 'busybox', command: ['sh', '-c', 'exec sleep 600'] }] });
  const pod = await env.waitRunning('elder');
  const id = containerStatus(pod, 'a').containerID!.replace('nubis://', '');
  await env.stopAgent();
  // What an older agent left: an infra container holding the namespaces, nothing pinned.
  const { OciDriver } = await import('../../../src/runtime/oci/oci-driver.js');
  const { Images } = await import('../../../src/image/images.js');
  const driver = new OciDriver({ dataDir: env.dataDir, host: env.host, images: new Images(env.dataDir, env.host) });
  const uid = pod.metadata.uid!;
  const nsDir = path.join(env.dataDir, 'sandboxes', uid);
  const labels = { 'io.kubernetes.pod.uid': uid, 'io.kubernetes.pod.name': 'elder', 'io.kubernetes.pod.namespace': 'default', 'io.kubernetes.container.name': 'POD', 'io.kubernetes.container.restartCount': '0', 'nubis.dev/pod-role': 'sandbox' };
  const infra = await driver.create({
    name: `k8s_POD_elder_default_${uid.slice(0, 8)}_0`,
    image: 'busybox',
    entrypoint: ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 3600 & wait; done'],
    hostname: 'elder',
    labels,
    namespaces: { network: path.join(nsDir, 'net'), ipc: path.join(nsDir, 'ipc'), uts: path.join(nsDir, 'uts') },
    cgroupParent: `/nubis/pod-${uid}`,
  });
  await driver.start(infra.id);
  await promisify(execFile)('umount', ['--lazy', ...['net', 'ipc', 'uts'].map((f) => path.join(nsDir, f))]);
  rmSync(nsDir, { recursive: true });
  const netOfA = statSync(`/proc/${(await driver.get(id)).state.pid}/ns/net`).ino;

  await env.startAgent();
  await eventually('the infra container to be gone', async () => driver.get(infra.id).then(() => false, () => true));
  const after = await env.getPod('elder');
  assert.equal(containerStatus(after, 'a').containerID, `nubis://${id}`, 'the container was not restarted');
  assert.equal(containerStatus(after, 'a').restartCount, 0);
  assert.equal((await driver.get(id)).state.status, 'running');
  assert.equal(statSync(path.join(nsDir, 'net')).ino, netOfA, "the pod's network namespace is pinned");
  assert.equal((await env.kubectl(['exec', 'elder', '--', 'hostname'])).stdout, 'elder\n');
  await env.deletePod('elder');
});
