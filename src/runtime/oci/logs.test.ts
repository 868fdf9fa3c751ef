import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DetachFilter } from './attach.js';
import { formatTimestamp, parseLogLine, parseSince } from './logs.js';
import { guard } from './state-machine.js';

describe('k8s-file logs', () => {
  it('parses full and partial lines and keeps spaces in the text', () => {
    const e = parseLogLine('2024-01-01T00:00:00.123456789+00:00 stderr P  two  spaces');
    assert.equal(e?.stream, 'stderr');
    assert.equal(e?.partial, true);
    assert.equal(e?.text, ' two  spaces');
    assert.equal(parseLogLine('garbage'), undefined);
    assert.equal(parseLogLine('2024-01-01T00:00:00Z stdout F')?.text, '');
    assert.equal(parseLogLine('2024-01-01T00:00:00Z stdout P 10%\r20%')?.text, '10%\r20%', 'a carriage return (a progress bar) stays in the text');
  });

  it('formats timestamps like docker and parses --since', () => {
    assert.equal(formatTimestamp('2024-01-01T00:00:00.1234+00:00'), '2024-01-01T00:00:00.123400000Z');
    const now = Date.parse('2024-01-01T01:00:00Z');
    assert.equal(parseSince('10m', now).toISOString(), '2024-01-01T00:50:00.000Z');
    assert.equal(parseSince('1h30s', now).toISOString(), '2023-12-31T23:59:30.000Z');
    assert.equal(parseSince('2024-01-01T00:00:00Z').toISOString(), '2024-01-01T00:00:00.000Z');
    assert.throws(() => parseSince('yesterday-ish'), /invalid --since/);
  });
});

describe('detach keys', () => {
  it('holds back a started sequence and detaches on the full one', () => {
    const f = new DetachFilter(Uint8Array.from([0x10, 0x11]));
    assert.deepEqual(f.push(Buffer.from('ab\x10')), { forward: Buffer.from('ab'), detach: false });
    assert.deepEqual(f.push(Buffer.from('c')), { forward: Buffer.from('\x10c'), detach: false });
    assert.deepEqual(f.push(Buffer.from('\x10\x11rest')), { forward: Buffer.from(''), detach: true });
  });
});

describe('lifecycle guards', () => {
  it('says what to do in the wrong state', () => {
    assert.throws(() => guard('stop', 'exited', 'c1'), /^NubisError\(Conflict\).*|container c1 is not running/);
    assert.throws(() => guard('remove', 'running', 'c1'), /container c1 is running: stop it first or use -f/);
    assert.throws(() => guard('pause', 'paused', 'c1'), /already paused/);
    assert.throws(() => guard('exec', 'paused', 'c1'), /unpause it first/);
    assert.doesNotThrow(() => guard('remove', 'exited', 'c1'));
    assert.doesNotThrow(() => guard('kill', 'paused', 'c1'));
  });
});
