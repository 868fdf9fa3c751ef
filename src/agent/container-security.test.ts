import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Container, Pod, PodSpec } from '../api/core/v1/pod-types.js';
import { isNubisError } from '../lib/errors.js';
import { invalid } from '../lib/errors.js';
import { containerSecurity, createFailure, type SecurityInput } from './container-security.js';

let dir: string;
let seccompDir: string;

before(async () => {
  dir = await fs.mkdtemp(path.join(tmpdir(), 'nubis-secctx-'));
  seccompDir = path.join(dir, 'seccomp');
  await fs.mkdir(path.join(seccompDir, 'profiles'), { recursive: true });
  await fs.writeFile(path.join(seccompDir, 'profiles', 'audit.json'), JSON.stringify({ defaultAction: 'SCMP_ACT_LOG' }));
  await fs.writeFile(path.join(seccompDir, 'profiles', 'broken.json'), '{ not json');
  await fs.writeFile(path.join(dir, 'outside.json'), '{}');
  await fs.symlink(path.join(dir, 'outside.json'), path.join(seccompDir, 'profiles', 'link.json'));
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

function input(c: Partial<Container> = {}, spec: Partial<PodSpec> = {}, extra: Partial<SecurityInput> = {}, annotations?: Record<string, string>): SecurityInput {
  const container: Container = { name: 'app', image: 'busybox', ...c };
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'shop', uid: 'u-1', ...(annotations ? { annotations } : {}) },
    spec: { containers: [container], ...spec },
  };
  return { pod, container, seccompDir, ...extra };
}

async function refused(p: Promise<unknown>, re: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => isNubisError(e, 'Invalid') && re.test((e as Error).message));
}

test('defaults: the default filter, no no_new_privs (Kubernetes), image groups, the image user', async () => {
  assert.deepEqual(await containerSecurity(input()), {
    security: { privileged: false, noNewPrivileges: false, syscallFilter: { type: 'default' }, imageGroups: true },
  });
});

test('container fields win over pod fields; fsGroup joins the supplemental groups', async () => {
  const id = await containerSecurity(
    input(
      { securityContext: { runAsUser: 1000, allowPrivilegeEscalation: false, capabilities: { add: ['NET_ADMIN'], drop: ['ALL'] }, seccompProfile: { type: 'Unconfined' }, procMount: 'Unmasked' } },
      { hostUsers: false, securityContext: { runAsUser: 5, runAsGroup: 3000, runAsNonRoot: true, supplementalGroups: [4000], fsGroup: 2000, supplementalGroupsPolicy: 'Strict', seccompProfile: { type: 'RuntimeDefault' } } },
      { idMapping: { hostId: 2 ** 30, size: 65536 } },
    ),
  );
  assert.deepEqual(id, {
    user: '1000',
    group: 3000,
    security: {
      privileged: false,
      noNewPrivileges: true,
      syscallFilter: { type: 'unconfined' },
      imageGroups: false,
      capabilities: { add: ['NET_ADMIN'], drop: ['ALL'] },
      supplementalGroups: [4000, 2000],
      userNamespace: { hostId: 2 ** 30, size: 65536 },
      unmaskedProc: true,
    },
  });
});

test('runAsNonRoot: runAsUser 0 is refused in the kubelet words; without runAsUser the runtime checks the image user', async () => {
  await refused(containerSecurity(input({ securityContext: { runAsUser: 0 } }, { securityContext: { runAsNonRoot: true } })), /^container's runAsUser breaks non-root policy \(pod: "web_shop\(u-1\)", container: app\)$/);
  assert.equal((await containerSecurity(input({ securityContext: { runAsNonRoot: true } }))).security.runAsNonRoot, true);
  assert.equal((await containerSecurity(input({ securityContext: { runAsNonRoot: true, runAsUser: 1000 } }))).security.runAsNonRoot, undefined);
  assert.equal((await containerSecurity(input({ securityContext: { runAsNonRoot: false } }, { securityContext: { runAsNonRoot: true } }))).security.runAsNonRoot, undefined);
  const { pod, container } = input();
  assert.equal(createFailure(invalid('container has runAsNonRoot and image will run as root'), pod, container), 'container has runAsNonRoot and image will run as root (pod: "web_shop(u-1)", container: app)');
  assert.equal(createFailure(invalid('mount source /x does not exist'), pod, container), 'mount source /x does not exist');
});

test('Localhost seccomp profiles load from the seccomp dir, never from outside it', async () => {
  const local = (localhostProfile: string) => input({ securityContext: { seccompProfile: { type: 'Localhost', localhostProfile } } });
  assert.deepEqual((await containerSecurity(local('profiles/audit.json'))).security.syscallFilter, { type: 'custom', profile: { defaultAction: 'SCMP_ACT_LOG' } });
  const pod = input({}, { securityContext: { seccompProfile: { type: 'Localhost', localhostProfile: 'profiles/audit.json' } } });
  assert.equal((await containerSecurity(pod)).security.syscallFilter?.type, 'custom', 'the pod profile applies when the container has none');
  await refused(containerSecurity(local('profiles/missing.json')), /cannot load seccomp profile ".*\/profiles\/missing\.json": no such file/);
  await refused(containerSecurity(local('profiles/broken.json')), /cannot load seccomp profile ".*broken\.json": .*JSON/);
  await refused(containerSecurity(local('profiles/link.json')), /leads outside the seccomp profile directory/);
  await refused(containerSecurity(local('../outside.json')), /must not contain '\.\.'/);
});

test('what no node honours is refused, not ignored', async () => {
  const cases: [SecurityInput, RegExp][] = [
    [input({ securityContext: { seLinuxOptions: { level: 's0:c1' } } }), /spec\.containers\[0\]\.securityContext\.seLinuxOptions: Forbidden: Nubis nodes do not label with SELinux/],
    [input({}, { securityContext: { windowsOptions: { runAsUserName: 'x' } } }), /spec\.securityContext\.windowsOptions: Forbidden/],
    [input({ securityContext: { appArmorProfile: { type: 'Localhost', localhostProfile: 'k8s-nginx' } } }), /cannot enforce AppArmor profile "k8s-nginx"/],
    [input({}, {}, {}, { 'container.apparmor.security.beta.kubernetes.io/app': 'localhost/k8s-nginx' }), /cannot enforce AppArmor profile "k8s-nginx"/],
    [input({ securityContext: { procMount: 'Unmasked' } }), /`hostUsers` must be false to use `Unmasked`/],
    [input({ securityContext: { seccompProfile: { type: 'Strict' } } }), /seccompProfile\.type: Unsupported value: "Strict"/],
    [input({}, { securityContext: { sysctls: [{ name: 'Bad Name', value: '1' }] } }), /sysctls\[0\]\.name: Invalid value/],
    [input({}, { hostUsers: false }), /has no user namespace although hostUsers is false/],
    [input({ securityContext: { runAsUser: 70000 } }, { hostUsers: false }, { idMapping: { hostId: 2 ** 30, size: 65536 } }), /id 70000 is outside the pod's user namespace/],
  ];
  for (const [i, re] of cases) await refused(containerSecurity(i), re);
  const fine = [
    input({ securityContext: { appArmorProfile: { type: 'RuntimeDefault' }, seLinuxOptions: {} } }),
    input({}, {}, {}, { 'container.apparmor.security.beta.kubernetes.io/app': 'runtime/default' }),
  ];
  for (const i of fine) await containerSecurity(i);
});
