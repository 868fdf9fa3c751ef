import assert from 'node:assert/strict';
import { describe, it, test } from 'node:test';
import { Command } from 'commander';
import { closeWithin, clusterNetwork, commandArgv, controlPlaneTiming, DEFAULT_CONTROL_PLANE_TIMING, evictionBoundMs, parseDuration, withControlPlaneFlags } from './process-flags.js';
import { isNubisError } from '../lib/errors.js';

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

test('the address plan: defaults, and clear errors for overlapping or malformed ranges', () => {
  assert.deepEqual(clusterNetwork({}), { clusterCidr: '10.42.0.0/16', serviceCidr: '10.43.0.0/16', nodePortRange: [30000, 32767] });
  assert.deepEqual(clusterNetwork({ clusterCidr: '172.20.0.0/14', serviceCidr: '172.24.0.0/20', serviceNodePortRange: '31000-31999' }).nodePortRange, [31000, 31999]);
  const refused = (o: Record<string, string>, re: RegExp) => assert.throws(() => clusterNetwork(o), (err: unknown) => isNubisError(err, 'Invalid') && re.test((err as Error).message));
  refused({ clusterCidr: '10.42.0.0/16', serviceCidr: '10.42.128.0/20' }, /--cluster-cidr 10\.42\.0\.0\/16 overlaps --service-cidr 10\.42\.128\.0\/20/);
  refused({ clusterCidr: '10.42.0.0/28' }, /too small: nodes get a \/24 each/);
  refused({ serviceCidr: 'ten' }, /ten/);
  refused({ serviceCidr: '10.96.0.0/29' }, /too small: at least a \/28/);
  refused({ serviceNodePortRange: '32767-30000' }, /invalid --service-node-port-range "32767-30000"/);
});

test('closeWithin: whether a shutdown finished within its grace', async () => {
  assert.equal(await closeWithin(() => new Promise((r) => setTimeout(r, 10)), 500), true);
  const started = Date.now();
  assert.equal(await closeWithin(() => new Promise(() => undefined), 100), false);
  assert.ok(Date.now() - started < 400, 'gave up at the grace');
});
