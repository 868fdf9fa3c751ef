import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { clampRlimit, containerRlimits, parseRlimits, readHostRlimits } from './rlimits.js';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units     
Max cpu time              unlimited            unlimited            seconds   
Max stack size            8388608              unlimited            bytes     
Max processes             96364                96364                processes 
Max open files            1024                 20000                files     
Max nice priority         0                    0                    
Max realtime timeout      unlimited            unlimited            us        
`;

test('parses /proc/self/limits rows, unlimited as Infinity, empty units column included', () => {
  const r = parseRlimits(LIMITS);
  assert.deepEqual(r.RLIMIT_NOFILE, { soft: 1024, hard: 20000 });
  assert.deepEqual(r.RLIMIT_STACK, { soft: 8388608, hard: Infinity });
  assert.deepEqual(r.RLIMIT_CPU, { soft: Infinity, hard: Infinity });
  assert.deepEqual(r.RLIMIT_NICE, { soft: 0, hard: 0 });
  assert.equal(r.RLIMIT_AS, undefined);
});

test('clampRlimit never exceeds the host hard limit and keeps soft <= hard', () => {
  const host = parseRlimits(LIMITS);
  assert.deepEqual(clampRlimit('RLIMIT_NOFILE', { soft: 1048576, hard: 1048576 }, host), { soft: 20000, hard: 20000 });
  assert.deepEqual(clampRlimit('RLIMIT_NOFILE', { soft: 50000, hard: 10000 }, host), { soft: 10000, hard: 10000 });
  assert.deepEqual(clampRlimit('RLIMIT_STACK', { soft: 1, hard: 2 }, host), { soft: 1, hard: 2 });
  assert.deepEqual(clampRlimit('RLIMIT_AS', { soft: 5, hard: 7 }, host), { soft: 5, hard: 7 });
});

test('containerRlimits emits only NOFILE, soft = hard = min(1048576, host hard)', () => {
  assert.deepEqual(containerRlimits(parseRlimits(LIMITS)), [{ type: 'RLIMIT_NOFILE', soft: 20000, hard: 20000 }]);
  const roomy = parseRlimits(LIMITS.replace('1024                 20000', '1024                 unlimited'));
  assert.deepEqual(containerRlimits(roomy), [{ type: 'RLIMIT_NOFILE', soft: 1048576, hard: 1048576 }]);
});

test('readHostRlimits reads a file and this process has an open-files limit', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'nubis-rlimits-'));
  try {
    writeFileSync(path.join(dir, 'limits'), LIMITS);
    assert.equal(readHostRlimits(path.join(dir, 'limits')).RLIMIT_NOFILE?.hard, 20000);
    assert.throws(() => readHostRlimits(path.join(dir, 'missing')), /cannot read host rlimits/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.ok((readHostRlimits().RLIMIT_NOFILE?.hard ?? 0) > 0);
});
