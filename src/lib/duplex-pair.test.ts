import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { duplexPair } from './duplex-pair.js';

test('what one side writes the other reads; ending one ends the other', async () => {
  const [a, b] = duplexPair();
  const got: string[] = [];
  b.on('data', (c: Buffer) => got.push(c.toString()));
  a.write('hello ');
  a.end('world');
  await once(b, 'end');
  assert.equal(got.join(''), 'hello world');
  const back = once(a, 'data');
  b.write('and back');
  assert.equal(String((await back)[0]), 'and back');
});

test('destroying one side closes both', async () => {
  const [a, b] = duplexPair();
  const closed = once(b, 'close');
  a.destroy();
  await closed;
  assert.ok(a.destroyed && b.destroyed);
});
