import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { FakeHost } from '../../host/fake-host.js';
import { PodSandboxes } from './pod-sandboxes.js';
import { UserNamespaceRanges, USERNS_RANGE_BASE } from './userns-ranges.js';

let dir: string;

before(async () => {
  dir = await fs.mkdtemp(path.join(tmpdir(), 'nubis-sandbox-'));
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

test('a sandbox with its own user namespace: a range, the script that maps and pins, and the range back on removal', async () => {
  const host = new FakeHost();
  const claims = path.join(dir, 'userns');
  const sandboxes = new PodSandboxes(host, path.join(dir, 'sandboxes'), new UserNamespaceRanges(claims, (uid) => path.join(dir, 'sandboxes', uid)));
  const paths = await sandboxes.create('p1', { userNamespace: true });
  const nsDir = path.join(dir, 'sandboxes', 'p1');
  assert.deepEqual(paths, { network: path.join(nsDir, 'net'), ipc: path.join(nsDir, 'ipc'), uts: path.join(nsDir, 'uts'), user: path.join(nsDir, 'user') });
  const run = host.calls.find((c) => c.op === 'run');
  assert.ok(run && run.op === 'run');
  assert.equal(run.cmd, 'sh');
  assert.deepEqual(run.args.slice(2), ['sh', nsDir, String(USERNS_RANGE_BASE), '65536']);
  assert.match(run.args[1]!, /unshare --user --net --ipc --uts/);
  assert.match(run.args[1]!, /\/proc\/\$p\/uid_map/);
  assert.deepEqual(await sandboxes.userNamespace('p1'), { path: path.join(nsDir, 'user'), mapping: { hostId: USERNS_RANGE_BASE, size: 65536 } });
  assert.deepEqual(await fs.readdir(claims), ['0']);
  await sandboxes.remove('p1');
  assert.deepEqual(await fs.readdir(claims), []);
  assert.equal(await sandboxes.userNamespace('p1'), undefined);

  host.responders.push((cmd) => (cmd === 'sh' ? { code: 1, signal: null, stdout: '', stderr: 'unshare: nope' } : undefined));
  await assert.rejects(sandboxes.create('p2', { userNamespace: true }), /cannot make the pod's namespaces: unshare: nope/);
  assert.deepEqual(await fs.readdir(claims), [], 'a failed sandbox gives its range back');
  await assert.rejects(new PodSandboxes(host, path.join(dir, 'sandboxes')).create('p3', { userNamespace: true }), /no user namespace ranges/);
});

test('a sandbox in the host user namespace is one unshare, with no user namespace', async () => {
  const host = new FakeHost();
  const sandboxes = new PodSandboxes(host, path.join(dir, 'sandboxes'));
  const paths = await sandboxes.create('p4');
  assert.equal(paths.user, undefined);
  const run = host.calls.find((c) => c.op === 'run');
  assert.equal(run?.op === 'run' && run.cmd, 'unshare');
  assert.equal(await sandboxes.userNamespace('p4'), undefined);
  await sandboxes.remove('p4');
});
