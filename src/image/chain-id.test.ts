import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { isNubisError } from '../lib/errors.js';
import { chainIds } from './chain-id.js';

const d = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;

test('chain ID of the first layer is its diffID, later ones hash the previous chain ID with the diffID', () => {
  const [a, b, c] = [d('a'), d('b'), d('c')];
  const ids = chainIds([a, b, c]);
  const second = d(`${a} ${b}`);
  assert.deepEqual(ids, [a, second, d(`${second} ${c}`)]);
});

test('a known value, and no layers give no chain IDs', () => {
  const empty = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
  assert.equal(chainIds([empty, empty])[1], 'sha256:' + createHash('sha256').update(`${empty} ${empty}`).digest('hex'));
  assert.deepEqual(chainIds([]), []);
});

test('a malformed diffID is rejected as Invalid', () => {
  assert.throws(() => chainIds(['sha256:xyz']), (e) => isNubisError(e, 'Invalid'));
  assert.throws(() => chainIds(['md5:' + '0'.repeat(64)]), (e) => isNubisError(e, 'Invalid'));
});
