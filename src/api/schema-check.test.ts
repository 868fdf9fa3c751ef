import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { builtinResources } from './registry.js';
import { decodeErrors, dropNulls, dropUnknownFields, isRfc3339, schemaErrors } from './schema-check.js';
import { anything, bool, bytes, int, int32, intOrString, keyedList, list, map, obj, quantity, str, stringMap, time } from './schema.js';

const schema = obj({
  name: str(),
  mode: str(undefined, ['A', 'B']),
  count: int32(),
  big: int(),
  ratio: intOrString(),
  size: quantity(),
  at: time(),
  data: bytes(),
  on: bool(),
  labels: stringMap(),
  items: keyedList(obj({ key: str(), value: int() }, { required: ['key'] }), 'key'),
  free: anything(),
  nested: obj({ deep: list(map(str())) }),
});

const lines = (errors: Array<{ field: string; message: string }>) => errors.map((e) => `${e.field}: ${e.message}`);

describe('decodeErrors', () => {
  it("names values of the wrong JSON type in Kubernetes' schema wording", () => {
    assert.deepEqual(lines(decodeErrors({ name: 5, count: 'x', on: 'true', labels: 'a=b', items: {}, nested: { deep: [{ k: 1 }] } }, schema)), [
      'name: Invalid value: "integer": name in body must be of type string: "integer"',
      'count: Invalid value: "string": count in body must be of type integer: "string"',
      'on: Invalid value: "string": on in body must be of type boolean: "string"',
      'labels: Invalid value: "string": labels in body must be of type object: "string"',
      'items: Invalid value: "object": items in body must be of type array: "object"',
      'nested.deep[0][k]: Invalid value: "integer": nested.deep[0][k] in body must be of type string: "integer"',
    ]);
    assert.equal(decodeErrors({ count: 1.5 }, schema)[0]!.type, 'FieldValueTypeInvalid');
    assert.deepEqual(lines(decodeErrors({ ratio: { a: 1 } }, schema)), ['ratio: Invalid value: "object": ratio in body must be of type integer,string: "object"']);
  });

  it('holds integers to int32 where Kubernetes does, and to what a JSON number keeps exactly elsewhere', () => {
    assert.deepEqual(lines(decodeErrors({ count: 2 ** 31, big: 2 ** 53 + 2, ratio: -(2 ** 31) - 1 }, schema)), [
      'count: Invalid value: 2147483648: must be less than or equal to 2147483647',
      'big: Invalid value: 9007199254740994: must be less than or equal to 9007199254740991',
      'ratio: Invalid value: -2147483649: must be greater than or equal to -2147483648',
    ]);
    assert.deepEqual(decodeErrors({ count: -(2 ** 31), big: 1e15, ratio: '50%' }, schema), []);
    assert.match(lines(decodeErrors({ big: 1e308 }, schema))[0]!, /must be less than or equal to 9007199254740991/);
  });

  it('refuses malformed quantities, times and base64', () => {
    assert.deepEqual(lines(decodeErrors({ size: '1Qi', at: '2024-13-45T99:99:99Z', data: '!!!' }, schema)), [
      "size: Invalid value: \"1Qi\": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
      'at: Invalid value: "2024-13-45T99:99:99Z": at in body must be of type date-time: "2024-13-45T99:99:99Z"',
      'data: Invalid value: "!!!": data in body must be of type byte: "!!!"',
    ]);
    assert.deepEqual(lines(decodeErrors({ size: '1e999999999' }, schema)), ['size: Invalid value: "1e999999999": must be less than 1e100']);
    assert.deepEqual(decodeErrors({ size: 2, at: '2024-02-29T23:59:59.123456Z', data: 'YWRtaW4=' }, schema), []);
  });

  it('takes fields set to null as unset, but not null items, and leaves free-form parts alone', () => {
    assert.deepEqual(decodeErrors({ name: null, items: null, free: { anything: [null, 1, 'x'] } }, schema), []);
    assert.deepEqual(lines(decodeErrors({ items: [null] }, schema)), ['items[0]: Invalid value: "null": items[0] in body must be of type object: "null"']);
  });

  it('says at most 100 errors', () => {
    assert.equal(decodeErrors({ labels: Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${i}`, i])) }, schema).length, 100);
  });
});

describe('schemaErrors', () => {
  it('adds missing required fields and values outside an enum', () => {
    assert.deepEqual(lines(schemaErrors({ mode: 'C', items: [{ value: 1 }] }, schema)), [
      'mode: Unsupported value: "C": supported values: "A", "B"',
      'items[0].key: Required value',
    ]);
    assert.deepEqual(decodeErrors({ mode: 'C', items: [{ value: 1 }] }, schema), [], 'decoding does not judge enums or required fields');
  });
});

describe('dropNulls and dropUnknownFields', () => {
  it('drop what Kubernetes decoding does not keep, in place, below known fields only', () => {
    const v: Record<string, unknown> = { name: null, zz: 1, items: [{ key: 'a', value: null, extra: true }], labels: { a: 'b' }, free: { x: null, y: { z: 1 } } };
    dropNulls(v, schema);
    assert.deepEqual(v, { zz: 1, items: [{ key: 'a', extra: true }], labels: { a: 'b' }, free: { x: null, y: { z: 1 } } });
    dropUnknownFields(v, schema);
    assert.deepEqual(v, { items: [{ key: 'a' }], labels: { a: 'b' }, free: { x: null, y: { z: 1 } } });
  });
});

describe('isRfc3339', () => {
  it('needs a real date and time', () => {
    for (const ok of ['2024-05-01T10:00:00Z', '2024-05-01T10:00:00.000000Z', '2024-05-01T10:00:00+02:00', '2024-02-29T00:00:00Z']) assert.ok(isRfc3339(ok), ok);
    for (const bad of ['', 'yesterday', '2023-02-29T00:00:00Z', '0000-00-00T00:00:00Z', '99999-01-01T00:00:00Z', '2024-05-01 10:00:00', '2024-05-01T24:00:00Z', '2024-05-01T10:00:00+25:00']) assert.ok(!isRfc3339(bad), bad);
  });
});

describe("every kind's validation checks its schema first", () => {
  const deployments = builtinResources().byResource('apps', 'deployments')!;
  const deployment = (spec: Record<string, unknown>) => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'default' }, spec });
  const template = { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } };

  it('answers wrong types alone, before rules that would read them as the right type', () => {
    assert.deepEqual(lines(deployments.validate(deployment({ selector: { matchLabels: { a: 'b' } }, template: 'x' }))), ['spec.template: Invalid value: "string": spec.template in body must be of type object: "string"']);
    assert.deepEqual(lines(deployments.validate(deployment({ selector: { matchExpressions: [{ operator: 'In', values: ['x'] }] }, template }))), ['spec.selector.matchExpressions[0].key: Required value']);
  });

  it('says a value the schema and the kind both refuse once', () => {
    const errors = lines(deployments.validate(deployment({ replicas: 1e12, selector: { matchLabels: { a: 'b' } }, template, strategy: { type: 'Sideways' } })));
    assert.deepEqual(errors, [
      'spec.replicas: Invalid value: 1000000000000: must be less than or equal to 2147483647',
      'spec.strategy.type: Unsupported value: "Sideways": supported values: "Recreate", "RollingUpdate"',
    ]);
  });
});
