import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { isNubisError } from '../lib/errors.js';
import { ClusterIpAllocator, NodeIpam, NodePortAllocator } from './ipam.js';

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

describe('ClusterIpAllocator', () => {
  it('allocates requested and next free addresses', () => {
    const a = new ClusterIpAllocator('10.43.0.0/16', ['10.43.0.1']);
    assert.equal(a.allocate('10.43.0.10'), '10.43.0.10');
    assert.equal(a.allocate(), '10.43.0.2');
    assert.equal(a.allocate(), '10.43.0.3');
    a.release('10.43.0.2');
    assert.equal(a.allocate(), '10.43.0.4');
    assert.deepEqual(a.allocated(), ['10.43.0.1', '10.43.0.3', '10.43.0.4', '10.43.0.10']);
  });

  it('gives clear errors for out-of-range, taken and exhausted', () => {
    const a = new ClusterIpAllocator('10.43.0.0/30');
    assert.throws(() => a.allocate('10.44.0.1'), isInvalid(/"10\.44\.0\.1": provided IP is not in the valid range\. The range of valid IPs is 10\.43\.0\.0\/30/));
    assert.throws(() => a.allocate('10.43.0.3'), isInvalid(/not in the valid range/));
    assert.throws(() => a.allocate('nope'), isInvalid(/must be a valid IPv4 address/));
    assert.equal(a.allocate(), '10.43.0.1');
    assert.throws(() => a.allocate('10.43.0.1'), isInvalid(/already allocated/));
    assert.equal(a.allocate(), '10.43.0.2');
    assert.throws(() => a.allocate(), isInvalid(/no free ClusterIP in service CIDR 10\.43\.0\.0\/30/));
  });
});

describe('NodePortAllocator', () => {
  it('allocates requested and next free ports with clear errors', () => {
    const a = new NodePortAllocator([30000, 30002], [30001]);
    assert.equal(a.allocate(), 30000);
    assert.throws(() => a.allocate(30001), isInvalid(/^spec\.ports\[0\]\.nodePort: Invalid value: 30001: provided port is already allocated$/));
    assert.throws(() => a.allocate(80, 'spec.ports[1].nodePort'), isInvalid(/spec\.ports\[1\]\.nodePort: Invalid value: 80: provided port is not in the valid range\. The range of valid ports is 30000-30002/));
    assert.equal(a.allocate(), 30002);
    assert.throws(() => a.allocate(), isInvalid(/no free NodePort in the range 30000-30002/));
    a.release(30000);
    assert.deepEqual(a.allocated(), [30001, 30002]);
    assert.throws(() => new NodePortAllocator([32767, 30000]), isInvalid(/invalid NodePort range/));
  });
});
