/**
 * Bad input and broken environments: each gets a one-line error and a non-zero exit, and leaves no
 * container dir, mount, cgroup, conmon or runc state behind.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertNoLeftovers, snapshotHost } from '../../helpers/leaks.js';
import { makeDataDir, runCli, type CliResult, type TestDataDir } from './cli-harness.js';

function containerDirs(dataDir: string): string[] {
  try {
    return readdirSync(path.join(dataDir, 'containers')).filter((e) => /^[0-9a-f]{64}$/.test(e));
  } catch {
    return [];
  }
}

function assertOneLineFailure(r: CliResult, pattern: RegExp): void {
  assert.notEqual(r.code, 0);
  assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, `one line, got: ${r.stderr}`);
  assert.match(r.stderr, /^nubis: /);
  assert.match(r.stderr, pattern);
}

describe('bad input leaves nothing behind', () => {
  let t: TestDataDir;
  before(() => {
    t = makeDataDir();
  });
  after(async () => {
    await t.cleanup();
  });

  const cases: [string, string[], RegExp][] = [
    ['an unknown image', ['nosuchimage:1.0'], /image "nosuchimage:1.0" not found locally/],
    ['an invalid memory size', ['--memory', 'lots', 'busybox'], /invalid memory size "lots"/],
    ['a memory limit below the minimum', ['--memory', '1k', 'busybox'], /memory limit must be at least/],
    ['an invalid CPU count', ['--cpus', 'many', 'busybox'], /invalid --cpus "many"/],
    ['a missing runtime binary', ['--runtime', '/nonexistent/runc', 'busybox'], /^nubis: runc not found: install it \(see README\)$/m],
    ['a command missing in the image', ['busybox', '/no/such/cmd'], /no such file or directory/],
    ['a user missing in the image', ['--user', 'nobody-here', 'busybox'], /nobody-here/],
  ];
  for (const [what, args, pattern] of cases) {
    it(`${what}`, async () => {
      const r = await t.nubis(['ctr', 'run', '--rm', ...args, ...(args.includes('/no/such/cmd') ? [] : ['true'])]);
      assertOneLineFailure(r, pattern);
      assert.deepEqual(containerDirs(t.dir), []);
      assertNoLeftovers(t.dir, t.before);
    });
  }

  it('a taken name', async () => {
    await t.ctr('run', '-d', '--name', 'taken', 'busybox', 'sleep', '1000');
    const r = await t.nubis(['ctr', 'run', '--name', 'taken', 'busybox', 'true']);
    assertOneLineFailure(r, /the container name "taken" is already in use/);
    assert.equal(containerDirs(t.dir).length, 1, 'only the first container');
    await t.ctr('rm', '-f', 'taken');
    assertNoLeftovers(t.dir, t.before);
  });
});

describe('a full disk', () => {
  const mnt = path.join(os.tmpdir(), `nubis-full-${process.pid}`);
  const before0 = snapshotHost();
  before(() => {
    mkdirSync(mnt, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mnt]);
  });
  after(() => {
    execFileSync('umount', [mnt]);
    rmSync(mnt, { recursive: true, force: true });
  });

  it('fails the create with a one-line error and leaves nothing', async () => {
    // The image fits; then the disk is filled so the container's own files do not.
    const data = path.join(mnt, 'data');
    const warm = await runCli(['--data-dir', data, 'ctr', 'run', '--rm', 'busybox', 'true']);
    assert.equal(warm.code, 0, warm.stderr);
    const filler = path.join(mnt, 'filler');
    try {
      execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=64k'], { stdio: 'ignore' });
    } catch {
      // dd stops with ENOSPC: the disk is full
    }
    const r = await runCli(['--data-dir', data, 'ctr', 'run', '--rm', 'busybox', 'echo', 'hi']);
    assertOneLineFailure(r, /no space left on device/);
    assert.deepEqual(containerDirs(data), []);
    writeFileSync(filler, '');
    assertNoLeftovers(data, before0);
  });
});
