import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Pod } from '../api/core/v1/pod-types.js';
import { containerSpec, sandboxResources, type ContainerSpecInput } from './container-spec.js';


function input(pod: Pod, identity: ContainerSpecInput['identity'], extra: Partial<ContainerSpecInput> = {}): ContainerSpecInput {
  return { pod, container: pod.spec.containers[0]!, role: 'app', restartCount: 0, env: [], volumes: new Map(), sandbox: '0123456789', identity, ...extra };
}

const pod = (spec: Partial<Pod['spec']> = {}): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', namespace: 'shop', uid: '0123456789' },
  spec: { containers: [{ name: 'app', image: 'busybox', securityContext: { readOnlyRootFilesystem: true } }], ...spec },
});

test('the identity becomes user, group and security; pod sysctls (slashes normalized) go with every container', () => {
  const security = { noNewPrivileges: true, syscallFilter: { type: 'default' as const }, supplementalGroups: [2000] };
  const p = pod({ securityContext: { sysctls: [{ name: 'net/ipv4/ip_local_port_range', value: '1024 65000' }] } });
  const spec = containerSpec(input(p, { user: '1000', group: 3000, security }));
  assert.equal(spec.user, '1000');
  assert.equal(spec.group, 3000);
  assert.deepEqual(spec.security, security);
  assert.deepEqual(spec.sysctls, { 'net.ipv4.ip_local_port_range': '1024 65000' });
  assert.equal(spec.readOnlyRootfs, true);
  assert.equal(spec.sandbox, '0123456789');
  assert.equal(spec.namespaces, undefined, 'the driver resolves the sandbox');
});

test('no runAsUser: the image user; no sysctls: none; the pod user namespace mapping is kept', () => {
  const spec = containerSpec(input(pod(), { security: { userNamespace: { hostId: 2 ** 30, size: 65536 } } }));
  assert.equal(spec.user, undefined);
  assert.equal(spec.group, undefined);
  assert.equal(spec.sysctls, undefined);
  assert.deepEqual(spec.security?.userNamespace, { hostId: 2 ** 30, size: 65536 });
});

test("a sandbox's resources are the containers' limits (not the overhead), only where every container sets one", () => {
  const p = pod({
    containers: [
      { name: 'a', image: 'busybox', resources: { limits: { memory: '100Mi', cpu: '500m' } } },
      { name: 'b', image: 'busybox', resources: { limits: { memory: '28Mi' } } },
    ],
    overhead: { memory: '160Mi', cpu: '250m' },
  });
  assert.deepEqual(sandboxResources(p), { memoryBytes: (100 + 28) * 2 ** 20 });
  assert.deepEqual(sandboxResources(pod()), {}, 'no limits: unbounded');
});
