import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConfigMap } from '../api/core/v1/config-map.js';
import type { Pod } from '../api/core/v1/pod-types.js';
import type { Secret } from '../api/core/v1/secret.js';
import type { Service } from '../api/core/v1/service.js';
import { isNubisError } from '../lib/errors.js';
import { envMap, expandVars, resolveEnv, type ObjectSource } from './env.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

const objects: ObjectSource = {
  async configMap(ns, name) {
    if (ns === 'shop' && name === 'settings') {
      return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data: { LOG_LEVEL: 'debug', 'bad key': 'x', color: 'blue' }, binaryData: { blob: b64('bin') } } as ConfigMap;
    }
    return undefined;
  },
  async secret(ns, name) {
    if (ns === 'shop' && name === 'db') return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns }, data: { password: b64('s3cr3t'), user: b64('app') } } as Secret;
    return undefined;
  },
  async services() {
    return [];
  },
  async serviceAccountToken() {
    throw new Error('not used here');
  },
};

function pod(container: Pod['spec']['containers'][number]): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web-1', namespace: 'shop', uid: '1111-2222', labels: { app: 'web', tier: 'front' }, annotations: { owner: 'ann' } },
    spec: { nodeName: 'node-a', serviceAccountName: 'default', containers: [container] },
  };
}

const ctx = { hostIP: '127.0.0.1', allocatable: { cpu: 2, memory: 4 * 2 ** 30 } };

test('envFrom, then env entries; later wins; $(VAR) expands names defined before', async () => {
  const c = {
    name: 'app',
    envFrom: [{ configMapRef: { name: 'settings' } }, { prefix: 'DB_', secretRef: { name: 'db' } }],
    env: [
      { name: 'LOG_LEVEL', value: 'info' },
      { name: 'URL', value: 'postgres://$(DB_user):$(DB_password)@db/$(UNKNOWN) costs $$5' },
      { name: 'COLOR', valueFrom: { configMapKeyRef: { name: 'settings', key: 'color' } } },
      { name: 'PW', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
    ],
  };
  const env = envMap(await resolveEnv(pod(c), c, objects, ctx));
  assert.equal(env.get('LOG_LEVEL'), 'info');
  assert.equal(env.get('blob'), 'bin');
  assert.equal(env.has('bad key'), false, 'keys that are not valid names are skipped');
  assert.equal(env.get('DB_password'), 's3cr3t');
  assert.equal(env.get('URL'), 'postgres://app:s3cr3t@db/$(UNKNOWN) costs $5');
  assert.equal(env.get('COLOR'), 'blue');
  assert.equal(env.get('PW'), 's3cr3t');
});

test('downward API fields and resources (limits default to node allocatable, divisor rounds up)', async () => {
  const c = {
    name: 'app',
    resources: { limits: { memory: '64Mi' }, requests: { cpu: '250m' } },
    env: [
      { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'UID', valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } } },
      { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
      { name: 'OWNER', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['owner']" } } },
      { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
      { name: 'SA', valueFrom: { fieldRef: { fieldPath: 'spec.serviceAccountName' } } },
      { name: 'HOST_IP', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
      { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
      { name: 'MEM_MI', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
      { name: 'CPU_LIMIT', valueFrom: { resourceFieldRef: { resource: 'limits.cpu' } } },
      { name: 'CPU_REQ_M', valueFrom: { resourceFieldRef: { resource: 'requests.cpu', divisor: '1m' } } },
      { name: 'CPU_REQ', valueFrom: { resourceFieldRef: { resource: 'requests.cpu' } } },
    ],
  };
  const env = envMap(await resolveEnv(pod(c), c, objects, ctx));
  assert.deepEqual(Object.fromEntries(env), {
    POD: 'web-1', NS: 'shop', UID: '1111-2222', APP: 'web', OWNER: 'ann', NODE: 'node-a', SA: 'default', HOST_IP: '127.0.0.1', POD_IP: '',
    MEM_MI: '64', CPU_LIMIT: '2', CPU_REQ_M: '250', CPU_REQ: '1',
  });
});

test('missing objects and keys fail unless optional', async () => {
  const fails = async (env: NonNullable<Pod['spec']['containers'][number]['env']>, re: RegExp) => {
    const c = { name: 'app', env };
    await assert.rejects(resolveEnv(pod(c), c, objects, ctx), (err) => isNubisError(err, 'Invalid') && re.test((err as Error).message));
  };
  await fails([{ name: 'X', valueFrom: { configMapKeyRef: { name: 'nope', key: 'k' } } }], /configmap "nope" not found/);
  await fails([{ name: 'X', valueFrom: { configMapKeyRef: { name: 'settings', key: 'k' } } }], /couldn't find key k in ConfigMap shop\/settings/);
  await fails([{ name: 'X', valueFrom: { secretKeyRef: { name: 'db', key: 'k' } } }], /couldn't find key k in Secret shop\/db/);
  await fails([{ name: 'X', valueFrom: { fieldRef: { fieldPath: 'spec.bogus' } } }], /unsupported fieldPath/);
  const c = {
    name: 'app',
    envFrom: [{ secretRef: { name: 'nope', optional: true } }],
    env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'db', key: 'k', optional: true } } }, { name: 'Y', value: 'y' }],
  };
  assert.deepEqual(await resolveEnv(pod(c), c, objects, ctx), ['Y=y']);
});

test('expandVars keeps unterminated references and lone dollars', () => {
  const vars = new Map([['A', '1']]);
  assert.equal(expandVars('$(A)$A$$(A)$(A', vars), '1$A$(A)$(A');
  assert.equal(expandVars('end$', vars), 'end$');
});

const withServices: ObjectSource = {
  ...objects,
  async services(ns: string) {
    const svc = (name: string, clusterIP: string, ports: NonNullable<Service['spec']>['ports']) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec: { clusterIP, ports } }) as Service;
    if (ns === 'default') return [svc('kubernetes', '10.43.0.1', [{ name: 'https', port: 443, protocol: 'TCP' }]), svc('other', '10.43.0.7', [{ port: 1 }])];
    if (ns === 'shop') return [svc('redis-main', '10.43.0.11', [{ port: 6379, protocol: 'TCP' }, { name: 'metrics', port: 9121, protocol: 'TCP' }]), svc('headless', 'None', [{ port: 80 }])];
    return [];
  },
};

test('service links: the kubernetes Service always, the pod namespace\'s unless disabled; env may override and use them', async () => {
  const c = { name: 'app', env: [{ name: 'REDIS_MAIN_SERVICE_PORT', value: 'mine' }, { name: 'URL', value: 'redis://$(REDIS_MAIN_SERVICE_HOST):$(REDIS_MAIN_PORT_6379_TCP_PORT)' }] };
  const env = envMap(await resolveEnv(pod(c), c, withServices, ctx));
  assert.equal(env.get('KUBERNETES_SERVICE_HOST'), '10.43.0.1');
  assert.equal(env.get('KUBERNETES_SERVICE_PORT'), '443');
  assert.equal(env.get('KUBERNETES_SERVICE_PORT_HTTPS'), '443');
  assert.equal(env.get('KUBERNETES_PORT'), 'tcp://10.43.0.1:443');
  assert.equal(env.get('KUBERNETES_PORT_443_TCP_ADDR'), '10.43.0.1');
  assert.equal(env.get('REDIS_MAIN_SERVICE_HOST'), '10.43.0.11');
  assert.equal(env.get('REDIS_MAIN_SERVICE_PORT'), 'mine');
  assert.equal(env.get('REDIS_MAIN_SERVICE_PORT_METRICS'), '9121');
  assert.equal(env.get('REDIS_MAIN_PORT_9121_TCP'), 'tcp://10.43.0.11:9121');
  assert.equal(env.get('REDIS_MAIN_PORT_6379_TCP_PROTO'), 'tcp');
  assert.equal(env.get('URL'), 'redis://10.43.0.11:6379');
  assert.equal(env.get('OTHER_SERVICE_HOST'), undefined, 'another namespace\'s Services are not linked');
  assert.equal(env.get('HEADLESS_SERVICE_HOST'), undefined, 'headless Services have no address to link');

  const off = pod({ name: 'app' });
  off.spec.enableServiceLinks = false;
  const quiet = envMap(await resolveEnv(off, off.spec.containers[0]!, withServices, ctx));
  assert.equal(quiet.get('REDIS_MAIN_SERVICE_HOST'), undefined);
  assert.equal(quiet.get('KUBERNETES_SERVICE_HOST'), '10.43.0.1');
});
