import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { isNubisError } from '../lib/errors.js';
import { NodeIpam } from './ipam.js';

const isInvalid = (re: RegExp) => (err: unknown) => isNubisError(err, 'Invalid') && re.test((err as Error).message);

describe('NodeIpam', async () => {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'nubis-ipam-'));
  after(() => fs.rm(root, { recursive: true, force: true }));
  let n = 0;
  const fresh = (range = '10.42.3.0/24') => new NodeIpam(path.join(root, String(n++)), range);

  it('skips network and gateway, is idempotent per owner, persists one file per address', async () => {
    const ipam = fresh();
    assert.equal(await ipam.allocate('pod-a'), '10.42.3.2');
    assert.equal(await ipam.allocate('pod-a'), '10.42.3.2');
    assert.equal(await ipam.allocate('pod-b'), '10.42.3.3');
    assert.equal(await fs.readFile(path.join(ipam.dir, '10.42.3.3'), 'utf8'), 'pod-b\n');
    const again = new NodeIpam(ipam.dir, '10.42.3.0/24');
    assert.deepEqual([...(await again.list())].sort(), [['10.42.3.2', 'pod-a'], ['10.42.3.3', 'pod-b']]);
  });

  it('does not reuse a released address at once, and never the broadcast address', async () => {
    const ipam = fresh('10.42.3.0/29'); // usable .2 .. .6
    const ips = [];
    for (const o of ['a', 'b', 'c', 'd', 'e']) ips.push(await ipam.allocate(o));
    assert.deepEqual(ips, ['10.42.3.2', '10.42.3.3', '10.42.3.4', '10.42.3.5', '10.42.3.6']);
    await assert.rejects(ipam.allocate('f'), isInvalid(/^no free address in 10\.42\.3\.0\/29$/));
    assert.deepEqual(await ipam.release('b'), ['10.42.3.3']);
    assert.deepEqual(await ipam.release('b'), []);
    assert.equal(await ipam.allocate('f'), '10.42.3.3');
  });

  it('goes round the range after a release', async () => {
    const ipam = fresh();
    await ipam.allocate('a');
    await ipam.release('a');
    assert.equal(await ipam.allocate('b'), '10.42.3.3');
  });

  it('never hands one address to two concurrent allocators', async () => {
    const ipam = fresh('10.42.3.0/27');
    const others = [0, 1, 2].map(() => new NodeIpam(ipam.dir, '10.42.3.0/27'));
    const got = await Promise.all(Array.from({ length: 24 }, (_, i) => others[i % 3]!.allocate(`pod-${i}`)));
    assert.equal(new Set(got).size, 24);
  });

  it('gives one owner one address even when asked twice at once', async () => {
    const ipam = fresh();
    const [a, b] = await Promise.all([ipam.allocate('same'), ipam.allocate('same')]);
    assert.equal(a, b);
    assert.equal((await ipam.list()).size, 1);
  });

  it('reclaims addresses of owners no longer alive', async () => {
    const ipam = fresh();
    await ipam.allocate('live');
    await ipam.allocate('dead');
    assert.deepEqual(await ipam.reclaim(['live']), ['10.42.3.3']);
    assert.deepEqual([...(await ipam.list()).values()], ['live']);
  });

  it('refuses bad owners and tiny ranges', async () => {
    await assert.rejects(fresh().allocate('a/b'), isInvalid(/invalid address owner/));
    assert.throws(() => fresh('10.42.3.0/31'), isInvalid(/too small/));
  });
});
