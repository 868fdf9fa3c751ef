import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { ImageConfig } from '../../image/types.js';
import { isNubisError } from '../../lib/errors.js';
import { customSeccompProfile } from './seccomp.js';
import { hostDevices, processUser, seccompFor } from './security.js';

let rootfs: string;

before(async () => {
  rootfs = await fs.mkdtemp(path.join(tmpdir(), 'nubis-security-'));
  await fs.mkdir(path.join(rootfs, 'etc'));
  await fs.writeFile(path.join(rootfs, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\nboss:x:0:0::/:/bin/sh\n');
  await fs.writeFile(path.join(rootfs, 'etc/group'), 'root:x:0:\nwheel:x:10:app\napp:x:1001:\n');
});
after(async () => {
  await fs.rm(rootfs, { recursive: true, force: true });
});

const image = (User?: string): ImageConfig => ({ rootfs: { type: 'layers', diff_ids: [] }, config: { Cmd: ['sh'], ...(User !== undefined ? { User } : {}) } });

async function refused(p: Promise<unknown>, message: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => isNubisError(e, 'Invalid') && (e as Error).message === message);
}

test('runAsNonRoot refuses uid 0 and names the image cannot resolve, in Kubernetes words', async () => {
  await refused(processUser(rootfs, image(), { runAsNonRoot: true }), 'container has runAsNonRoot and image will run as root');
  await refused(processUser(rootfs, image('0:10'), { runAsNonRoot: true }), 'container has runAsNonRoot and image will run as root');
  await refused(processUser(rootfs, image('boss'), { runAsNonRoot: true }), 'container has runAsNonRoot and image will run as root');
  await refused(processUser(rootfs, image('ghost'), { runAsNonRoot: true }), 'container has runAsNonRoot and image has non-numeric user (ghost), cannot verify user is non-root');
  assert.equal((await processUser(rootfs, image('app'), { runAsNonRoot: true })).uid, 1000, 'a name the image resolves is verified');
  assert.equal((await processUser(rootfs, image(), { runAsNonRoot: true, user: '1000' })).uid, 1000);
  assert.equal((await processUser(rootfs, image(), {})).uid, 0, 'without runAsNonRoot root is fine');
  await assert.rejects(processUser(rootfs, image('ghost'), {}), /user "ghost" not found/);
});

test('groups: a primary group override keeps the image memberships; supplemental groups; Strict drops the image ones', async () => {
  assert.deepEqual((await processUser(rootfs, image(), { user: '1000' })).additionalGids, [1001, 10]);
  const grouped = await processUser(rootfs, image(), { user: '1000', group: 3000, supplementalGroups: [4000, 10] });
  assert.deepEqual([grouped.uid, grouped.gid, grouped.additionalGids], [1000, 3000, [3000, 10, 4000]]);
  const strict = await processUser(rootfs, image(), { user: '1000', group: 3000, supplementalGroups: [4000], imageGroups: false });
  assert.deepEqual(strict.additionalGids, [3000, 4000]);
  const imageUser = await processUser(rootfs, image('app:wheel'), { group: 5 });
  assert.deepEqual([imageUser.uid, imageUser.gid], [1000, 5], "the group replaces the image user's group");
  assert.deepEqual((await processUser(rootfs, image(), { group: 7 })).additionalGids, [7], 'the replaced primary group is not kept');
});

test('seccomp: default, unconfined, privileged, custom', () => {
  const caps = ['CAP_CHOWN'];
  assert.equal(seccompFor({}, caps)?.defaultAction, 'SCMP_ACT_ERRNO');
  assert.equal(seccompFor({ seccomp: 'default' }, caps)?.defaultAction, 'SCMP_ACT_ERRNO');
  assert.equal(seccompFor({ seccomp: 'unconfined' }, caps), undefined);
  assert.equal(seccompFor({ privileged: true, seccomp: { profile: { defaultAction: 'SCMP_ACT_LOG' } } }, caps), undefined);
  assert.deepEqual(seccompFor({ seccomp: { profile: { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }] } } }, caps), {
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: [],
    syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
  });
});

test('custom seccomp profiles: Docker format (archMap, name, includes/excludes) becomes OCI; bad input is Invalid', () => {
  const docker = {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 1,
    archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] }],
    syscalls: [
      { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW', args: [], comment: 'kept' },
      { name: 'personality', action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }] },
      { names: ['mount'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] } },
      { names: ['chown'], action: 'SCMP_ACT_ALLOW', excludes: { caps: ['CAP_SYS_ADMIN'] } },
      { names: ['s390_pci_mmio_read'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['s390x'] } },
    ],
    flags: ['SECCOMP_FILTER_FLAG_LOG'],
  };
  const p = customSeccompProfile(docker, ['CAP_CHOWN']);
  assert.deepEqual(p.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  assert.deepEqual(p.syscalls.map((r) => r.names[0]), ['read', 'personality', 'chown']);
  assert.deepEqual(p.syscalls[1]!.args, [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }]);
  assert.equal(p.defaultErrnoRet, 1);
  assert.deepEqual(p.flags, ['SECCOMP_FILTER_FLAG_LOG']);
  assert.deepEqual(customSeccompProfile(docker, ['CAP_SYS_ADMIN']).syscalls.map((r) => r.names[0]), ['read', 'personality', 'mount']);
  const bad: [unknown, RegExp][] = [
    [[], /must be a JSON object/],
    [{}, /unsupported defaultAction/],
    [{ defaultAction: 'SCMP_ACT_NOTIFY' }, /unsupported defaultAction/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/run/x' }, /notify listeners/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: {} }, /syscalls must be a list/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: [], action: 'SCMP_ACT_ALLOW' }] }, /names no system call/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['x'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'LIKE' }] }] }, /unsupported operator/],
    [{ defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_NEW_LISTENER'] }, /unsupported flag/],
  ];
  for (const [profile, re] of bad) assert.throws(() => customSeccompProfile(profile, []), (e: unknown) => isNubisError(e, 'Invalid') && re.test((e as Error).message), JSON.stringify(profile));
});

test('host devices: character and block devices with their numbers, console and pts left out', async () => {
  const devices = await hostDevices();
  const nul = devices.find((d) => d.path === '/dev/null');
  assert.deepEqual(nul && { type: nul.type, major: nul.major, minor: nul.minor }, { type: 'c', major: 1, minor: 3 });
  assert.ok(!devices.some((d) => d.path === '/dev/console' || d.path.startsWith('/dev/pts/')));
  assert.deepEqual(await hostDevices(path.join(rootfs, 'missing')), []);
});
