/**
 * The agent runs pods with real containers: node registration and lease, a running pod's status, the
 * sandbox's shared network/IPC/UTS namespaces, init containers, restart policies with back-off, and
 * completion.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Node } from '../../../src/api/core/v1/node.js';
import type { KubeObject } from '../../../src/api/meta.js';
import { AgentEnv, containerStatus, eventually, NODES } from './agent-harness.js';

let env: AgentEnv;
before(async () => {
  env = await AgentEnv.start();
});
after(async () => {
  await env?.close();
});

test('the node registers with capacity, addresses, the agent port and a lease that is renewed', async () => {
  const node = await env.client.get<Node>(NODES, 'node-1');
  assert.equal(node.metadata.labels?.['kubernetes.io/hostname'], 'node-1');
  assert.match(node.status?.capacity?.memory ?? '', /^\d+Ki$/);
  assert.ok(Number(node.status?.capacity?.cpu) >= 1);
  assert.equal(node.status?.capacity?.pods, '110');
  assert.ok(node.status?.addresses?.some((a) => a.type === 'InternalIP' && a.address === '127.0.0.1'));
  assert.equal(node.status?.daemonEndpoints?.kubeletEndpoint?.Port, env.agent.port);
  assert.equal(node.status?.nodeInfo?.kubeletVersion, 'v1.32.0-nubis');
  assert.equal(node.status?.nodeInfo?.containerRuntimeVersion, 'nubis://0.1.0');
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  assert.equal(ready?.status, 'True');
  assert.deepEqual(node.status?.conditions?.map((c) => c.type).sort(), ['DiskPressure', 'MemoryPressure', 'PIDPressure', 'Ready']);
  assert.ok(node.status?.images?.some((i) => i.names?.includes('busybox:latest')));
  const leases = { group: 'coordination.k8s.io', version: 'v1', resource: 'leases', kind: 'Lease', namespaced: true };
  const first = (await env.client.get<KubeObject & { spec: { renewTime: string; holderIdentity: string } }>(leases, 'node-1', { namespace: 'kube-node-lease' })).spec;
  assert.equal(first.holderIdentity, 'node-1');
  await eventually('the lease to be renewed', async () => {
    const again = (await env.client.get<KubeObject & { spec: { renewTime: string } }>(leases, 'node-1', { namespace: 'kube-node-lease' })).spec;
    return again.renewTime > first.renewTime;
  });
});

test('a pod runs and reports Running with container statuses, host IP and start time', async () => {
  await env.createPod('hello', { containers: [{ name: 'main', image: 'busybox', command: ['sh', '-c', 'echo hello from the pod; exec sleep 600'] }] });
  const pod = await env.waitRunning('hello');
  const cs = containerStatus(pod, 'main');
  assert.ok(cs.state?.running?.startedAt);
  assert.equal(cs.ready, true);
  assert.equal(cs.started, true);
  assert.equal(cs.restartCount, 0);
  assert.match(cs.containerID ?? '', /^nubis:\/\/[0-9a-f]{64}$/);
  assert.equal(cs.image, 'busybox');
  assert.equal(pod.status?.hostIP, '127.0.0.1');
  assert.ok(pod.status?.startTime);
  assert.equal(pod.status?.podIP, undefined, 'no pod network yet: no pod IP');
  const types = pod.status?.conditions?.filter((c) => c.status === 'True').map((c) => c.type).sort();
  assert.deepEqual(types, ['ContainersReady', 'Initialized', 'PodReadyToStartContainers', 'PodScheduled', 'Ready']);
  const logs = await env.kubectl(['logs', 'hello']);
  assert.equal(logs.stdout, 'hello from the pod\n');
  // The agent's events, as kubectl describe lists them.
  await eventually('Created and Started events', async () => {
    const described = (await env.kubectl(['describe', 'pod', 'hello'])).stdout;
    return /Normal\s+Created\s+\S+\s+nubis-agent\s+Created container main/.test(described) && /Normal\s+Started\s+\S+\s+nubis-agent\s+Started container main/.test(described);
  }, 10_000);
  await env.deletePod('hello');
});

test('containers of a pod share localhost and the hostname; init containers run first, in order', async () => {
  await env.createPod('duo', {
    initContainers: [
      { name: 'init-a', image: 'busybox', command: ['sh', '-c', 'echo a > /work/order'], volumeMounts: [{ name: 'work', mountPath: '/work' }] },
      { name: 'init-b', image: 'busybox', command: ['sh', '-c', 'echo b >> /work/order; mkdir -p /work/www; echo served-by-web > /work/www/index.html'], volumeMounts: [{ name: 'work', mountPath: '/work' }] },
    ],
    containers: [
      { name: 'web', image: 'busybox', command: ['httpd', '-f', '-p', '127.0.0.1:8080', '-h', '/work/www'], volumeMounts: [{ name: 'work', mountPath: '/work' }] },
      { name: 'client', image: 'busybox', command: ['sh', '-c', 'cat /work/order; until wget -q -O - http://127.0.0.1:8080/; do sleep 0.2; done; hostname; exec sleep 600'], volumeMounts: [{ name: 'work', mountPath: '/work' }] },
    ],
    volumes: [{ name: 'work', emptyDir: {} }],
  });
  const pod = await env.waitRunning('duo');
  for (const name of ['init-a', 'init-b']) {
    const s = containerStatus(pod, name);
    assert.equal(s.state?.terminated?.exitCode, 0);
    assert.equal(s.state?.terminated?.reason, 'Completed');
  }
  const out = await eventually('the client to fetch the page', async () => {
    const r = await env.kubectl(['logs', 'duo', '-c', 'client']);
    return r.stdout.includes('served-by-web') ? r.stdout : false;
  });
  assert.equal(out, 'a\nb\nserved-by-web\nduo\n');
  const host = await env.kubectl(['exec', 'duo', '-c', 'web', '--', 'hostname']);
  assert.equal(host.stdout, 'duo\n');
  // The sandbox is no process: the pod's namespaces are pinned files, which both containers are in.
  const nsDir = path.join(env.dataDir, 'sandboxes', pod.metadata.uid!);
  const pinned = () => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.split(' ')[4]?.startsWith(nsDir + '/'));
  assert.deepEqual(pinned().map((l) => l.split(' ')[4]).sort(), ['ipc', 'net', 'uts'].map((f) => path.join(nsDir, f)));
  for (const kind of ['net', 'ipc', 'uts']) {
    const ino = statSync(path.join(nsDir, kind)).ino;
    const inside = readdirSync('/proc').filter((d) => /^\d+$/.test(d) && nsInode(d, kind) === ino).map((d) => readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' '));
    assert.ok(inside.some((c) => c.startsWith('httpd -f')), `web is in the pod's ${kind} namespace: ${inside.join(', ')}`);
    assert.ok(inside.some((c) => c.startsWith('sleep 600')), `client is in the pod's ${kind} namespace: ${inside.join(', ')}`);
  }
  assert.equal(env.agent.pods.workers().length, 1);
  const procs = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
  assert.doesNotMatch(procs, /k8s_POD_duo/, 'no infra container');
  await env.deletePod('duo');
  assert.deepEqual(pinned(), [], 'the namespaces are unpinned with the pod');
});

/** The inode of a process's namespace of `kind`, or undefined once it is gone. */
function nsInode(pid: string, kind: string): number | undefined {
  try {
    return statSync(`/proc/${pid}/ns/${kind}`).ino;
  } catch {
    return undefined;
  }
}
