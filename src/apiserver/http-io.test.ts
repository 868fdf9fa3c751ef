import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseBody } from './http-io.js';

test('lone surrogates in a body become U+FFFD, as Go decodes them; pairs stay', async () => {
  for (const type of ['application/json', 'application/apply-patch+yaml']) {
    const body = Buffer.from(JSON.stringify({ 'k\ud800': ['a\ud800b', { n: '\udfffc' }], emoji: '\ud83d\ude00' }));
    assert.deepEqual(await parseBody(body, type), { 'k\ufffd': ['a\ufffdb', { n: '\ufffdc' }], emoji: '\ud83d\ude00' }, type);
  }
  const yaml = await parseBody(Buffer.from('name: "a\\ud800"\n'), 'application/yaml');
  assert.deepEqual(yaml, { name: 'a\ufffd' });
  const plain = { name: 'plain', n: [1, null, true] };
  assert.deepEqual(await parseBody(Buffer.from(JSON.stringify(plain)), 'application/json'), plain);
});
