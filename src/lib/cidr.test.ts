import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isNubisError } from '../lib/errors.js';
import {
  allocateSubnet,
  assertNoOverlap,
  contains,
  formatCidr,
  gatewayIp,
  overlaps,
  parseCidr,
  parseIp,
  subnet,
} from './cidr.js';

const isInvalid = (re: RegExp) => (err: unknown) => isNubisError(err, 'Invalid') && re.test((err as Error).message);

describe('cidr', () => {
  it('parses and formats', () => {
    assert.equal(formatCidr(parseCidr('10.42.0.0/16')), '10.42.0.0/16');
    assert.equal(parseIp('255.255.255.255'), 0xffffffff);
    assert.equal(formatCidr(parseCidr('0.0.0.0/0')), '0.0.0.0/0');
  });

  it('refuses bad input with clear Invalid errors', () => {
    assert.throws(() => parseCidr('10.42.0.0'), isInvalid(/expected a\.b\.c\.d\/n/));
    assert.throws(() => parseCidr('10.42.0.0/33'), isInvalid(/prefix length/));
    assert.throws(() => parseCidr('10.300.0.0/16'), isInvalid(/bad address/));
    assert.throws(() => parseCidr('10.42.0.1/16'), isInvalid(/host bits set.*10\.42\.0\.0\/16/));
    assert.throws(() => parseIp('1.2.3'), isInvalid(/invalid IPv4 address "1\.2\.3"/));
  });

  it('contains and overlaps', () => {
    const c = parseCidr('10.42.0.0/16');
    assert.ok(contains(c, '10.42.255.255'));
    assert.ok(!contains(c, '10.43.0.0'));
    assert.ok(overlaps(c, parseCidr('10.42.3.0/24')));
    assert.ok(overlaps(parseCidr('10.0.0.0/8'), c));
    assert.ok(!overlaps(c, parseCidr('10.43.0.0/16')));
  });

  it('names overlapping ranges', () => {
    assertNoOverlap({ 'cluster CIDR': '10.42.0.0/16', 'service CIDR': '10.43.0.0/16' });
    assert.throws(
      () => assertNoOverlap({ 'cluster CIDR': '10.42.0.0/16', 'service CIDR': '10.42.128.0/17' }),
      isInvalid(/cluster CIDR 10\.42\.0\.0\/16 overlaps service CIDR 10\.42\.128\.0\/17/),
    );
  });

  it('splits into node ranges', () => {
    const c = parseCidr('10.42.0.0/16');
    assert.equal(formatCidr(subnet(c, 24, 3)), '10.42.3.0/24');
    assert.equal(formatCidr(subnet(c, 24, 255)), '10.42.255.0/24');
    assert.throws(() => subnet(c, 24, 256), isInvalid(/outside 10\.42\.0\.0\/16/));
    assert.throws(() => subnet(c, 8, 0), isInvalid(/cannot split/));
    assert.equal(gatewayIp(subnet(c, 24, 3)), '10.42.3.1');
  });

  it('allocates the first free node range and reports exhaustion', () => {
    assert.equal(allocateSubnet('10.42.0.0/16', 24, []), '10.42.0.0/24');
    assert.equal(allocateSubnet('10.42.0.0/16', 24, ['10.42.0.0/24', '10.42.2.0/24']), '10.42.1.0/24');
    assert.throws(
      () => allocateSubnet('10.42.0.0/23', 24, ['10.42.0.0/24', '10.42.1.0/24']),
      isInvalid(/no free \/24 node range left in cluster CIDR 10\.42\.0\.0\/23/),
    );
  });
});
