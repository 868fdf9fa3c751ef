import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { isNubisError } from '../lib/errors.js';
import {
  detectCgroupMode,
  listCgroups,
  oomKillCount,
  oomKilled,
  placeInCgroup,
  readCgroupStats,
  removeCgroupTree,
  swapLimitSupported,
} from './cgroups.js';

const temps: string[] = [];
after(async () => {
  for (const t of temps) await fs.rm(t, { recursive: true, force: true });
});

async function tree(files: Record<string, string>, links: Record<string, string> = {}): Promise<string> {
  const root = await fs.mkdtemp(path.join(tmpdir(), 'nubis-cgroups-'));
  temps.push(root);
  for (const [rel, content] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await fs.writeFile(path.join(root, rel), content);
  }
  for (const [rel, target] of Object.entries(links)) await fs.symlink(target, path.join(root, rel));
  return root;
}

const CG = 'nubis/c1';
const V1_UNLIMITED = '9223372036854771712';

/** A v1 layout with cpu and cpuacct co-mounted (plus the usual symlinks), memory, pids and a named hierarchy. */
function v1Files(extra: Record<string, string> = {}): Record<string, string> {
  return {
    'cpu,cpuacct/cgroup.procs': '',
    [`cpu,cpuacct/${CG}/cpuacct.usage`]: '123456789\n',
    'memory/memory.memsw.limit_in_bytes': V1_UNLIMITED,
    [`memory/${CG}/memory.usage_in_bytes`]: '10485760\n',
    [`memory/${CG}/memory.limit_in_bytes`]: '33554432\n',
    [`memory/${CG}/memory.stat`]: 'cache 4194304\ninactive_file 100\ntotal_cache 4194304\ntotal_inactive_file 2097152\n',
    [`memory/${CG}/memory.oom_control`]: 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n',
    [`pids/${CG}/pids.current`]: '7\n',
    [`pids/${CG}/pids.max`]: '50\n',
    'systemd/cgroup.procs': '',
    ...extra,
  };
}

test('detectCgroupMode tells v1, v2 and hybrid apart', async () => {
  const v1 = await tree(v1Files());
  const v2 = await tree({ 'cgroup.controllers': 'cpu memory pids\n' });
  const hybrid = await tree({ ...v1Files(), 'unified/cgroup.controllers': '' });
  assert.equal(detectCgroupMode(v1), 'v1');
  assert.equal(detectCgroupMode(v2), 'v2');
  assert.equal(detectCgroupMode(hybrid), 'hybrid');
});

test('v1: stats from cpuacct.usage, memory usage minus total_inactive_file, limits, pids', async () => {
  const root = await tree(v1Files(), { cpu: 'cpu,cpuacct', cpuacct: 'cpu,cpuacct' });
  assert.deepEqual(await readCgroupStats(`/${CG}`, root), {
    cpuUsageNs: 123456789,
    memoryBytes: 10485760 - 2097152,
    memoryLimitBytes: 33554432,
    pids: 7,
    pidsLimit: 50,
  });
  assert.equal(await oomKillCount(`/${CG}`, root), 2);
  assert.equal(await oomKilled(`/${CG}`, root), true);
  assert.equal(swapLimitSupported(root), true);
});

test('v1: unlimited memory and pids read as undefined', async () => {
  const root = await tree(
    v1Files({ [`memory/${CG}/memory.limit_in_bytes`]: V1_UNLIMITED, [`pids/${CG}/pids.max`]: 'max\n' }),
  );
  const s = await readCgroupStats(`/${CG}`, root);
  assert.equal(s.memoryLimitBytes, undefined);
  assert.equal(s.pidsLimit, undefined);
});

test('hybrid: stats come from the v1 controllers; listCgroups sees every hierarchy incl. unified', async () => {
  const root = await tree({ ...v1Files(), 'unified/cgroup.controllers': '', [`unified/${CG}/cgroup.procs`]: '' });
  const s = await readCgroupStats(`/${CG}`, root);
  assert.equal(s.pids, 7);
  assert.equal(s.memoryLimitBytes, 33554432);
  assert.deepEqual(await listCgroups('/nubis', root), [
    'cpu,cpuacct:/nubis',
    'cpu,cpuacct:/nubis/c1',
    'memory:/nubis',
    'memory:/nubis/c1',
    'pids:/nubis',
    'pids:/nubis/c1',
    'unified:/nubis',
    'unified:/nubis/c1',
  ]);
  assert.deepEqual(await listCgroups('/other', root), []);
});

test('v2: cpu.stat usage_usec, memory.current minus inactive_file, memory.max, pids, memory.events', async () => {
  const root = await tree({
    'cgroup.controllers': 'cpu memory pids\n',
    [`${CG}/cpu.stat`]: 'usage_usec 5000\nuser_usec 3000\nsystem_usec 2000\n',
    [`${CG}/memory.current`]: '8192000\n',
    [`${CG}/memory.stat`]: 'anon 4096\nfile 8000\ninactive_file 192000\n',
    [`${CG}/memory.max`]: 'max\n',
    [`${CG}/memory.events`]: 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n',
    [`${CG}/pids.current`]: '3\n',
    [`${CG}/pids.max`]: '100\n',
  });
  assert.deepEqual(await readCgroupStats(`/${CG}`, root), {
    cpuUsageNs: 5_000_000,
    memoryBytes: 8_000_000,
    memoryLimitBytes: undefined,
    pids: 3,
    pidsLimit: 100,
  });
  assert.equal(await oomKillCount(`/${CG}`, root), 1);
  assert.deepEqual(await listCgroups('/nubis', root), ['unified:/nubis', 'unified:/nubis/c1']);
  assert.equal(swapLimitSupported(root), true);
});

test('a missing cgroup is NotFound; a relative or escaping path is Invalid', async () => {
  const root = await tree(v1Files());
  await assert.rejects(readCgroupStats('/nubis/nope', root), (e) => isNubisError(e, 'NotFound'));
  await assert.rejects(readCgroupStats('nubis/c1', root), (e) => isNubisError(e, 'Invalid'));
  await assert.rejects(listCgroups('/nubis/../..', root), (e) => isNubisError(e, 'Invalid'));
  assert.equal(await oomKillCount('/nubis/nope', root), undefined);
});

test('v1 without swap accounting: swapLimitSupported is false', async () => {
  const files = v1Files();
  delete files['memory/memory.memsw.limit_in_bytes'];
  assert.equal(swapLimitSupported(await tree(files)), false);
});

test('removeCgroupTree removes children before parents in every hierarchy', async () => {
  const root = await tree({ 'memory/cgroup.procs': '', 'pids/cgroup.procs': '', 'unified/cgroup.controllers': '' });
  for (const h of ['memory', 'pids', 'unified']) await fs.mkdir(path.join(root, h, 'nubis-t/a/b'), { recursive: true });
  assert.equal((await listCgroups('/nubis-t', root)).length, 9);
  await removeCgroupTree('/nubis-t', root);
  assert.deepEqual(await listCgroups('/nubis-t', root), []);
  await removeCgroupTree('/nubis-t', root);
});

test('placeInCgroup: v1 and hybrid write the CFS quota and the memory limit, then the pid, in each hierarchy', async () => {
  const root = await tree({ 'cpu,cpuacct/cgroup.procs': '', 'memory/cgroup.procs': '', 'unified/cgroup.controllers': '' });
  await placeInCgroup('/nubis/microvm/p1', 4242, { cpus: 1.05, memoryBytes: 240 * 2 ** 20 }, root);
  const read = (f: string) => fs.readFile(path.join(root, f), 'utf8');
  assert.equal(await read('cpu,cpuacct/nubis/microvm/p1/cpu.cfs_period_us'), '100000');
  assert.equal(await read('cpu,cpuacct/nubis/microvm/p1/cpu.cfs_quota_us'), '105000');
  assert.equal(await read('memory/nubis/microvm/p1/memory.limit_in_bytes'), String(240 * 2 ** 20));
  assert.equal(await read('cpu,cpuacct/nubis/microvm/p1/cgroup.procs'), '4242');
  assert.equal(await read('memory/nubis/microvm/p1/cgroup.procs'), '4242');
  // No limits: the process is still placed (counted), nothing is limited.
  await placeInCgroup('/nubis/microvm/p2', 4343, {}, root);
  await assert.rejects(read('cpu,cpuacct/nubis/microvm/p2/cpu.cfs_quota_us'), /ENOENT/);
  assert.equal(await read('memory/nubis/microvm/p2/cgroup.procs'), '4343');
});

test('placeInCgroup: v2 enables cpu and memory down the chain and writes cpu.max and memory.max', async () => {
  const root = await tree({ 'cgroup.controllers': 'cpu memory pids', 'cgroup.subtree_control': '' });
  await placeInCgroup('/nubis/microvm/p1', 4242, { cpus: 0.15, memoryBytes: 1 << 28 }, root);
  const read = (f: string) => fs.readFile(path.join(root, f), 'utf8');
  assert.equal(await read('cgroup.subtree_control'), '+cpu +memory');
  assert.equal(await read('nubis/microvm/cgroup.subtree_control'), '+cpu +memory');
  assert.equal(await read('nubis/microvm/p1/cpu.max'), '15000 100000');
  assert.equal(await read('nubis/microvm/p1/memory.max'), String(1 << 28));
  assert.equal(await read('nubis/microvm/p1/cgroup.procs'), '4242');
  await assert.rejects(placeInCgroup('../escape', 1, {}, root), (e: unknown) => isNubisError(e, 'Invalid'));
});
