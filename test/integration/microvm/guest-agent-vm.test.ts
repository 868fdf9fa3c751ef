/**
 * The guest agent where it belongs: PID 1 of a micro-VM (TCG, the Debian kernel, a busybox initramfs whose
 * init loads the modules, mounts the shared directory over 9p and execs the agent on its virtio-serial
 * port). Covers what the host cannot show: the guest's own kernel, the clock set from the hello, cgroup v2
 * limits (memory, CPU, pids), an OOM kill reported as oomKilled, stats, and shutdown powering the VM off.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RealHost } from '../../../src/host/real-host.js';
import { connectUnix, GuestClient } from '../../../src/runtime/microvm/guest-client.js';
import { guestInitScript } from '../../../src/runtime/microvm/guest-init.js';
import { findGuestKernel } from '../../../src/runtime/microvm/guest-kernel.js';
import { buildInitramfs } from '../../../src/runtime/microvm/initramfs.js';
import { hostTscKhz, kernelCmdline } from '../../../src/runtime/microvm/kernel-cmdline.js';
import { GUEST_MODULES } from '../../../src/runtime/microvm/kernel-modules.js';
import { killMicrovm, launchMicrovm, removeMicrovmDir, type MicrovmProcesses } from '../../../src/runtime/microvm/microvm-process.js';
import { waitGone } from '../../../src/runtime/microvm/processes.js';
import { AGENT_PORT, QEMU_BINARY } from '../../../src/runtime/microvm/qemu-command.js';
import type { ExitEvent } from '../../../src/runtime/microvm/guest-protocol.js';
import { readLog } from '../../../src/runtime/oci/logs.js';
import { buildGuestAgent, eventually, hasCommand } from './microvm-host.js';

const ENV = ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'];

describe('guest agent in a micro-VM', { timeout: 300_000 }, () => {
  const host = new RealHost();
  let work: string;
  let shared: string;
  let vmDir: string;
  let vm: MicrovmProcesses | undefined;
  let client: GuestClient;
  let kernelVersion: string;
  const exits = new Map<string, ExitEvent>();

  const files = (id: string) => ({
    logPath: `/shared/${id}.log`,
    exitPath: `/shared/${id}.exit`,
    oomPath: `/shared/${id}.oom`,
  });
  const hostFile = (id: string, ext: string) => path.join(shared, `${id}.${ext}`);
  const exitOf = (id: string) => eventually(() => exits.get(id), 60_000, `container ${id} to exit`);

  async function logText(id: string): Promise<string> {
    const lines: string[] = [];
    for await (const e of readLog(hostFile(id, 'log'))) lines.push(e.text);
    return lines.join('\n');
  }

  async function run(id: string, argv: string[], extra: Record<string, unknown> = {}): Promise<void> {
    await client.create({ id, rootfs: '/shared/rootfs', argv, env: ENV, ...files(id), ...extra });
    await client.start(id);
  }

  before(async () => {
    if (!hasCommand(QEMU_BINARY)) throw new Error(`${QEMU_BINARY} is missing: scripts/install.sh --test installs qemu-system-x86`);
    if (!existsSync('/boot')) throw new Error('no kernel in /boot for guests: scripts/install.sh --test installs linux-image-amd64');
    work = mkdtempSync(path.join(os.tmpdir(), 'nubis-guest-vm-'));
    shared = path.join(work, 'shared');
    const rootfs = path.join(shared, 'rootfs');
    for (const d of ['bin', 'etc', 'tmp', 'proc', 'sys', 'dev']) mkdirSync(path.join(rootfs, d), { recursive: true });
    copyFileSync('/bin/busybox', path.join(rootfs, 'bin/busybox'));
    for (const a of execFileSync('/bin/busybox', ['--list-full'], { encoding: 'utf8' }).split('\n').filter(Boolean)) {
      const p = path.join(rootfs, a);
      mkdirSync(path.dirname(p), { recursive: true });
      if (!existsSync(p)) symlinkSync('/bin/busybox', p);
    }
    writeFileSync(path.join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/:/bin/sh\n');

    const agent = path.join(work, 'nubis-guest-agent');
    buildGuestAgent(agent);

    const cacheDir = path.join(work, 'cache');
    const kernel = await findGuestKernel({ cacheDir, host });
    kernelVersion = kernel.version;
    const init = guestInitScript({
      share: { fs: '9p', tag: 'shared', mountPoint: '/shared' },
      body: `d=$(port_dev ${AGENT_PORT}) || poweroff -f\nexec /sbin/nubis-guest-agent --channel "$d"`,
    });
    const initrd = await buildInitramfs(
      {
        modulesDir: kernel.modulesDir,
        modules: [...GUEST_MODULES.transport, ...GUEST_MODULES.channel, ...GUEST_MODULES['9p']],
        init,
        files: [{ path: '/sbin/nubis-guest-agent', source: agent, mode: 0o755 }],
      },
      { cacheDir, host },
    );
    vmDir = path.join(work, 'vm');
    // TCG: this host's /dev/kvm cannot run a stock kernel (accel-probe.ts decides that for real VMs).
    vm = await launchMicrovm(host, vmDir, {
      accel: 'tcg',
      memoryMiB: 256,
      cpus: 1,
      kernel: kernel.vmlinux,
      initrd: initrd.path,
      cmdline: kernelCmdline({ console: 'ttyS0', tscKhz: await hostTscKhz() }),
      share: { kind: '9p', tag: 'shared', path: shared },
    });
    client = await GuestClient.open({ connect: connectUnix(vm.paths.agentSocket), heartbeatIntervalMs: 0, requestTimeoutMs: 60_000 });
    client.on('exit', (e: ExitEvent) => exits.set(e.id, e));
  });

  after(async () => {
    client?.close();
    if (vmDir) {
      if (process.env.NUBIS_TEST_KEEP_CONSOLE) console.log(readFileSync(path.join(vmDir, 'console.log'), 'utf8'));
      await killMicrovm(vmDir);
      await removeMicrovmDir(vmDir);
    }
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('runs as the guest\'s init with the host\'s clock', () => {
    assert.equal(client.hello!.pid, 1);
    // A fresh VM's clock starts from the (emulated) RTC: after the hello it is the host's.
    assert.ok(Math.abs(client.hello!.timeMs - Date.now()) < 5000, `guest time ${new Date(client.hello!.timeMs).toISOString()}`);
  });

  it('runs a container on the guest\'s own kernel, from a root shared by 9p', async () => {
    await run('uname', ['sh', '-c', 'uname -r; cat /proc/1/cmdline | tr "\\0" " "; ls /proc | grep -c "^[0-9]"']);
    assert.equal((await exitOf('uname')).exitCode, 0);
    const [release, cmdline, count] = (await logText('uname')).split('\n');
    assert.equal(release, kernelVersion);
    assert.notEqual(release, os.release());
    assert.match(cmdline!, /^sh -c uname/);
    assert.ok(Number(count) <= 3, `only its own processes: ${count}`);
    assert.equal(readFileSync(hostFile('uname', 'exit'), 'utf8'), '0');
  });

  it('limits memory: an allocation over memory.max is OOM-killed and reported as oomKilled', async () => {
    await run('oom', ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=96M', 'count=1'], { limits: { memoryBytes: 32 * 1024 * 1024 } });
    const ev = await exitOf('oom');
    assert.equal(ev.exitCode, 137);
    assert.equal(ev.oomKilled, true);
    assert.ok(existsSync(hostFile('oom', 'oom')), 'the oom file is there for the host');
    assert.equal(readFileSync(hostFile('oom', 'exit'), 'utf8'), '137');
    assert.equal((await client.state('oom')).oomKilled, true);
    // the same allocation without a limit succeeds
    await run('no-oom', ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=96M', 'count=1']);
    const ok = await exitOf('no-oom');
    assert.equal(ok.exitCode, 0);
    assert.equal(ok.oomKilled, false);
  });

  it('limits CPU and pids, sees its own cgroup, and reports stats', async () => {
    await run('limited', ['sh', '-c', 'cat /sys/fs/cgroup/cpu.max /sys/fs/cgroup/pids.max; i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; echo spun; exec sleep 600'], {
      limits: { memoryBytes: 64 * 1024 * 1024, cpuMillis: 500, pids: 6 },
    });
    await eventually(async () => (await logText('limited')).includes('spun'), 60_000, 'the busy loop');
    const text = await logText('limited');
    assert.match(text, /^50000 100000$/m, 'cpu.max in the container\'s own cgroup view');
    assert.match(text, /^6$/m);
    const stats = await client.stats('limited');
    const s = stats.containers[0]!;
    assert.equal(s.id, 'limited');
    assert.equal(s.memoryLimitBytes, 64 * 1024 * 1024);
    assert.equal(s.pidsLimit, 6);
    assert.ok(s.cpuUsageNs! > 1_000_000, `cpu used: ${s.cpuUsageNs}`);
    assert.ok(s.memoryBytes! > 0);
    assert.ok(s.pids! >= 1);
    assert.ok(stats.guest.memoryTotalBytes > 200 * 1024 * 1024 && stats.guest.memoryTotalBytes <= 256 * 1024 * 1024);
    // 6 pids: the container's sleep, this shell and 4 of its 8 children
    const forks = await client.exec({ id: 'limited', argv: ['sh', '-c', 'for i in 1 2 3 4 5 6 7 8; do sleep 1 & done; wait'], env: ENV });
    let err = '';
    forks.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    await forks.exitCode;
    assert.match(err, /can't fork|Resource temporarily unavailable/);
    await client.kill('limited', 'SIGKILL');
    assert.equal((await exitOf('limited')).exitCode, 137);
  });

  it('keeps its containers when the host goes away and comes back over the virtio-serial port', async () => {
    await run('last', ['sleep', '600']);
    const { bootId, session } = client.hello!;
    const pid = (await client.state('last')).pid;
    client.close();
    await new Promise((r) => setTimeout(r, 500));
    client = await GuestClient.open({ connect: connectUnix(vm!.paths.agentSocket), heartbeatIntervalMs: 0, requestTimeoutMs: 60_000 });
    client.on('exit', (e: ExitEvent) => exits.set(e.id, e));
    assert.equal(client.hello!.bootId, bootId);
    assert.notEqual(client.hello!.session, session);
    const st = await client.state('last');
    assert.equal(st.status, 'running');
    assert.equal(st.pid, pid);
  });

  it('shuts down and powers the VM off', async () => {
    await client.shutdown(500);
    await waitGone(vm!.qemuPid, vm!.paths.pidFile, { timeoutMs: 30_000 });
    assert.equal(exits.get('last')?.exitCode, 137);
  });
});
