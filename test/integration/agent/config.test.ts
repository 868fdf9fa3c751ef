/**
 * Configuration reaches the containers: env from ConfigMaps, Secrets and the downward API; configMap,
 * secret (on tmpfs), emptyDir (disk and Memory) and hostPath volumes; a ConfigMap update shows up in the
 * running container; a missing ConfigMap holds the container in CreateContainerConfigError until it exists.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { ResourceInfo } from '../../../src/client/rest-client.js';
import { AgentEnv, containerStatus, eventually } from './agent-harness.js';

const CONFIG_MAPS: ResourceInfo = { group: '', version: 'v1', resource: 'configmaps', kind: 'ConfigMap', namespaced: true };
const SECRETS: ResourceInfo = { group: '', version: 'v1', resource: 'secrets', kind: 'Secret', namespaced: true };

let env: AgentEnv;
let hostDir: string;
before(async () => {
  env = await AgentEnv.start('node-c');
  hostDir = mkdtempSync(path.join(os.tmpdir(), 'nubis-hostpath-'));
  writeFileSync(path.join(hostDir, 'from-host.txt'), 'host data\n');
});
after(async () => {
  await env?.close();
  rmSync(hostDir, { recursive: true, force: true });
});

async function exec(pod: string, container: string, script: string): Promise<string> {
  return (await env.kubectl(['exec', pod, '-c', container, '--', 'sh', '-c', script])).stdout;
}

test('env from ConfigMap, Secret and the downward API; volumes of every supported kind', async () => {
  await env.create(CONFIG_MAPS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app-config', namespace: 'default' }, data: { MODE: 'fast', 'app.conf': 'level=1\n' } });
  await env.create(SECRETS, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'app-secret', namespace: 'default' }, stringData: { password: 'hunter2' } });
  await env.createPod(
    'configured',
    {
      containers: [
        {
          name: 'app',
          image: 'busybox',
          command: ['sh', '-c', 'echo "$GREETING"; exec sleep 600'],
          envFrom: [{ configMapRef: { name: 'app-config' }, prefix: 'CM_' }],
          env: [
            { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'app-secret', key: 'password' } } },
            { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            { name: 'POD_UID', valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } } },
            { name: 'TEAM', valueFrom: { fieldRef: { fieldPath: "metadata.labels['team']" } } },
            { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
            { name: 'MEM_LIMIT_MI', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
            { name: 'GREETING', value: 'hello $(POD_NAME) in $(CM_MODE) mode' },
          ],
          resources: { limits: { memory: '64Mi', cpu: '500m' }, requests: { cpu: '250m' } },
          volumeMounts: [
            { name: 'config', mountPath: '/etc/app' },
            { name: 'secret', mountPath: '/etc/secret' },
            { name: 'scratch', mountPath: '/scratch' },
            { name: 'ram', mountPath: '/ram' },
            { name: 'host', mountPath: '/host' },
            { name: 'info', mountPath: '/etc/podinfo' },
          ],
        },
      ],
      volumes: [
        { name: 'config', configMap: { name: 'app-config', items: [{ key: 'app.conf', path: 'conf/app.conf' }] } },
        { name: 'secret', secret: { secretName: 'app-secret', defaultMode: 0o400 } },
        { name: 'scratch', emptyDir: {} },
        { name: 'ram', emptyDir: { medium: 'Memory', sizeLimit: '8Mi' } },
        { name: 'host', hostPath: { path: hostDir, type: 'Directory' } },
        { name: 'info', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] } },
      ],
    },
    { labels: { team: 'blue' } },
  );
  const pod = await env.waitRunning('configured');
  const envOut = await exec('configured', 'app', 'env | sort');
  const vars = new Map(envOut.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  assert.equal(vars.get('CM_MODE'), 'fast');
  assert.equal(vars.get('PASSWORD'), 'hunter2');
  assert.equal(vars.get('POD_NAME'), 'configured');
  assert.equal(vars.get('POD_UID'), pod.metadata.uid);
  assert.equal(vars.get('TEAM'), 'blue');
  assert.equal(vars.get('NODE'), 'node-c');
  assert.equal(vars.get('MEM_LIMIT_MI'), '64');
  assert.equal(vars.get('GREETING'), 'hello configured in fast mode');
  assert.equal((await env.kubectl(['logs', 'configured'])).stdout, 'hello configured in fast mode\n');

  assert.equal(await exec('configured', 'app', 'cat /etc/app/conf/app.conf'), 'level=1\n');
  assert.equal(await exec('configured', 'app', 'cat /etc/secret/password; stat -L -c %a /etc/secret/password'), 'hunter2400\n');
  assert.equal(await exec('configured', 'app', 'cat /etc/podinfo/labels'), 'team="blue"');
  assert.match(await exec('configured', 'app', 'grep -E " /(ram|etc/secret) " /proc/mounts | cut -d" " -f2,3 | sort'), /^\/etc\/secret tmpfs\n\/ram tmpfs\n$/);
  assert.equal(await exec('configured', 'app', 'cat /host/from-host.txt; echo back > /host/from-pod.txt; echo s > /scratch/f; cat /scratch/f'), 'host data\ns\n');
  assert.equal(readFileSync(path.join(hostDir, 'from-pod.txt'), 'utf8'), 'back\n');
  const ro = await env.kubectl(['exec', 'configured', '-c', 'app', '--', 'sh', '-c', 'echo x > /etc/app/new'], { allowFail: true });
  assert.notEqual(ro.code, 0, 'configMap volumes are read-only');

  // memory limit and cpu quota applied as cgroup limits
  assert.equal((await exec('configured', 'app', 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max')).trim(), String(64 * 2 ** 20));

  await env.client.patch(CONFIG_MAPS, 'app-config', { data: { 'app.conf': 'level=2\n' } }, 'merge', { namespace: 'default' });
  await eventually('the ConfigMap update to reach the running container', async () => (await exec('configured', 'app', 'cat /etc/app/conf/app.conf')) === 'level=2\n', 30_000);
  await env.deletePod('configured');
});

test('a missing ConfigMap: CreateContainerConfigError until it is created, then the pod runs', async () => {
  await env.createPod('waits-for-config', {
    containers: [{ name: 'app', image: 'busybox', command: ['sh', '-c', 'echo $LATE; exec sleep 600'], env: [{ name: 'LATE', valueFrom: { configMapKeyRef: { name: 'late', key: 'v' } } }] }],
  });
  const waiting = await env.waitPod('waits-for-config', 'CreateContainerConfigError', (p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'CreateContainerConfigError');
  assert.equal(containerStatus(waiting, 'app').state?.waiting?.message, 'configmap "late" not found');
  assert.equal(waiting.status?.phase, 'Pending');
  await env.create(CONFIG_MAPS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'late', namespace: 'default' }, data: { v: 'arrived' } });
  await env.waitRunning('waits-for-config');
  await eventually('the value in the log', async () => (await env.kubectl(['logs', 'waits-for-config'])).stdout === 'arrived\n');
  await env.deletePod('waits-for-config');
});
