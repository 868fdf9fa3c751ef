/**
 * What a container can see and do, on real runc with the spec buildSpec generates: its own PID, UTS and
 * network namespaces, Docker's capability set, no_new_privs, the seccomp allowlist, masked and read-only
 * kernel paths, rlimits, user namespaces.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { detectCgroupMode } from '../../../src/host/cgroups.js';
import { readHostRlimits } from '../../../src/host/rlimits.js';
import { ALL_CAPABILITIES, DEFAULT_CAPABILITIES, USERNS_HOST_ID } from '../../../src/runtime/oci/spec.js';
import { RuncHarness } from './runc-harness.js';

let h: RuncHarness;
before(async () => {
  h = await RuncHarness.create();
});
after(async () => {
  await h?.cleanup();
});

/** The CapEff mask the kernel shows for a set of capability names. */
function capMask(names: readonly string[]): string {
  let mask = 0n;
  for (const n of names) mask |= 1n << BigInt(ALL_CAPABILITIES.indexOf(n as (typeof ALL_CAPABILITIES)[number]));
  return mask.toString(16).padStart(16, '0');
}

/** Runs `script` in a fresh container and returns its output as key=value pairs (one per line). */
async function probe(id: string, script: string, options = {}, edit?: Parameters<RuncHarness['run']>[3]): Promise<Map<string, string>> {
  const out = await h.run(id, ['sh', '-c', script], options, edit);
  await h.delete(id);
  assert.equal(out.code, 0, `probe ${id} failed (${out.code}): ${out.stderr}`);
  const kv = new Map<string, string>();
  for (const line of out.stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) kv.set(line.slice(0, eq), line.slice(eq + 1).trim());
  }
  return kv;
}

const STATUS = (field: string) => `grep '^${field}:' /proc/self/status | cut -f2`;

test('own PID, UTS and network namespaces: pid 1, own hostname, loopback only', async () => {
  const kv = await probe(
    'ns',
    [
      'echo "self=$$"',
      'echo "pids=$(ls /proc | grep -E "^[0-9]+$" | tr "\\n" " ")"',
      'echo "hostname=$(hostname)"',
      'echo "ifaces=$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " " | tr "\\n" ",")"',
      'echo "routes=$(tail -n +2 /proc/net/route | wc -l)"',
    ].join('; '),
    { hostname: 'box-one' },
  );
  assert.equal(kv.get('self'), '1');
  // Only the shell and the few commands of the probe, numbered from 1: the host's processes are invisible.
  const pids = (kv.get('pids') ?? '').split(' ').filter(Boolean).map(Number);
  assert.ok(pids.includes(1) && pids.length <= 5 && Math.max(...pids) < 20, `container sees processes ${kv.get('pids')}`);
  assert.equal(kv.get('hostname'), 'box-one');
  assert.notEqual(hostname(), 'box-one');
  assert.equal(kv.get('ifaces'), 'lo,');
  assert.equal(kv.get('routes'), '0');
});

test("Docker's capability set, no_new_privs, a seccomp filter, NOFILE clamped to the host", async () => {
  const kv = await probe(
    'caps',
    ['CapEff', 'CapPrm', 'CapBnd', 'CapInh', 'CapAmb', 'NoNewPrivs', 'Seccomp'].map((f) => `echo "${f}=$(${STATUS(f)})"`).join('; ') +
      '; echo "nofile=$(ulimit -n)"',
  );
  const expected = capMask(DEFAULT_CAPABILITIES);
  assert.equal(kv.get('CapEff'), expected);
  assert.equal(kv.get('CapPrm'), expected);
  assert.equal(kv.get('CapBnd'), expected);
  assert.equal(kv.get('CapInh'), '0000000000000000');
  assert.equal(kv.get('CapAmb'), '0000000000000000');
  assert.equal(kv.get('NoNewPrivs'), '1');
  assert.equal(kv.get('Seccomp'), '2');
  const hard = readHostRlimits().RLIMIT_NOFILE!.hard;
  assert.equal(Number(kv.get('nofile')), Math.min(1048576, hard));
});

test('a non-root user has no effective capabilities', async () => {
  const kv = await probe('nonroot', `echo "id=$(id -u):$(id -g)"; echo "CapEff=$(${STATUS('CapEff')})"`, { user: 'app' });
  assert.equal(kv.get('id'), '1000:1000');
  assert.equal(kv.get('CapEff'), '0000000000000000');
});

test('cannot mount, cannot write /proc/sys or /sys; masked /proc and /sys paths are empty', async () => {
  const kv = await probe(
    'locked',
    [
      'mount -t tmpfs none /mnt 2>/dev/null; echo "mount=$?"',
      '(echo 1 > /proc/sys/kernel/domainname) 2>/dev/null; echo "procsys=$?"',
      '(echo x > /sys/kernel/uevent_helper) 2>/dev/null; echo "sys=$?"',
      'echo "kcore=$(cat /proc/kcore 2>/dev/null | wc -c)"',
      'echo "keys=$(wc -c < /proc/keys)"',
      'echo "timers=$(wc -c < /proc/timer_list)"',
      'echo "firmware=$(ls /sys/firmware | wc -l)"',
      '(echo c > /proc/sysrq-trigger) 2>/dev/null; echo "sysrq=$?"',
      'echo "hosts-kernel=$(cat /proc/sys/kernel/hostname)"',
    ].join('; '),
  );
  assert.notEqual(kv.get('mount'), '0');
  assert.notEqual(kv.get('procsys'), '0');
  assert.notEqual(kv.get('sys'), '0');
  // Masked: empty inside, though the host's /proc/timer_list, /proc/keys and /sys/firmware are not.
  assert.equal(kv.get('kcore'), '0');
  assert.equal(kv.get('keys'), '0');
  assert.equal(kv.get('timers'), '0');
  assert.equal(kv.get('firmware'), '0');
  assert.notEqual(kv.get('sysrq'), '0');
  // /proc/sys stays readable.
  assert.equal(kv.get('hosts-kernel'), 'locked');
});

test("/sys/fs/cgroup shows the container's own cgroup, read-only", async () => {
  const v2 = detectCgroupMode() === 'v2';
  const limitFile = v2 ? '/sys/fs/cgroup/memory.max' : '/sys/fs/cgroup/memory/memory.limit_in_bytes';
  const kv = await probe(
    'cgmount',
    `echo "limit=$(cat ${limitFile})"; mkdir ${v2 ? '/sys/fs/cgroup/x' : '/sys/fs/cgroup/memory/x'} 2>/dev/null; echo "mkdir=$?"`,
    { resources: { memoryBytes: 48 * 1024 * 1024 } },
  );
  assert.equal(kv.get('limit'), String(48 * 1024 * 1024));
  assert.notEqual(kv.get('mkdir'), '0');
});

test('seccomp refuses what the allowlist leaves out: unshare works without the filter, fails with it', async () => {
  // Creating a user namespace needs no capability, so only the filter can stop it.
  const script = 'unshare -U true 2>/tmp/err; echo "code=$?"; echo "err=$(cat /tmp/err)"';
  const open = await probe('noseccomp', script, {}, (s) => delete s.linux.seccomp);
  assert.equal(open.get('code'), '0', `unshare failed even without seccomp: ${open.get('err')}`);
  const filtered = await probe('seccomp', script);
  assert.notEqual(filtered.get('code'), '0');
  assert.match(filtered.get('err') ?? '', /Operation not permitted/);
});

test('an ordinary dynamic program (this Node.js) works under the seccomp allowlist', async () => {
  // Copy the node binary running this test and its shared libraries into the rootfs.
  const files = [process.execPath, ...(execFileSync('ldd', [process.execPath]).toString().match(/\/\S+/g) ?? [])];
  for (const f of files) {
    await fs.mkdir(path.join(h.rootfs, path.dirname(f)), { recursive: true });
    await fs.copyFile(f, path.join(h.rootfs, f));
    await fs.chmod(path.join(h.rootfs, f), 0o755);
  }
  const js = `
    const fs = require('fs'), http = require('http'), cp = require('child_process'), { Worker } = require('worker_threads');
    fs.writeFileSync('/tmp/a', 'x');
    fs.promises.readFile('/tmp/a', 'utf8').then((t) => console.log('fs=' + t));
    console.log('spawn=' + cp.execFileSync('/bin/echo', ['hi']).toString().trim());
    new Worker('require("worker_threads").parentPort.postMessage(42)', { eval: true }).on('message', (m) => console.log('worker=' + m));
    const s = http.createServer((q, r) => r.end('pong')).listen(0, '127.0.0.1', () => {
      http.get('http://127.0.0.1:' + s.address().port, (r) => r.on('data', (d) => { console.log('http=' + d); s.close(); }));
    });`;
  const out = await h.run('node', [process.execPath, '-e', js]);
  await h.delete('node');
  assert.equal(out.code, 0, out.stderr);
  for (const line of ['fs=x', 'spawn=hi', 'worker=42', 'http=pong']) assert.match(out.stdout, new RegExp(`^${line}$`, 'm'));
});

test('a read-only root refuses writes; a tmpfs mount stays writable', async () => {
  const kv = await probe('rofs', '(touch /ro-test) 2>/dev/null; echo "root=$?"; touch /mnt/ok; echo "tmpfs=$?"', {
    readOnlyRootfs: true,
    mounts: [{ source: '', destination: '/mnt', type: 'tmpfs' }],
  });
  assert.notEqual(kv.get('root'), '0');
  assert.equal(kv.get('tmpfs'), '0');
});

test('a user namespace maps container root to an unprivileged host range', async () => {
  const u = await RuncHarness.create(USERNS_HOST_ID);
  try {
    const id = 'userns';
    const out = await u.run(id, ['sh', '-c', 'echo "uid=$(id -u)"; echo "map=$(cat /proc/self/uid_map | tr -s " ")"; touch /root/w; echo "write=$?"'], {
      userns: true,
      resources: { pidsLimit: 16 },
    });
    await u.delete(id);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /^uid=0$/m);
    assert.match(out.stdout, new RegExp(`^map= 0 ${USERNS_HOST_ID} 65536$`, 'm'));
    assert.match(out.stdout, /^write=0$/m);
  } finally {
    await u.cleanup();
  }
});
