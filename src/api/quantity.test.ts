import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseQuantity, Quantity, quantityProblem } from './quantity.js';

const canon = (q: unknown) => Quantity.parse(q)?.toString();

test("quantities print in Kubernetes' canonical form", () => {
  const cases: Array<[unknown, string]> = [
    ['1000m', '1'], ['1500m', '1500m'], ['0.1', '100m'], ['.5', '500m'], ['2000', '2k'], ['1500', '1500'], ['1024Mi', '1Gi'], ['1536Mi', '1536Mi'],
    ['512Ki', '512Ki'], ['1e3', '1e3'], ['1.5e3', '1500'], ['0.5n', '1n'], ['0', '0'], ['-1Gi', '-1Gi'], [3, '3'], [0.25, '250m'], ['1G', '1G'],
  ];
  for (const [input, want] of cases) assert.equal(canon(input), want, `${String(input)}`);
  for (const bad of ['1K', 'abc', '', '1.2.3', '1Mii', null, {}, Number.NaN]) assert.equal(Quantity.parse(bad), undefined, String(bad));
});

test('sums are exact and keep the format of the first non-zero operand', () => {
  const sum = (...qs: string[]) => qs.reduce((acc, q) => acc.add(Quantity.parse(q)!), Quantity.ZERO);
  assert.equal(sum('100m', '200m').toString(), '300m'); // 0.1 + 0.2 in floats is not 0.3
  assert.equal(sum('500m', '500m').toString(), '1');
  assert.equal(sum('64Mi', '64Mi').toString(), '128Mi');
  assert.equal(sum('64Mi', '100M').toString(), '167108864'); // binary format, not a whole binary unit
  assert.equal(sum('1G', '1Gi').toString(), '2073741824');
  assert.equal(Quantity.parse('1')!.sub(Quantity.parse('250m')!).toString(), '750m');
  assert.equal(Quantity.parse('1Gi')!.cmp(Quantity.parse('1024Mi')!), 0);
  assert.equal(Quantity.parse('1G')!.cmp(Quantity.parse('1Gi')!), -1);
});

test('value and milliValue round up, as Kubernetes does', () => {
  assert.equal(Quantity.parse('1500m')!.value(), 2n);
  assert.equal(Quantity.parse('0.5m')!.milliValue(), 1n);
  assert.equal(Quantity.parse('2')!.milliValue(), 2000n);
  assert.equal(Quantity.of(3).toString(), '3');
  assert.equal(Quantity.of(2048, 'BinarySI').toString(), '2Ki');
  assert.equal(parseQuantity('1Gi'), 2 ** 30);
});

test('huge and tiny exponents are bounded, not computed', () => {
  const t0 = Date.now();
  assert.equal(Quantity.parse('1e999999999'), undefined);
  assert.equal(Quantity.parse(1e308), undefined);
  assert.equal(Quantity.parse('9'.repeat(400)), undefined);
  assert.equal(Quantity.parse('1e-999999999')!.toString(), '1e-9', 'rounds up to the least unit');
  assert.equal(Quantity.parse('-1e-999999999')!.toString(), '-1e-9');
  assert.equal(Quantity.parse('0e999999999')!.toString(), '0');
  assert.equal(Quantity.parse('1e90')!.toString(), '1e90');
  assert.ok(Date.now() - t0 < 500, `took ${Date.now() - t0} ms`);
  assert.equal(quantityProblem('1e999999999'), 'must be less than 1e100');
  assert.match(quantityProblem('1Qi')!, /quantities must match the regular expression/);
  assert.equal(quantityProblem('1Gi'), undefined);
});

test('the same text is parsed once: callers share the (immutable) result', () => {
  const a = Quantity.parse('1536Mi')!;
  assert.equal(Quantity.parse('1536Mi'), a);
  assert.equal(a.add(Quantity.parse('512Mi')!).toString(), '2Gi');
  assert.equal(Quantity.parse('1536Mi')!.toString(), '1536Mi', 'sums make new quantities');
  assert.equal(Quantity.parse(' 1536Mi')!.toString(), '1536Mi');
});
