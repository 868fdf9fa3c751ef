/**
 * Container lifecycle through the CLI with real conmon and runc: run (foreground and detached), ps, logs,
 * exec, pause/unpause, stats, inspect, stop, kill, rm, and the state machine's errors.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually, inspect, makeDataDir, type TestDataDir } from './cli-harness.js';

describe('container lifecycle', () => {
  let t: TestDataDir;
  before(() => {
    t = makeDataDir();
  });
  after(async () => {
    await t.cleanup();
  });

  it('run in the foreground prints stdout and stderr and exits with the container\'s code; --rm leaves nothing', async () => {
    const r = await t.nubis(['ctr', 'run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.equal(r.code, 3);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
    assert.equal((await t.ctr('ps', '-aq')).trim(), '');
  });

  it('run without --rm keeps the exited container; ps -a shows it, rm removes its dir', async () => {
    const r = await t.nubis(['ctr', 'run', '--name', 'once', '-e', 'GREETING=hi', 'busybox', 'sh', '-c', 'echo $GREETING']);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, 'hi\n');
    assert.equal((await t.ctr('ps')).split('\n').filter((l) => l.includes('once')).length, 0, 'not running');
    const line = (await t.ctr('ps', '-a')).split('\n').find((l) => l.includes('once'));
    assert.match(line ?? '', /Exited \(0\)/);
    const doc = await inspect(t, 'once');
    assert.equal(doc.State.Status, 'exited');
    assert.equal(doc.State.ExitCode, 0);
    await t.ctr('rm', 'once');
    assert.equal(existsSync(path.join(t.dir, 'containers', doc.Id)), false);
    const again = await t.nubis(['ctr', 'inspect', 'once']);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /^nubis: no such container: once\n$/);
  });

  it('a detached container: ps, logs, exec, pause/unpause, stats, inspect, stop', async () => {
    const id = (
      await t.ctr('run', '-d', '--name', 'ticker', '--memory', '64m', '--cpus', '0.5', '--pids-limit', '50', 'busybox', 'sh', '-c',
        'trap "echo bye; exit 0" TERM; i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done')
    ).trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    await eventually(async () => (await t.ctr('logs', 'ticker')).includes('tick 3'), 10_000, 'log lines');

    const ps = await t.ctr('ps');
    assert.match(ps, /^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+NAMES$/m);
    assert.match(ps, new RegExp(`^${id.slice(0, 12)}\\s+busybox\\s+"sh -c .*Up .*ticker$`, 'm'));

    const tail = (await t.ctr('logs', '--tail', '2', 'ticker')).split('\n').filter(Boolean);
    assert.equal(tail.length, 2);
    assert.match(tail[0]!, /^tick \d+$/);
    const stamped = (await t.ctr('logs', '-t', '--tail', '1', 'ticker')).trim();
    assert.match(stamped, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z tick \d+$/);
    assert.equal((await t.ctr('logs', '--since', '2099-01-01T00:00:00Z', 'ticker')), '');
    assert.ok((await t.ctr('logs', '--since', '10m', 'ticker')).includes('tick 0'));

    const ex = await t.nubis(['ctr', 'exec', '-e', 'X=42', 'ticker', 'sh', '-c', 'echo $X $(id -u) $(pwd); exit 7']);
    assert.equal(ex.code, 7);
    assert.equal(ex.stdout, '42 0 /\n');
    const piped = await t.nubis(['ctr', 'exec', '-i', 'ticker', 'cat'], { input: 'through stdin\n' });
    assert.equal(piped.stdout, 'through stdin\n');
    const asUser = await t.nubis(['ctr', 'exec', '-u', '1000:1000', 'ticker', 'id', '-u']);
    assert.equal(asUser.stdout.trim(), '1000');

    const doc = await inspect(t, id.slice(0, 8));
    assert.equal(doc.Id, id);
    assert.equal(doc.State.Status, 'running');
    assert.equal(doc.State.Running, true);
    assert.ok((doc.State.Pid as number) > 0);
    assert.equal(doc.HostConfig.Memory, 64 * 1024 * 1024);
    assert.equal(doc.HostConfig.NanoCpus, 500_000_000);
    assert.equal(doc.HostConfig.PidsLimit, 50);
    assert.ok(existsSync(doc.LogPath));

    const stats = await t.ctr('stats', '--no-stream', 'ticker');
    assert.match(stats, /^CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE \/ LIMIT\s+MEM %\s+PIDS$/m);
    assert.match(stats, new RegExp(`^${id.slice(0, 12)}\\s+ticker\\s+\\d+\\.\\d\\d%\\s+\\S+ / 64\\.00MiB\\s+\\S+%\\s+[1-9]\\d*$`, 'm'));

    await t.ctr('pause', 'ticker');
    assert.equal((await inspect(t, 'ticker')).State.Status, 'paused');
    assert.match((await t.ctr('ps')), /Up .*\(Paused\)/);
    const again = await t.nubis(['ctr', 'pause', 'ticker']);
    assert.equal(again.code, 125);
    assert.equal(again.stderr, 'nubis: container ticker is already paused\n');
    const execPaused = await t.nubis(['ctr', 'exec', 'ticker', 'true']);
    assert.equal(execPaused.stderr, 'nubis: container ticker is paused: unpause it first\n');
    await t.ctr('unpause', 'ticker');
    const notPaused = await t.nubis(['ctr', 'unpause', 'ticker']);
    assert.equal(notPaused.stderr, 'nubis: container ticker is not paused\n');

    const rmRunning = await t.nubis(['ctr', 'rm', 'ticker']);
    assert.equal(rmRunning.code, 125);
    assert.equal(rmRunning.stderr, 'nubis: container ticker is running: stop it first or use -f\n');

    await t.ctr('stop', 'ticker');
    const stopped = await inspect(t, 'ticker');
    assert.equal(stopped.State.Status, 'exited');
    assert.equal(stopped.State.ExitCode, 0, 'the TERM trap ran');
    assert.ok((await t.ctr('logs', 'ticker')).includes('bye'));

    for (const op of ['stop', 'kill']) {
      const r = await t.nubis(['ctr', op, 'ticker']);
      assert.equal(r.code, 125);
      assert.equal(r.stderr, 'nubis: container ticker is not running\n');
    }
    const execExited = await t.nubis(['ctr', 'exec', 'ticker', 'true']);
    assert.equal(execExited.stderr, 'nubis: container ticker is not running\n');
    await t.ctr('rm', 'ticker');
  });

  it('kill sends the given signal; stop escalates to SIGKILL after the grace period', async () => {
    await t.ctr('run', '-d', '--name', 'k1', 'busybox', 'sh', '-c', 'trap "exit 42" USR1; while true; do sleep 0.1; done');
    await t.ctr('kill', '-s', 'USR1', 'k1');
    await eventually(async () => (await inspect(t, 'k1')).State.Status === 'exited', 10_000, 'k1 to exit');
    assert.equal((await inspect(t, 'k1')).State.ExitCode, 42);

    // busybox sh as pid 1 ignores SIGTERM without a trap: only the SIGKILL ends it.
    await t.ctr('run', '-d', '--name', 'k2', 'busybox', 'sleep', '1000');
    await t.ctr('stop', '-t', '1', 'k2');
    assert.equal((await inspect(t, 'k2')).State.ExitCode, 137);
    await t.ctr('rm', 'k1', 'k2');
  });

  it('logs -f follows until the container exits', async () => {
    await t.ctr('run', '-d', '--name', 'f1', 'busybox', 'sh', '-c', 'for i in 1 2 3; do echo line $i; sleep 0.2; done');
    const r = await t.nubis(['ctr', 'logs', '-f', 'f1'], { timeoutMs: 20_000 });
    assert.equal(r.code, 0);
    assert.equal(r.stdout, 'line 1\nline 2\nline 3\n');
    await t.ctr('rm', 'f1');
  });

  it('rm -f removes a running container, and a read-only root cannot be written', async () => {
    const ro = await t.nubis(['ctr', 'run', '--rm', '--read-only', 'busybox', 'touch', '/x']);
    assert.notEqual(ro.code, 0);
    assert.match(ro.stderr, /Read-only file system/);
    await t.ctr('run', '-d', '--name', 'doomed', 'busybox', 'sleep', '1000');
    await t.ctr('rm', '-f', 'doomed');
    assert.equal((await t.ctr('ps', '-aq')).trim(), '');
  });
});
