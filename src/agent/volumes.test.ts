import assert from 'node:assert/strict';
import { mkdtempSync, promises as fs, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { isNubisError } from '../lib/errors.js';
import { checkHostPath, checkSubPaths, projectKeys, writeProjection } from './volumes.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'nubis-volumes-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const data = new Map([
  ['app.conf', Buffer.from('port=80\n')],
  ['key', Buffer.from('v')],
]);

test('all keys with the default mode, or only the items with their own paths and modes', () => {
  assert.deepEqual(
    projectKeys(data, undefined, 0o644, 'ConfigMap a/b').map((f) => [f.path, f.mode]),
    [['app.conf', 0o644], ['key', 0o644]],
  );
  const items = projectKeys(data, [{ key: 'app.conf', path: 'etc/app/app.conf', mode: 0o600 }], 0o644, 'ConfigMap a/b');
  assert.deepEqual(items.map((f) => [f.path, f.mode, f.data.toString()]), [['etc/app/app.conf', 0o600, 'port=80\n']]);
  assert.throws(() => projectKeys(data, [{ key: 'nope', path: 'x' }], 0o644, 'ConfigMap a/b'), /ConfigMap a\/b has no key "nope"/);
  assert.deepEqual(projectKeys(data, [{ key: 'nope', path: 'x' }], 0o644, 'ConfigMap a/b', true), []);
  assert.throws(() => projectKeys(data, [{ key: 'key', path: '../escape' }], 0o644, 'x'), /must be relative/);
  assert.throws(() => projectKeys(data, [{ key: 'key', path: '/abs' }], 0o644, 'x'), /must be relative/);
});

test('a projection is published through ..data and replaced atomically; unchanged content is not rewritten', async () => {
  const dir = path.join(tmp, 'cm');
  assert.equal(await writeProjection(dir, projectKeys(data, undefined, 0o640, 'x')), true);
  assert.equal(readFileSync(path.join(dir, 'app.conf'), 'utf8'), 'port=80\n');
  assert.equal(readlinkSync(path.join(dir, 'app.conf')), '..data/app.conf');
  assert.equal(statSync(path.join(dir, 'key')).mode & 0o777, 0o640);
  const first = readlinkSync(path.join(dir, '..data'));
  assert.equal(await writeProjection(dir, projectKeys(data, undefined, 0o640, 'x')), false, 'same content: nothing to do');

  const next = new Map([['app.conf', Buffer.from('port=81\n')], ['sub', Buffer.from('x')]]);
  assert.equal(await writeProjection(dir, projectKeys(next, [{ key: 'app.conf', path: 'app.conf' }, { key: 'sub', path: 'd/e/sub' }], 0o644, 'x')), true);
  assert.notEqual(readlinkSync(path.join(dir, '..data')), first);
  assert.equal(readFileSync(path.join(dir, 'app.conf'), 'utf8'), 'port=81\n');
  assert.equal(readFileSync(path.join(dir, 'd/e/sub'), 'utf8'), 'x');
  const entries = (await fs.readdir(dir)).sort();
  assert.equal(entries.length, 4, `old data dir and the stale "key" link are gone: ${entries.join(' ')}`);
  assert.ok(!entries.includes('key'));
});

test('hostPath types: *OrCreate make the path, others check what is there', async () => {
  const d = path.join(tmp, 'made-dir');
  await checkHostPath(d, 'DirectoryOrCreate');
  assert.ok(statSync(d).isDirectory());
  const f = path.join(tmp, 'made-file');
  await checkHostPath(f, 'FileOrCreate');
  assert.ok(statSync(f).isFile());
  await checkHostPath(d, 'Directory');
  await checkHostPath(f, 'File');
  await checkHostPath('/dev/null', 'CharDevice');
  await checkHostPath(path.join(tmp, 'absent'), '');
  const invalid = (re: RegExp) => (err: unknown) => isNubisError(err, 'Invalid') && re.test((err as Error).message);
  await assert.rejects(checkHostPath(f, 'Directory'), invalid(/is not a Directory/));
  await assert.rejects(checkHostPath(path.join(tmp, 'absent'), 'File'), invalid(/does not exist/));
  await assert.rejects(checkHostPath(d, 'Fancy'), invalid(/unknown hostPath type/));
  await assert.rejects(checkHostPath('rel/path', ''), invalid(/must be absolute/));
});

test('a subPath that a symlink leads out of its volume is refused; one inside is fine', async () => {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'nubis-subpath-'));
  try {
    const vol = path.join(root, 'vol');
    await fs.mkdir(path.join(vol, 'inside'), { recursive: true });
    await fs.symlink('/', path.join(vol, 'escape'));
    await fs.symlink('inside', path.join(vol, 'ok'));
    const volumes = new Map([['data', { hostPath: vol, readOnly: false }]]);
    await assert.rejects(checkSubPaths([{ name: 'data', subPath: 'escape' }], volumes), /subPath "escape" of volume "data" leads out of the volume/);
    await checkSubPaths([{ name: 'data', subPath: 'ok' }, { name: 'data', subPath: 'inside' }, { name: 'data', subPath: 'not-yet' }], volumes);
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
});
