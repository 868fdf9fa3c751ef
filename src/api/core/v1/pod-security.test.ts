import assert from 'node:assert/strict';
import { test } from 'node:test';
import { podSecurityViolations, stricter } from './pod-security.js';
import type { Pod } from './pod-types.js';

const spec = (s: Partial<Pod['spec']>): Pod['spec'] => ({ containers: [{ name: 'app', image: 'busybox' }], ...s }) as Pod['spec'];
const restrictedContainer = { name: 'app', image: 'busybox', securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } } };

test('privileged allows anything; baseline refuses host access and names what broke it', () => {
  const hostile = spec({
    hostNetwork: true,
    hostPID: true,
    volumes: [{ name: 'root', hostPath: { path: '/' } }],
    containers: [{ name: 'app', image: 'busybox', ports: [{ containerPort: 80, hostPort: 80 }], securityContext: { privileged: true, capabilities: { add: ['NET_ADMIN', 'CHOWN'] } } }],
    securityContext: { sysctls: [{ name: 'kernel.msgmax', value: '1' }, { name: 'net.ipv4.tcp_syncookies', value: '1' }] },
  });
  assert.deepEqual(podSecurityViolations(hostile, 'privileged'), []);
  assert.deepEqual(podSecurityViolations(hostile, 'baseline'), [
    'host namespaces (hostNetwork=true, hostPID=true)',
    'privileged (container "app" must not set securityContext.privileged=true)',
    'non-default capabilities (container "app" must not include "NET_ADMIN" in securityContext.capabilities.add)',
    'hostPath volumes (volume "root")',
    'hostPort (container "app" uses hostPort 80)',
    'forbidden sysctls (kernel.msgmax)',
  ]);
  assert.deepEqual(podSecurityViolations(spec({}), 'baseline'), [], 'a plain pod is baseline');
  assert.deepEqual(podSecurityViolations(spec({ securityContext: { seccompProfile: { type: 'Unconfined' } } }), 'baseline'), ['seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")']);
});

test('restricted wants no escalation, dropped capabilities, non-root and a seccomp profile, and plain volume types', () => {
  assert.deepEqual(podSecurityViolations(spec({}), 'restricted'), [
    'allowPrivilegeEscalation != false (container "app" must set securityContext.allowPrivilegeEscalation=false)',
    'unrestricted capabilities (container "app" must set securityContext.capabilities.drop=["ALL"])',
    'runAsNonRoot != true (pod or container "app" must set securityContext.runAsNonRoot=true)',
    'seccompProfile (pod or container "app" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
  ]);
  assert.deepEqual(podSecurityViolations(spec({ containers: [restrictedContainer] }), 'restricted'), []);
  // Pod-level settings count for every container; a container may not undo them.
  const podLevel = spec({ securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } }, containers: [{ ...restrictedContainer, securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] } } }] });
  assert.deepEqual(podSecurityViolations(podLevel, 'restricted'), []);
  const undo = spec({ securityContext: { runAsNonRoot: true, runAsUser: 0 }, containers: [{ ...restrictedContainer, securityContext: { ...restrictedContainer.securityContext, runAsNonRoot: false } }], volumes: [{ name: 'nfs', nfs: { server: 'x', path: '/' } } as never] });
  assert.deepEqual(podSecurityViolations(undo, 'restricted'), [
    'restricted volume types (volume "nfs" uses restricted volume type "nfs")',
    'runAsNonRoot != true (container "app" must not set securityContext.runAsNonRoot=false)',
    'runAsUser=0 (pod must not set runAsUser=0)',
  ]);
  assert.equal(stricter('baseline', 'restricted'), 'restricted');
  assert.equal(stricter('restricted', 'privileged'), 'restricted');
});

test('hostile shapes do not throw', () => {
  for (const s of [{ containers: 'x' }, { containers: [null, 5] }, { volumes: [null] }, { securityContext: 'x' }, { containers: [{ name: 'a', securityContext: { capabilities: { add: 'ALL' } } }] }]) {
    assert.doesNotThrow(() => podSecurityViolations(s as never, 'restricted'));
  }
});
