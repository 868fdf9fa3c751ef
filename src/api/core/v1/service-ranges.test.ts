import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isNubisError } from '../../../lib/errors.js';
import { ClusterIpAllocator, NodePortAllocator } from './service-ranges.js';

const isInvalid = (re: RegExp) => (err: unknown) => isNubisError(err, 'Invalid') && re.test((err as Error).message);

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
    assert.equal(a.allocate(), '10.43.0.2');
    assert.throws(() => a.allocate(), isInvalid(/no free ClusterIP in service CIDR 10\.43\.0\.0\/30/));
    assert.equal(a.allocate('10.43.0.1'), '10.43.0.1');
    assert.throws(() => a.allocate('10.43.0.1'), isInvalid(/already allocated/));
  });

  it('keeps the first and tenth addresses for the cluster\'s own Services unless asked for', () => {
    const a = new ClusterIpAllocator('10.43.0.0/28');
    const got = Array.from({ length: 12 }, () => a.allocate());
    assert.ok(!got.includes('10.43.0.1') && !got.includes('10.43.0.10'), got.join(' '));
    assert.throws(() => a.allocate(), isInvalid(/no free ClusterIP/));
    assert.equal(a.allocate('10.43.0.10'), '10.43.0.10');
    assert.equal(a.at(1), '10.43.0.1');
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
