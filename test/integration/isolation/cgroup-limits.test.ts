/**
 * Cgroup limits on real containers (runc + buildSpec): memory kills, pids stops a fork bomb, stats read
 * from the live cgroup, and nothing is left behind.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { CGROUP_ROOT, detectCgroupMode, listCgroups, oomKillCount, readCgroupStats } from '../../../src/host/cgroups.js';
import { RuncHarness } from './runc-harness.js';

const MiB = 1024 * 1024;
let h: RuncHarness;

before(async () => {
  h = await RuncHarness.create();
});
after(async () => {
  await h?.cleanup();
});

/** pids.events "max" (v1 and v2): how many forks the pids limit refused. */
async function pidsRefusals(cgroupsPath: string): Promise<number> {
  const dir = detectCgroupMode() === 'v2' ? path.join(CGROUP_ROOT, cgroupsPath) : path.join(CGROUP_ROOT, 'pids', cgroupsPath);
  const text = await fs.readFile(path.join(dir, 'pids.events'), 'utf8');
  return Number(/^max (\d+)/m.exec(text)?.[1] ?? NaN);
}

test('a process above its memory limit is OOM-killed (exit 137, oom_kill counted)', async () => {
  const id = 'oom';
  // The inner shell keeps 200 MiB of command output in memory under a 32 MiB limit; the outer one (pid 1)
  // reports how it ended and stays, so the OOM count can be read before runc removes the cgroup.
  const hog = 'x=$(head -c 200m /dev/zero | tr "\\0" a); echo survived ${#x}';
  const bundle = await h.bundle(id, ['sh', '-c', `sh -c '${hog}'; echo "code=$?"; sleep 600`], {
    resources: { memoryBytes: 32 * MiB },
  });
  const { child, done } = h.start(id, bundle);
  let stdout = '';
  await new Promise<void>((resolve) => {
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.includes('code=')) resolve();
    });
    child.on('close', () => resolve());
  });
  assert.match(stdout, /code=137/, `expected the hog to die by SIGKILL: ${stdout}`);
  assert.doesNotMatch(stdout, /survived/);
  assert.ok(((await oomKillCount(h.cgroupsPath(id))) ?? 0) >= 1, 'oom_kill not counted');
  await h.kill(id);
  assert.equal((await done).code, 137);
  await h.delete(id);
});

test('the same allocation under a roomy limit succeeds (the limit, not the command, kills)', async () => {
  const out = await h.run('roomy', ['sh', '-c', 'x=$(head -c 20m /dev/zero | tr "\\0" a); echo survived ${#x}'], {
    resources: { memoryBytes: 256 * MiB },
  });
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stdout, /survived 20971520/);
  await h.delete('roomy');
});

test('a fork bomb stops at its pids limit and leaves nothing behind', async () => {
  const id = 'forkbomb';
  const limit = 24;
  const bundle = await h.bundle(id, ['sh', '-c', 'bomb() { bomb | bomb & }; bomb; sleep 600'], { resources: { pidsLimit: limit } });
  const { done } = h.start(id, bundle);
  await h.waitRunning(id);
  let highest = 0;
  let refusals = 0;
  for (let i = 0; i < 200 && refusals === 0; i++) {
    const s = await readCgroupStats(h.cgroupsPath(id));
    assert.equal(s.pidsLimit, limit);
    assert.ok(s.pids <= limit, `pids.current ${s.pids} above the limit ${limit}`);
    highest = Math.max(highest, s.pids);
    refusals = await pidsRefusals(h.cgroupsPath(id));
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(refusals > 0, 'the pids limit never refused a fork: the bomb did not reach it');
  assert.ok(highest > 1, `the bomb never forked (highest pids.current ${highest})`);
  for (let i = 0; i < 20; i++) {
    const s = await readCgroupStats(h.cgroupsPath(id));
    assert.ok(s.pids <= limit, `pids.current ${s.pids} above the limit ${limit}`);
  }
  const procs = await fs.readFile(
    path.join(CGROUP_ROOT, detectCgroupMode() === 'v2' ? '' : 'pids', h.cgroupsPath(id), 'cgroup.procs'),
    'utf8',
  );
  const pids = procs.split('\n').filter(Boolean).map(Number);
  assert.ok(pids.length > 0 && pids.length <= limit);
  // The host still forks fine.
  assert.equal((await h.run('after-bomb', ['true'])).code, 0);
  await h.delete('after-bomb');

  await h.kill(id);
  await done;
  await h.delete(id);
  for (const pid of pids) {
    assert.throws(() => process.kill(pid, 0), /ESRCH/, `process ${pid} of the bomb is still alive`);
  }
});

test('readCgroupStats reads sane numbers from a running container', async () => {
  const id = 'stats';
  const bundle = await h.bundle(id, ['sh', '-c', 'head -c 8m /dev/zero > /dev/shm/fill && sleep 600'], {
    resources: { memoryBytes: 64 * MiB, pidsLimit: 10, cpus: 0.5, cpuShares: 512 },
  });
  const { done } = h.start(id, bundle);
  await h.waitRunning(id);
  // 8 MiB in a tmpfs file are charged to the container and cannot be reclaimed (there is no swap to go to).
  let s = await readCgroupStats(h.cgroupsPath(id));
  for (let i = 0; i < 100 && s.memoryBytes < 8 * MiB; i++) {
    await new Promise((r) => setTimeout(r, 100));
    s = await readCgroupStats(h.cgroupsPath(id));
  }
  assert.equal(s.memoryLimitBytes, 64 * MiB);
  assert.equal(s.pidsLimit, 10);
  assert.ok(s.pids >= 1 && s.pids <= 10, `pids ${s.pids}`);
  assert.ok(s.memoryBytes >= 8 * MiB && s.memoryBytes <= 64 * MiB, `memory ${s.memoryBytes}`);
  assert.ok(s.cpuUsageNs > 0, `cpu ${s.cpuUsageNs}`);
  assert.equal(await oomKillCount(h.cgroupsPath(id)), 0);
  const mode = detectCgroupMode();
  const cpuDir = mode === 'v2' ? path.join(CGROUP_ROOT, h.cgroupsPath(id)) : path.join(CGROUP_ROOT, 'cpu', h.cgroupsPath(id));
  if (mode === 'v2') {
    assert.equal((await fs.readFile(path.join(cpuDir, 'cpu.max'), 'utf8')).trim(), '50000 100000');
  } else {
    assert.equal((await fs.readFile(path.join(cpuDir, 'cpu.cfs_quota_us'), 'utf8')).trim(), '50000');
    assert.equal((await fs.readFile(path.join(cpuDir, 'cpu.cfs_period_us'), 'utf8')).trim(), '100000');
    assert.equal((await fs.readFile(path.join(cpuDir, 'cpu.shares'), 'utf8')).trim(), '512');
  }
  assert.ok((await listCgroups(h.prefix)).some((c) => c.endsWith(`${h.prefix}/${id}`)));
  await h.kill(id);
  assert.equal((await done).code, 137);
  await h.delete(id);
});
