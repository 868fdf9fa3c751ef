/**
 * Containers outlive the CLI: a container started by one process is seen and controlled by another, also
 * when the process that ran it in the foreground was SIGKILLed; a detached --rm container is removed by
 * conmon's exit command without any Nubis process around.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLI, eventually, inspect, makeDataDir, REPO, type TestDataDir } from './cli-harness.js';

function conmonPid(dataDir: string, id: string): number {
  return Number(readFileSync(path.join(dataDir, 'containers', id, 'conmon.pid'), 'utf8'));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('recovery across processes', () => {
  let t: TestDataDir;
  before(() => {
    t = makeDataDir();
  });
  after(async () => {
    await t.cleanup();
  });

  it('a container run in the foreground survives SIGKILL of the CLI; another process execs, stops and removes it', async () => {
    const child = spawn(CLI[0]!, [...CLI.slice(1), '--data-dir', t.dir, 'ctr', 'run', '--name', 'survivor', 'busybox', 'sh', '-c',
      'trap "exit 0" TERM; echo started; while true; do sleep 0.1; done'], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    await eventually(() => out.includes('started'), 20_000, 'the container to print');
    const exited = new Promise((r) => child.on('exit', r));
    child.kill('SIGKILL');
    await exited;

    const doc = await inspect(t, 'survivor');
    assert.equal(doc.State.Status, 'running');
    const conmon = conmonPid(t.dir, doc.Id);
    assert.ok(alive(conmon), 'conmon still supervises the container');
    assert.ok(alive(doc.State.Pid as number), 'the container process still runs');

    const ex = await t.nubis(['ctr', 'exec', 'survivor', 'sh', '-c', 'echo from-another-process']);
    assert.equal(ex.code, 0);
    assert.equal(ex.stdout, 'from-another-process\n');
    assert.match(await t.ctr('ps'), /survivor/);
    await t.ctr('stop', 'survivor');
    const stopped = await inspect(t, 'survivor');
    assert.equal(stopped.State.Status, 'exited');
    assert.equal(stopped.State.ExitCode, 0);
    await eventually(() => !alive(conmon), 5000, 'conmon to exit after the container');
    await t.ctr('rm', 'survivor');
    assert.equal(readdirSync(path.join(t.dir, 'containers')).filter((e) => /^[0-9a-f]{64}$/.test(e)).length, 0);
  });

  it('a detached --rm container is removed by conmon once it exits', async () => {
    const id = (await t.ctr('run', '-d', '--rm', 'busybox', 'sh', '-c', 'sleep 2')).trim(); // long enough to be seen by ps on a loaded machine
    assert.match(id, /^[0-9a-f]{64}$/);
    assert.match(await t.ctr('ps', '--no-trunc'), new RegExp(id));
    await eventually(async () => (await t.ctr('ps', '-aq', '--no-trunc')).trim() === '', 20_000, 'auto-removal');
  });
});
