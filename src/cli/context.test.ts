import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatTable, humanDuration, humanSize } from './context.js';

test('formatTable aligns columns under their headers', () => {
  const out = formatTable(['ID', 'NAME'], [['abc', 'first'], ['a', 'second-name']]);
  assert.equal(out, 'ID    NAME\nabc   first\na     second-name\n');
});

test('humanSize uses decimal units like docker', () => {
  assert.equal(humanSize(999), '999B');
  assert.equal(humanSize(1536), '1.54kB');
  assert.equal(humanSize(4_200_000), '4.20MB');
  assert.equal(humanSize(123_000_000), '123.0MB');
});

test('humanDuration reads like docker', () => {
  assert.equal(humanDuration(400), 'Less than a second');
  assert.equal(humanDuration(3000), '3 seconds');
  assert.equal(humanDuration(65_000), 'About a minute');
  assert.equal(humanDuration(3 * 3600_000), '3 hours');
});

test('humanSize in binary units reads like docker stats', () => {
  assert.equal(humanSize(512, true), '512B');
  assert.equal(humanSize(1536, true), '1.50KiB');
  assert.equal(humanSize(64 * 1024 * 1024, true), '64.00MiB');
});
