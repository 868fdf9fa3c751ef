import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import { commandArgv, controlPlaneTiming, DEFAULT_CONTROL_PLANE_TIMING, evictionBoundMs, parseDuration, withControlPlaneFlags } from './process-flags.js';

describe('process flags', () => {
  it('by default, pods of a node that stopped renewing its lease are recreated within 30 s', () => {
    assert.ok(evictionBoundMs(DEFAULT_CONTROL_PLANE_TIMING) <= 30_000, `${evictionBoundMs(DEFAULT_CONTROL_PLANE_TIMING)} ms`);
    const parsed = controlPlaneTiming(withControlPlaneFlags(new Command()).parse([], { from: 'user' }).opts());
    assert.deepEqual(parsed, DEFAULT_CONTROL_PLANE_TIMING);
  });

  it('reads durations and the timing flags', () => {
    assert.equal(parseDuration('500ms', 'x'), 500);
    assert.equal(parseDuration('20s', 'x'), 20_000);
    assert.equal(parseDuration('1.5m', 'x'), 90_000);
    assert.equal(parseDuration('30', 'x'), 30_000);
    assert.throws(() => parseDuration('soon', 'grace'), /--grace takes a duration/);
    const t = controlPlaneTiming(withControlPlaneFlags(new Command()).parse(['--node-monitor-grace-period', '4s', '--pod-eviction-timeout', '2s'], { from: 'user' }).opts());
    assert.equal(t.nodeMonitorGracePeriodMs, 4000);
    assert.equal(t.podEvictionTimeoutMs, 2000);
  });

  it('finds the command after global options', () => {
    const cmds = ['up', 'agent'] as const;
    assert.deepEqual(commandArgv(['--data-dir', '/d', 'up', '-d'], cmds), { command: 'up', args: ['--data-dir', '/d', '-d'] });
    assert.deepEqual(commandArgv(['--log-level=debug', 'agent'], cmds), { command: 'agent', args: ['--log-level=debug'] });
    assert.equal(commandArgv(['ctr', 'run', 'busybox', 'agent'], cmds), undefined);
    assert.equal(commandArgv(['get', 'pods'], cmds), undefined);
  });
});
