import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pathSegmentName } from './validation.js';

test('path-segment names are what a URL and a store key can hold', () => {
  assert.deepEqual(pathSegmentName('system:controller:x'), []);
  assert.deepEqual(pathSegmentName('..'), ["may not be '..'"]);
  assert.deepEqual(pathSegmentName('a/b'), ["may not contain '/' or '%'"]);
  assert.deepEqual(pathSegmentName('a\0b'), ['may not contain a NUL character']);
  assert.deepEqual(pathSegmentName('x'.repeat(254)), ['must be no more than 253 characters']);
  assert.deepEqual(pathSegmentName('x'.repeat(253)), []);
});
