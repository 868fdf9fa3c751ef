import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PodSpec } from './pod-types.js';
import { validatePodSecurity } from './pod-security-validation.js';

const errs = (spec: Partial<PodSpec>) => validatePodSecurity({ containers: [{ name: 'c', image: 'busybox' }], ...spec } as PodSpec, 'spec').map((e) => `${e.field}: ${e.message}`);
const c = (securityContext: Record<string, unknown>) => ({ containers: [{ name: 'c', image: 'busybox', securityContext }] });

test('a plain or fully specified secure pod passes', () => {
  assert.deepEqual(errs({}), []);
  assert.deepEqual(
    errs({
      hostUsers: false,
      securityContext: {
        runAsUser: 1000, runAsGroup: 3000, fsGroup: 2000, supplementalGroups: [4000], supplementalGroupsPolicy: 'Strict', fsGroupChangePolicy: 'OnRootMismatch',
        sysctls: [{ name: 'net.ipv4.tcp_syncookies', value: '1' }, { name: 'kernel/shm_rmid_forced', value: '1' }], seccompProfile: { type: 'RuntimeDefault' }, seLinuxOptions: {},
      },
      containers: [{ name: 'c', image: 'busybox', securityContext: { allowPrivilegeEscalation: false, procMount: 'Unmasked', seccompProfile: { type: 'Localhost', localhostProfile: 'profiles/a.json' }, capabilities: { drop: ['ALL'] } } }],
    }),
    [],
  );
});

test("Kubernetes' own rules, with its field paths and wording", () => {
  assert.deepEqual(errs(c({ seccompProfile: { type: 'Localhost' } })), ['spec.containers[0].securityContext.seccompProfile.localhostProfile: Required value: must be set when seccomp type is Localhost']);
  assert.deepEqual(errs(c({ seccompProfile: { type: 'RuntimeDefault', localhostProfile: 'a' } })), ['spec.containers[0].securityContext.seccompProfile.localhostProfile: Invalid value: "a": can only be set when seccomp type is Localhost']);
  assert.deepEqual(errs(c({ seccompProfile: { type: 'Localhost', localhostProfile: '/etc/x' } })), ['spec.containers[0].securityContext.seccompProfile.localhostProfile: Invalid value: "/etc/x": must be a relative path']);
  assert.deepEqual(errs(c({ seccompProfile: { type: 'Other' } })), ['spec.containers[0].securityContext.seccompProfile.type: Unsupported value: "Other": supported values: "Localhost", "RuntimeDefault", "Unconfined"']);
  assert.deepEqual(errs(c({ procMount: 'Weird' })), ['spec.containers[0].securityContext.procMount: Unsupported value: "Weird": supported values: "Default", "Unmasked"']);
  assert.deepEqual(errs(c({ procMount: 'Unmasked' })), ['spec.containers[0].securityContext.procMount: Forbidden: `hostUsers` must be false to use `Unmasked`']);
  assert.match(errs(c({ allowPrivilegeEscalation: false, capabilities: { add: ['SYS_ADMIN'] } }))[0]!, /cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN/);
  assert.deepEqual(errs({ securityContext: { runAsUser: -1, fsGroup: 2 ** 31, supplementalGroups: [1.5] } }), [
    'spec.securityContext.runAsUser: Invalid value: -1: must be between 0 and 2147483647, inclusive',
    'spec.securityContext.fsGroup: Invalid value: 2147483648: must be between 0 and 2147483647, inclusive',
    'spec.securityContext.supplementalGroups[0]: Invalid value: 1.5: must be between 0 and 2147483647, inclusive',
  ]);
  assert.deepEqual(errs({ securityContext: { sysctls: [{ name: 'a.b', value: '1' }, { name: 'a/b', value: '2' }, { name: 'A B', value: '' }] } }).map((e) => e.split(':')[0] + ':' + e.split(':')[1]), [
    'spec.securityContext.sysctls[1].name: Duplicate value',
    'spec.securityContext.sysctls[2].name: Invalid value',
  ]);
  assert.deepEqual(errs({ hostUsers: false, hostNetwork: true, hostIPC: true }), ['spec.hostNetwork: Forbidden: when `pod.Spec.HostUsers` is false', 'spec.hostIPC: Forbidden: when `pod.Spec.HostUsers` is false']);
  assert.deepEqual(errs({ securityContext: { fsGroupChangePolicy: 'Sometimes' } }), ['spec.securityContext.fsGroupChangePolicy: Unsupported value: "Sometimes": supported values: "OnRootMismatch", "Always"']);
});

test('what no Nubis node can honour: SELinux labels, Windows options, root under runAsNonRoot', () => {
  assert.deepEqual(errs({ securityContext: { seLinuxOptions: { type: 'spc_t' } } }), ['spec.securityContext.seLinuxOptions: Forbidden: Nubis nodes do not label with SELinux']);
  assert.deepEqual(errs({ initContainers: [{ name: 'i', image: 'x', securityContext: { windowsOptions: { hostProcess: true } } }] }), ['spec.initContainers[0].securityContext.windowsOptions: Forbidden: Nubis nodes run Linux containers only']);
  assert.deepEqual(errs({ securityContext: { runAsNonRoot: true }, ...c({ runAsUser: 0 }) }), ["spec.containers[0].securityContext.runAsUser: Forbidden: runAsUser 0 (root) breaks the container's runAsNonRoot policy"]);
  assert.deepEqual(errs({ securityContext: { runAsNonRoot: true, runAsUser: 0 }, ...c({ runAsUser: 1000 }) }), []);
});
