import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { isNubisError } from '../../lib/errors.js';
import type { ImageConfig } from '../../image/types.js';
import { parseRlimits } from '../../host/rlimits.js';
import {
  buildSpec,
  DEFAULT_CAPABILITIES,
  etcHostsContent,
  resolveCapabilities,
  parseCpus,
  parseMemory,
  type ContainerOptions,
  type HostFacts,
  type SpecInput,
} from './spec.js';
import { hostCapabilities } from './options.js';
import { CLONE_NAMESPACE_FLAGS } from './seccomp.js';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max open files            1024                 20000                files
Max processes             96364                96364                processes
`;
const FACTS: HostFacts = { cpuCount: 2, cgroupMode: 'hybrid', swapLimit: true };
const MiB = 1024 * 1024;

let dir: string;
let rootfs: string;

before(async () => {
  dir = await fs.mkdtemp(path.join(tmpdir(), 'nubis-spec-'));
  rootfs = path.join(dir, 'rootfs');
  await fs.mkdir(path.join(rootfs, 'etc'), { recursive: true });
  await fs.writeFile(
    path.join(rootfs, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\n# comment\nbroken-line\napp:x:1000:1001:App:/home/app:/bin/sh\nnobody:x:65534:65534::/nonexistent:/bin/false\n',
  );
  await fs.writeFile(path.join(rootfs, 'etc/group'), 'root:x:0:\nwheel:x:10:app,root\napp:x:1001:\naudio:x:29:app\nstaff:x:50:\n');
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

function image(config: ImageConfig['config'] = {}): ImageConfig {
  return { rootfs: { type: 'layers', diff_ids: [] }, config: { Cmd: ['/bin/sh'], ...config } };
}

function input(options: ContainerOptions = {}, extra: Partial<SpecInput> = {}): SpecInput {
  return {
    id: '0123456789abcdef0123',
    rootfs,
    image: image(),
    options,
    cgroupsPath: '/nubis/0123456789abcdef0123',
    hostRlimits: parseRlimits(LIMITS),
    hostFacts: FACTS,
    ...extra,
  };
}

async function rejectsInvalid(p: Promise<unknown>, re: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => isNubisError(e, 'Invalid') && re.test((e as Error).message) && !(e as Error).message.includes('\n'));
}

test('isolation defaults: namespaces, caps, no_new_privs, masked/readonly paths, seccomp, no oomScoreAdj', async () => {
  const s = await buildSpec(input());
  assert.deepEqual(s.linux.namespaces.map((n) => n.type), ['pid', 'ipc', 'uts', 'mount', 'network']);
  assert.equal(s.linux.namespaces.find((n) => n.type === 'network')?.path, undefined);
  assert.equal(s.process.noNewPrivileges, true);
  assert.deepEqual([...s.process.capabilities.bounding].sort(), [...DEFAULT_CAPABILITIES].sort());
  assert.deepEqual(s.process.capabilities.effective, s.process.capabilities.bounding);
  assert.deepEqual(s.process.capabilities.permitted, s.process.capabilities.bounding);
  assert.equal('inheritable' in s.process.capabilities, false);
  assert.equal('ambient' in s.process.capabilities, false);
  for (const p of ['/proc/kcore', '/proc/keys', '/sys/firmware', '/proc/timer_list', '/sys/devices/virtual/powercap']) {
    assert.ok(s.linux.maskedPaths.includes(p), p);
  }
  for (const p of ['/proc/sys', '/proc/sysrq-trigger', '/proc/irq', '/proc/bus']) assert.ok(s.linux.readonlyPaths.includes(p), p);
  assert.equal(s.linux.seccomp?.defaultAction, 'SCMP_ACT_ERRNO');
  assert.deepEqual(s.linux.seccomp?.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  assert.equal('oomScoreAdj' in s.process, false);
  assert.deepEqual(s.linux.resources.devices, [{ allow: false, access: 'rwm' }]);
  assert.equal(s.linux.cgroupsPath, '/nubis/0123456789abcdef0123');
  assert.equal(s.hostname, '0123456789ab');
  assert.deepEqual(s.root, { path: rootfs, readonly: false });
  const dests = s.mounts.map((m) => m.destination);
  assert.deepEqual(dests, ['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/sys/fs/cgroup']);
  assert.ok(s.mounts.find((m) => m.destination === '/sys')?.options?.includes('ro'));
  assert.ok(s.mounts.find((m) => m.destination === '/sys/fs/cgroup')?.options?.includes('ro'));
  assert.ok(s.mounts.find((m) => m.destination === '/dev/pts')?.options?.includes('newinstance'));
  JSON.parse(JSON.stringify(s));
});

test('rlimits: NOFILE clamped to the host hard limit, nothing else emitted', async () => {
  const s = await buildSpec(input());
  assert.deepEqual(s.process.rlimits, [{ type: 'RLIMIT_NOFILE', soft: 20000, hard: 20000 }]);
});

test('seccomp: namespace-creating syscalls are refused unless CAP_SYS_ADMIN', async () => {
  const s = await buildSpec(input());
  const allowAll = (name: string) =>
    s.linux.seccomp!.syscalls.some((r) => r.action === 'SCMP_ACT_ALLOW' && !r.args && r.names.includes(name));
  for (const n of ['read', 'openat', 'execve', 'futex', 'socket', 'epoll_wait', 'chroot']) assert.ok(allowAll(n), n);
  for (const n of ['mount', 'unshare', 'setns', 'keyctl', 'bpf', 'kexec_load', 'init_module', 'reboot', 'userfaultfd', 'clone', 'clone3']) {
    assert.ok(!allowAll(n), n);
  }
  const clone = s.linux.seccomp!.syscalls.find((r) => r.names.includes('clone'));
  assert.deepEqual(clone?.args, [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }]);
  assert.equal(s.linux.seccomp!.syscalls.find((r) => r.names.includes('clone3'))?.errnoRet, 38);

  const admin = await buildSpec(input({ capAdd: ['sys_admin'] }));
  assert.ok(admin.process.capabilities.bounding.includes('CAP_SYS_ADMIN'));
  assert.ok(admin.linux.seccomp!.syscalls.some((r) => r.names.includes('mount') && r.action === 'SCMP_ACT_ALLOW'));
  assert.ok(!admin.linux.seccomp!.syscalls.some((r) => r.names.includes('keyctl')));
});

test('capabilities: drop, add, ALL; unknown names are Invalid', async () => {
  const s = await buildSpec(input({ capDrop: ['NET_RAW', 'cap_mknod'], capAdd: ['NET_ADMIN'] }));
  assert.ok(!s.process.capabilities.bounding.includes('CAP_NET_RAW'));
  assert.ok(!s.process.capabilities.bounding.includes('CAP_MKNOD'));
  assert.ok(s.process.capabilities.bounding.includes('CAP_NET_ADMIN'));
  const only = await buildSpec(input({ capDrop: ['ALL'], capAdd: ['CHOWN'] }));
  assert.deepEqual(only.process.capabilities.bounding, ['CAP_CHOWN']);
  await rejectsInvalid(buildSpec(input({ capAdd: ['FLY'] })), /unknown capability "FLY"/);
});

test('privileged: every capability the runtime holds, host devices, no seccomp, no masked paths, writable /sys', async () => {
  const dev = { path: '/dev/kmsg', type: 'c' as const, major: 1, minor: 11, fileMode: 0o644, uid: 0, gid: 0 };
  const s = await buildSpec({ ...input({ privileged: true }), hostDevices: async () => [dev] });
  assert.deepEqual(s.process.capabilities.bounding, hostCapabilities());
  assert.ok(hostCapabilities().length >= DEFAULT_CAPABILITIES.length);
  assert.deepEqual(resolveCapabilities({ privileged: true }, ['CAP_CHOWN', 'CAP_KILL']), ['CAP_CHOWN', 'CAP_KILL']);
  assert.deepEqual(resolveCapabilities({ capAdd: ['ALL'], capDrop: ['KILL'] }, ['CAP_CHOWN', 'CAP_KILL']), ['CAP_CHOWN']);
  assert.equal(s.linux.seccomp, undefined);
  assert.equal(s.process.noNewPrivileges, false);
  assert.deepEqual(s.linux.maskedPaths, []);
  assert.deepEqual(s.linux.devices, [dev]);
  assert.ok(!s.mounts.find((m) => m.destination === '/sys')?.options?.includes('ro'));
  assert.deepEqual(s.linux.resources.devices, [{ allow: true, access: 'rwm' }]);
  assert.equal((await buildSpec(input())).linux.devices, undefined);
});

test('a pod sandbox: joined user namespace with its mapping, sysctls, no_new_privs as asked, unmasked /proc, filters', async () => {
  const s = await buildSpec(input({
    userNamespacePath: '/pods/x/ns/user',
    idMapping: { hostId: 2 ** 30, size: 65536 },
    networkNamespacePath: '/pods/x/ns/net',
    sysctls: { 'net.ipv4.ip_unprivileged_port_start': '0' },
    noNewPrivileges: false,
    unmaskedProc: true,
    seccomp: 'unconfined',
  }));
  assert.deepEqual(s.linux.namespaces.find((n) => n.type === 'user'), { type: 'user', path: '/pods/x/ns/user' });
  assert.deepEqual(s.linux.uidMappings, [{ containerID: 0, hostID: 2 ** 30, size: 65536 }]);
  assert.deepEqual(s.linux.gidMappings, s.linux.uidMappings);
  assert.equal(s.mounts.find((m) => m.destination === '/sys')?.type, 'sysfs', 'the joined user namespace owns the network namespace');
  assert.deepEqual(s.linux.sysctl, { 'net.ipv4.ip_unprivileged_port_start': '0' });
  assert.equal(s.process.noNewPrivileges, false);
  assert.deepEqual([s.linux.maskedPaths, s.linux.readonlyPaths], [[], []]);
  assert.equal(s.linux.seccomp, undefined);
  const plain = await buildSpec(input({ user: '1000', group: 5, supplementalGroups: [7] }));
  assert.deepEqual(plain.process.user, { uid: 1000, gid: 5, additionalGids: [5, 10, 29, 7] });
  assert.equal(plain.linux.sysctl, undefined);
  await rejectsInvalid(buildSpec(input({ runAsNonRoot: true })), /^container has runAsNonRoot and image will run as root$/);
  await rejectsInvalid(buildSpec(input({ sysctls: { 'Bad Name': '1' } })), /invalid sysctl name/);
  await rejectsInvalid(buildSpec(input({ userNamespacePath: '/x' })), /needs its id mapping/);
  await rejectsInvalid(buildSpec(input({ supplementalGroups: [-1] })), /supplemental group id/);
});

test('resources: memory with swap = limit when supported, cpu quota/period, shares, pids', async () => {
  const s = await buildSpec(input({ resources: { memoryBytes: 32 * MiB, cpus: 1.5, cpuShares: 512, pidsLimit: 64 } }));
  assert.deepEqual(s.linux.resources.memory, { limit: 32 * MiB, swap: 32 * MiB });
  assert.deepEqual(s.linux.resources.cpu, { shares: 512, quota: 150000, period: 100000 });
  assert.deepEqual(s.linux.resources.pids, { limit: 64 });
  const noSwap = await buildSpec({ ...input({ resources: { memoryBytes: 32 * MiB } }), hostFacts: { ...FACTS, swapLimit: false } });
  assert.deepEqual(noSwap.linux.resources.memory, { limit: 32 * MiB });
  const none = await buildSpec(input());
  assert.equal(none.linux.resources.memory, undefined);
  assert.equal(none.linux.resources.cpu, undefined);
  assert.equal(none.linux.resources.pids, undefined);
});

test('v2 hosts get a cgroup namespace; userns adds mappings; a network namespace path is joined', async () => {
  const v2 = await buildSpec({ ...input(), hostFacts: { ...FACTS, cgroupMode: 'v2' } });
  assert.ok(v2.linux.namespaces.some((n) => n.type === 'cgroup'));
  const u = await buildSpec(input({ userns: true }));
  assert.ok(u.linux.namespaces.some((n) => n.type === 'user'));
  assert.deepEqual(u.linux.uidMappings, [{ containerID: 0, hostID: 100000, size: 65536 }]);
  assert.deepEqual(u.linux.gidMappings, [{ containerID: 0, hostID: 100000, size: 65536 }]);
  const n = await buildSpec(input({ networkNamespacePath: '/run/netns/x', userns: true }));
  assert.deepEqual(n.linux.namespaces.find((x) => x.type === 'network'), { type: 'network', path: '/run/netns/x' });
  assert.equal(n.mounts.find((m) => m.destination === '/sys')?.type, 'none');
});

test('a pod container joins the IPC and UTS namespaces of its sandbox; relative paths are refused', async () => {
  const s = await buildSpec(input({ ipcNamespacePath: '/proc/42/ns/ipc', utsNamespacePath: '/proc/42/ns/uts', networkNamespacePath: '/proc/42/ns/net' }));
  assert.deepEqual(s.linux.namespaces.find((x) => x.type === 'ipc'), { type: 'ipc', path: '/proc/42/ns/ipc' });
  assert.deepEqual(s.linux.namespaces.find((x) => x.type === 'uts'), { type: 'uts', path: '/proc/42/ns/uts' });
  assert.deepEqual(s.linux.namespaces.find((x) => x.type === 'pid'), { type: 'pid' });
  await rejectsInvalid(buildSpec(input({ ipcNamespacePath: 'proc/42/ns/ipc' })), /IPC namespace path must be absolute/);
});

test('args follow Docker: CLI args replace Cmd, --entrypoint replaces Entrypoint and drops Cmd', async () => {
  const img = image({ Entrypoint: ['/entry'], Cmd: ['--default'] });
  assert.deepEqual((await buildSpec({ ...input(), image: img })).process.args, ['/entry', '--default']);
  assert.deepEqual((await buildSpec({ ...input({ command: ['x'] }), image: img })).process.args, ['/entry', 'x']);
  assert.deepEqual((await buildSpec({ ...input({ entrypoint: ['/sh'] }), image: img })).process.args, ['/sh']);
  assert.deepEqual((await buildSpec({ ...input({ entrypoint: ['/sh'], command: ['-c', 'true'] }), image: img })).process.args, ['/sh', '-c', 'true']);
  await rejectsInvalid(buildSpec({ ...input(), image: image({ Cmd: null }) }), /no command to run/);
});

test('env: image Env merged under user env, PATH default, HOSTNAME, TERM with tty, HOME from passwd', async () => {
  const s = await buildSpec({
    ...input({ env: ['B=user', 'C=3=3', 'EMPTY='], hostname: 'web', tty: true, user: 'app' }),
    image: image({ Env: ['A=1', 'B=image'] }),
  });
  assert.deepEqual(s.process.env, [
    'A=1', 'B=user', 'C=3=3', 'EMPTY=', `PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    'HOSTNAME=web', 'TERM=xterm', 'HOME=/home/app',
  ]);
  const plain = await buildSpec({ ...input(), image: image({ Env: ['PATH=/bin', 'HOME=/x'] }) });
  assert.deepEqual(plain.process.env, ['PATH=/bin', 'HOME=/x', 'HOSTNAME=0123456789ab']);
  assert.equal(s.hostname, 'web');
  assert.equal(s.process.terminal, true);
});

test('user resolution from the image: names, ids, groups, supplementary groups', async () => {
  const u = async (user: string | undefined, img = image()) => (await buildSpec({ ...input({ user }), image: img })).process.user;
  assert.deepEqual(await u(undefined), { uid: 0, gid: 0, additionalGids: [0, 10] });
  assert.deepEqual(await u('app'), { uid: 1000, gid: 1001, additionalGids: [1001, 10, 29] });
  assert.deepEqual(await u('1000'), { uid: 1000, gid: 1001, additionalGids: [1001, 10, 29] });
  assert.deepEqual(await u('4242'), { uid: 4242, gid: 0, additionalGids: [0] });
  assert.deepEqual(await u('app:staff'), { uid: 1000, gid: 50, additionalGids: [50] });
  assert.deepEqual(await u('4242:77'), { uid: 4242, gid: 77, additionalGids: [77] });
  assert.deepEqual(await u(undefined, image({ User: 'nobody' })), { uid: 65534, gid: 65534, additionalGids: [65534] });
  await rejectsInvalid(u('ghost'), /user "ghost" not found in the image's \/etc\/passwd/);
  await rejectsInvalid(u('app:ghosts'), /group "ghosts" not found/);
  await rejectsInvalid(u('app:'), /invalid user/);
  await rejectsInvalid(u('99999999999'), /out of range/);
});

test('user resolution never follows a symlink out of the rootfs', async () => {
  const evil = path.join(dir, 'evil');
  await fs.mkdir(path.join(evil, 'etc'), { recursive: true });
  await fs.mkdir(path.join(dir, 'host-etc'), { recursive: true });
  await fs.writeFile(path.join(dir, 'host-etc', 'passwd'), 'hostonly:x:5:5::/:/bin/sh\n');
  // An absolute link to the host's file resolves inside the rootfs, where it does not exist.
  await fs.symlink(path.join(dir, 'host-etc', 'passwd'), path.join(evil, 'etc', 'passwd'));
  await rejectsInvalid(buildSpec({ ...input({ user: 'hostonly' }), rootfs: evil }), /not found/);
  // A relative escape with .. stays at the rootfs's root too.
  await fs.rm(path.join(evil, 'etc', 'passwd'));
  await fs.symlink('../../../host-etc/passwd', path.join(evil, 'etc', 'passwd'));
  await rejectsInvalid(buildSpec({ ...input({ user: 'hostonly' }), rootfs: evil }), /not found/);
  // A link that stays inside works.
  await fs.rm(path.join(evil, 'etc', 'passwd'));
  await fs.writeFile(path.join(evil, 'etc', 'real-passwd'), 'inside:x:7:7::/:/bin/sh\n');
  await fs.symlink('/etc/real-passwd', path.join(evil, 'etc', 'passwd'));
  assert.equal((await buildSpec({ ...input({ user: 'inside' }), rootfs: evil })).process.user.uid, 7);
  // Anything but a regular file (a directory, a FIFO that would block) is refused.
  await fs.rm(path.join(evil, 'etc', 'passwd'));
  await fs.mkdir(path.join(evil, 'etc', 'passwd'));
  await rejectsInvalid(buildSpec({ ...input({ user: 'inside' }), rootfs: evil }), /not a regular file/);
});

test('mounts: binds, tmpfs, etc files, read-only root', async () => {
  const src = path.join(dir, 'vol');
  await fs.mkdir(src, { recursive: true });
  const s = await buildSpec(
    input({
      readOnlyRootfs: true,
      mounts: [
        { source: src, destination: '/data', readOnly: true },
        { source: '', destination: '/tmp/', type: 'tmpfs' },
      ],
      etcFiles: { hosts: '/c/hosts', hostname: '/c/hostname', resolvConf: '/c/resolv.conf' },
    }),
  );
  assert.equal(s.root.readonly, true);
  const user = s.mounts.slice(7);
  assert.deepEqual(user, [
    { destination: '/data', type: 'bind', source: src, options: ['rbind', 'rprivate', 'ro'] },
    { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'rw'] },
    { destination: '/etc/hosts', type: 'bind', source: '/c/hosts', options: ['rbind', 'rprivate', 'ro'] },
    { destination: '/etc/hostname', type: 'bind', source: '/c/hostname', options: ['rbind', 'rprivate', 'ro'] },
    { destination: '/etc/resolv.conf', type: 'bind', source: '/c/resolv.conf', options: ['rbind', 'rprivate', 'ro'] },
  ]);
  // A mount of the caller's at /etc/resolv.conf replaces the runtime's copy instead of lying under it.
  const podResolv = path.join(dir, 'pod-resolv.conf');
  await fs.writeFile(podResolv, 'nameserver 10.43.0.10\n');
  const own = await buildSpec(input({ mounts: [{ source: podResolv, destination: '/etc/resolv.conf', readOnly: true }], etcFiles: { hosts: '/c/hosts', resolvConf: '/c/resolv.conf' } }));
  assert.deepEqual(
    own.mounts.filter((m) => m.destination === '/etc/resolv.conf').map((m) => m.source),
    [podResolv],
  );
  assert.match(etcHostsContent('web'), /^127\.0\.0\.1\tlocalhost$/m);
  assert.match(etcHostsContent('web', '10.0.0.5'), /^10\.0\.0\.5\tweb$/m);
});

test('validation: one-line Invalid errors for bad input', async () => {
  const cases: [ContainerOptions, RegExp][] = [
    [{ resources: { memoryBytes: 5 * MiB } }, /at least 6MB/],
    [{ resources: { cpus: 0 } }, /between 0\.01 and 2/],
    [{ resources: { cpus: 3 } }, /between 0\.01 and 2/],
    [{ resources: { pidsLimit: 0 } }, /pids limit/],
    [{ resources: { pidsLimit: 1.5 } }, /pids limit/],
    [{ resources: { cpuShares: 1 } }, /cpu shares/],
    [{ mounts: [{ source: '/tmp', destination: 'data' }] }, /absolute path/],
    [{ mounts: [{ source: '/tmp', destination: '/' }] }, /root directory/],
    [{ mounts: [{ source: '/tmp', destination: '/a/../b' }] }, /must not contain/],
    [{ mounts: [{ source: '/nonexistent-nubis', destination: '/x' }] }, /does not exist/],
    [{ mounts: [{ source: 'rel', destination: '/x' }] }, /absolute host path/],
    [{ mounts: [{ source: '/tmp', destination: '/x' }, { source: '/tmp', destination: '/x/' }] }, /two mounts/],
    [{ env: ['=value'] }, /has no key/],
    [{ env: ['NOEQUALS'] }, /must be KEY=VALUE/],
    [{ workingDir: 'rel' }, /working dir/],
    [{ hostname: 'bad_name!' }, /invalid hostname/],
    [{ user: 'ghost' }, /not found/],
  ];
  for (const [opts, re] of cases) await rejectsInvalid(buildSpec(input(opts)), re);
  await rejectsInvalid(buildSpec({ ...input(), rootfs: path.join(dir, 'missing') }), /does not exist/);
});

test('parseMemory and parseCpus', () => {
  assert.equal(parseMemory('512m'), 512 * MiB);
  assert.equal(parseMemory('1g'), 1024 * MiB);
  assert.equal(parseMemory('1.5G'), 1536 * MiB);
  assert.equal(parseMemory('64mb'), 64 * MiB);
  assert.equal(parseMemory('100k'), 102400);
  assert.equal(parseMemory('4096'), 4096);
  assert.equal(parseMemory('10b'), 10);
  for (const bad of ['10x', '', 'm', '-5m', '1.2.3m']) {
    assert.throws(() => parseMemory(bad), (e: unknown) => isNubisError(e, 'Invalid') && /invalid memory size/.test((e as Error).message));
  }
  assert.equal(parseCpus('1.5'), 1.5);
  assert.equal(parseCpus('.5'), 0.5);
  assert.equal(parseCpus('2'), 2);
  for (const bad of ['0', '-1', 'abc', '', '1e3', 'Infinity']) {
    assert.throws(() => parseCpus(bad), (e: unknown) => isNubisError(e, 'Invalid'), bad);
  }
});
