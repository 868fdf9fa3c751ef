import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toContainerOptions } from './workload-options.js';

test('the security section and sysctls of a WorkloadSpec map onto the OCI options', () => {
  const o = toContainerOptions({
    image: 'busybox',
    user: '1000',
    group: 3000,
    namespaces: { network: '/ns/net', ipc: '/ns/ipc', uts: '/ns/uts', user: '/ns/user' },
    sysctls: { 'kernel.shm_rmid_forced': '1' },
    security: {
      capabilities: { add: ['NET_ADMIN'], drop: ['ALL'] },
      privileged: false,
      runAsNonRoot: true,
      noNewPrivileges: false,
      syscallFilter: { type: 'custom', profile: { defaultAction: 'SCMP_ACT_ALLOW' } },
      supplementalGroups: [4000],
      imageGroups: false,
      userNamespace: { hostId: 2 ** 30, size: 65536 },
      unmaskedProc: true,
    },
  });
  assert.deepEqual(
    [o.user, o.group, o.capAdd, o.capDrop, o.runAsNonRoot, o.noNewPrivileges, o.supplementalGroups, o.imageGroups, o.unmaskedProc],
    ['1000', 3000, ['NET_ADMIN'], ['ALL'], true, false, [4000], false, true],
  );
  assert.deepEqual(o.seccomp, { profile: { defaultAction: 'SCMP_ACT_ALLOW' } });
  assert.deepEqual([o.userNamespacePath, o.idMapping, o.networkNamespacePath], ['/ns/user', { hostId: 2 ** 30, size: 65536 }, '/ns/net']);
  assert.deepEqual(o.sysctls, { 'kernel.shm_rmid_forced': '1' });
  assert.equal(toContainerOptions({ image: 'x', security: { syscallFilter: { type: 'unconfined' } } }).seccomp, 'unconfined');
  const plain = toContainerOptions({ image: 'x' });
  assert.equal(plain.seccomp, 'default');
  assert.equal(plain.noNewPrivileges, undefined, 'the driver keeps its secure default');
  assert.equal(plain.idMapping, undefined);
});
