import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { YamlParser, YamlTooSlow } from './yaml-parser.js';

const parser = new YamlParser({ timeoutMs: 2000, threads: 1 });
after(() => parser.stop());

/** A flow-style body of about `bytes`: slow for the yaml library (seconds per MiB). */
const flow = (bytes: number) => {
  let s = '{a: [';
  while (s.length < bytes) s += '[1, {b: c}], ';
  return `${s}]}`;
};

test('small bodies parse inline, large ones on the thread; errors come back as the parser words them', async () => {
  assert.deepEqual(await parser.parse('kind: ConfigMap\ndata: {a: "1"}\n'), { kind: 'ConfigMap', data: { a: '1' } });
  const big = (await parser.parse(flow(20_000))) as { a: unknown[] };
  assert.ok(big.a.length > 1000);
  await assert.rejects(parser.parse(`${'x: 1\n'.repeat(3000)}: [`), /YAML|Implicit|flow|Unexpected|map/i);
  await assert.rejects(parser.parse(`a: 1\n---\nb: 2\n${'#'.repeat(9000)}`), /expected one YAML document, found 2/);
});

test('a body that parses too long is given up; the event loop stays free meanwhile; the next body parses', async () => {
  const quick = new YamlParser({ timeoutMs: 1000, threads: 1 });
  try {
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 5);
    await assert.rejects(quick.parse(flow(1024 * 1024)), (err) => err instanceof YamlTooSlow && /did not parse within 1 s; send JSON/.test(err.message));
    clearInterval(ticker);
    assert.ok(ticks >= 5, `the event loop ran while the body parsed (${ticks} ticks)`);
    assert.deepEqual(await quick.parse(`items: [${'1, '.repeat(3000)}2]`), { items: [...Array(3000).fill(1), 2] });
  } finally {
    await quick.stop();
  }
});
