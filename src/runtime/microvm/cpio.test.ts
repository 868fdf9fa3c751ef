import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { isNubisError } from '../../lib/errors.js';
import { withParents, writeCpio, type CpioEntry } from './cpio.js';

/** Reads a newc archive back: name, mode, size and data of each entry. */
function readCpio(buf: Buffer): { name: string; mode: number; data: Buffer; rdev: [number, number] }[] {
  const out = [];
  let off = 0;
  for (;;) {
    assert.equal(buf.toString('ascii', off, off + 6), '070701', `magic at ${off}`);
    const field = (i: number) => Number.parseInt(buf.toString('ascii', off + 6 + i * 8, off + 14 + i * 8), 16);
    const nameSize = field(11);
    const size = field(6);
    const name = buf.toString('utf8', off + 110, off + 110 + nameSize - 1);
    const dataAt = off + 110 + nameSize + ((4 - ((110 + nameSize) % 4)) % 4);
    if (name === 'TRAILER!!!') return out;
    out.push({ name, mode: field(1), data: buf.subarray(dataAt, dataAt + size), rdev: [field(9), field(10)] as [number, number] });
    off = dataAt + size + ((4 - (size % 4)) % 4);
  }
}

describe('cpio (newc)', () => {
  const entries: CpioEntry[] = [
    { type: 'file', path: 'bin/busybox', data: Buffer.from('abc'), mode: 0o755 },
    { type: 'symlink', path: 'bin/sh', target: '/bin/busybox' },
    { type: 'char', path: 'dev/console', major: 5, minor: 1 },
    { type: 'dir', path: 'bin', mode: 0o700 },
    { type: 'file', path: 'init', data: Buffer.from('#!/bin/sh\n') },
  ];

  it('puts directories first, pads to 4 bytes and ends with the trailer; the same input gives the same bytes', () => {
    const archive = writeCpio(withParents(entries));
    const back = readCpio(archive);
    assert.deepEqual(back.map((e) => e.name), ['bin', 'bin/busybox', 'bin/sh', 'dev', 'dev/console', 'init']);
    assert.equal(back[0]!.mode, 0o040700, 'the listed mode of bin is kept when it moves up');
    assert.equal(back[1]!.mode, 0o100755);
    assert.equal(back[1]!.data.toString(), 'abc');
    assert.equal(back[2]!.mode, 0o120777);
    assert.equal(back[2]!.data.toString(), '/bin/busybox');
    assert.deepEqual(back[4]!.rdev, [5, 1]);
    assert.equal(archive.length % 4, 0);
    assert.deepEqual(writeCpio(withParents(entries)), archive);
  });

  it('is read by the system cpio when it is installed', (t) => {
    const r = spawnSync('cpio', ['-it', '--quiet'], { input: writeCpio(withParents(entries)) });
    if (r.error) return t.skip('no cpio tool');
    assert.equal(r.status, 0, r.stderr.toString());
    assert.deepEqual(r.stdout.toString().trim().split('\n'), ['bin', 'bin/busybox', 'bin/sh', 'dev', 'dev/console', 'init']);
  });

  it('refuses absolute, dotted and repeated paths', () => {
    for (const p of ['/etc', 'a/../b', 'a//b', './a']) {
      assert.throws(() => writeCpio([{ type: 'dir', path: p }]), (e: unknown) => isNubisError(e, 'Invalid'), p);
    }
    assert.throws(() => writeCpio([{ type: 'dir', path: 'a' }, { type: 'dir', path: 'a' }]), /twice/);
  });
});
