/**
 * Micro-VM boot with real QEMU and the distribution kernel (TCG where KVM cannot boot it): the built
 * initramfs, a busybox shell loop on the agent's virtio-serial port (marker, then line in, answer out),
 * a shared directory over 9p and virtiofs, a clean shutdown that leaves nothing, and kill -9 of QEMU that
 * leaves only the run directory for the caller to remove.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, promises as fs, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RealHost } from '../../../src/host/real-host.js';
import { isNubisError, messageOf } from '../../../src/lib/errors.js';
import { decideAccel, type AccelDecision } from '../../../src/runtime/microvm/accel-probe.js';
import { AgentChannel } from '../../../src/runtime/microvm/agent-channel.js';
import { findGuestKernel, type GuestKernel } from '../../../src/runtime/microvm/guest-kernel.js';
import { guestInitScript, shellLoopBody, type GuestShare } from '../../../src/runtime/microvm/guest-init.js';
import { buildInitramfs } from '../../../src/runtime/microvm/initramfs.js';
import { hostTscKhz, kernelCmdline } from '../../../src/runtime/microvm/kernel-cmdline.js';
import { GUEST_MODULES } from '../../../src/runtime/microvm/kernel-modules.js';
import { launchMicrovm, microvmState, removeMicrovmDir, stopMicrovm, type LaunchShare } from '../../../src/runtime/microvm/microvm-process.js';
import { waitGone } from '../../../src/runtime/microvm/processes.js';
import { AGENT_PORT, QEMU_BINARY } from '../../../src/runtime/microvm/qemu-command.js';

const MARKER = 'NUBIS-TEST-READY';
const host = new RealHost();

/** Processes (any command) whose command line mentions `needle`. */
function processesMentioning(needle: string): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z') continue;
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmdline.includes(needle)) out.push(`${pid}: ${cmdline.slice(0, 160)}`);
    } catch {
      // ended while we looked
    }
  }
  return out;
}

function onPath(bin: string): boolean {
  return (process.env.PATH ?? '').split(':').some((d) => d && existsSync(path.join(d, bin)));
}

describe('micro-VM boot', { timeout: 600_000 }, () => {
  let work: string;
  let kernel: GuestKernel;
  let decision: AccelDecision;
  let shareDir: string;
  let cmdline: string;
  const initrds = new Map<string, string>();

  before(async () => {
    if (!onPath(QEMU_BINARY)) assert.fail(`${QEMU_BINARY} is not installed: run scripts/install.sh --test (Debian's qemu-system-x86)`);
    work = mkdtempSync(path.join(os.tmpdir(), 'nubis-microvm-test-'));
    try {
      kernel = await findGuestKernel({ cacheDir: path.join(work, 'cache'), host });
    } catch (err) {
      if (isNubisError(err, 'Unavailable')) assert.fail(`${messageOf(err)} (scripts/install.sh --test installs it)`);
      throw err;
    }
    decision = await decideAccel({ host, kernel, cacheDir: path.join(work, 'cache') });
    shareDir = path.join(work, 'share');
    await fs.mkdir(shareDir);
    await fs.writeFile(path.join(shareDir, 'greeting.txt'), 'hello from the host\n');
    cmdline = kernelCmdline({ console: 'ttyS0', tscKhz: await hostTscKhz() });
  });

  after(async () => {
    const left = processesMentioning(work);
    await fs.rm(work, { recursive: true, force: true });
    assert.deepEqual(left, [], 'no QEMU or virtiofsd may outlive the tests');
  });

  async function initrdFor(fs9: GuestShare['fs']): Promise<string> {
    const cached = initrds.get(fs9);
    if (cached) return cached;
    const modules = [...GUEST_MODULES.transport, ...GUEST_MODULES.channel, ...GUEST_MODULES[fs9]];
    const init = guestInitScript({ share: { fs: fs9, tag: 'share', mountPoint: '/shared' }, body: shellLoopBody(AGENT_PORT, MARKER) });
    const built = await buildInitramfs({ modulesDir: kernel.modulesDir, modules, init }, { cacheDir: path.join(work, 'cache'), host });
    initrds.set(fs9, built.path);
    return built.path;
  }

  async function boot(name: string, share: LaunchShare) {
    const dir = path.join(work, name);
    const vm = await launchMicrovm(host, dir, {
      accel: decision.accel,
      memoryMiB: 128,
      cpus: 1,
      kernel: kernel.vmlinux,
      initrd: await initrdFor(share.kind),
      cmdline,
      share,
    });
    const channel = await AgentChannel.connect(vm.paths.agentSocket);
    try {
      await channel.readLine({ timeoutMs: 60_000, match: (l) => l === MARKER });
    } catch (err) {
      channel.close();
      const console = await fs.readFile(vm.paths.consoleLog, 'utf8').catch(() => '');
      await stopMicrovm(dir);
      throw new Error(`no marker from the guest (${messageOf(err)}); console: ${console.slice(-800)}`);
    }
    return { dir, vm, channel };
  }

  it('the accelerator is decided once, with a reason, and cached', async () => {
    assert.match(decision.accel, /^(kvm|tcg)$/);
    assert.ok(decision.reason.length > 10, decision.reason);
    const again = await decideAccel({ host, kernel, cacheDir: path.join(work, 'cache') });
    assert.deepEqual(again, decision, 'the second call reads the cached decision');
    const hurried = await decideAccel({ host, kernel, cacheDir: path.join(work, 'probe-timeout'), force: true, timeoutMs: 1 });
    assert.equal(hurried.accel, 'tcg');
    assert.match(hurried.reason, /TCG/);
    assert.deepEqual(processesMentioning(path.join(work, 'probe-timeout')), [], 'the probe leaves no QEMU behind');
  });

  it('9p: marker over the channel, a line in and an answer out, a shared file read, a clean shutdown', async () => {
    const { dir, vm, channel } = await boot('vm-9p', { kind: '9p', tag: 'share', path: shareDir });
    try {
      const echo = await channel.run('echo "got: $((6 * 7))"');
      assert.deepEqual(echo, { code: 0, lines: ['got: 42'] });
      assert.deepEqual((await channel.run('cat /shared/greeting.txt')).lines, ['hello from the host']);
      assert.deepEqual((await channel.run('uname -r')).lines, [kernel.version], 'the guest runs its own kernel');
      assert.equal((await channel.run('exit 3')).code, 3);
      channel.send('poweroff');
      await waitGone(vm.qemuPid, vm.paths.pidFile, { timeoutMs: 30_000 });
    } finally {
      channel.close();
    }
    assert.equal(await microvmState(dir), 'stopped');
    await removeMicrovmDir(dir);
    assert.equal(existsSync(dir), false, 'sockets, pid file and console log are gone');
    assert.deepEqual(processesMentioning(dir), []);
  });

  it('virtiofs: a shared file read; kill -9 of QEMU leaves no process, only the run directory', async () => {
    const { dir, vm, channel } = await boot('vm-virtiofs', { kind: 'virtiofs', tag: 'share', path: shareDir });
    try {
      assert.ok(vm.virtiofsdPid, 'virtiofsd runs beside QEMU');
      assert.deepEqual((await channel.run('cat /shared/greeting.txt')).lines, ['hello from the host']);
      assert.deepEqual((await channel.run('mount | grep -c "on /shared type virtiofs"')).lines, ['1']);
      process.kill(vm.qemuPid, 'SIGKILL');
      await waitGone(vm.qemuPid, vm.paths.pidFile, { timeoutMs: 10_000 });
      await waitGone(vm.virtiofsdPid!, vm.paths.virtiofsdSocket, { timeoutMs: 10_000 });
    } finally {
      channel.close();
    }
    assert.equal(await microvmState(dir), 'stopped');
    assert.deepEqual(processesMentioning(dir), [], 'virtiofsd exits when QEMU goes');
    assert.ok(existsSync(vm.paths.pidFile), 'the run directory stays for the caller');
    await removeMicrovmDir(dir);
    assert.equal(existsSync(dir), false);
  });

  it('stopMicrovm ends a running VM (QMP quit) and removeMicrovmDir refuses while it runs', async () => {
    const { dir, vm, channel } = await boot('vm-stop', { kind: '9p', tag: 'share', path: shareDir, readOnly: true });
    channel.close();
    await assert.rejects(removeMicrovmDir(dir), (err: unknown) => isNubisError(err, 'Conflict'));
    await stopMicrovm(dir);
    assert.equal(await microvmState(dir), 'stopped');
    assert.deepEqual(processesMentioning(vm.paths.pidFile), []);
    await removeMicrovmDir(dir);
  });

  it('a configuration QEMU refuses fails clearly and leaves nothing running', async () => {
    const dir = path.join(work, 'vm-bad');
    await assert.rejects(
      launchMicrovm(host, dir, {
        accel: decision.accel,
        memoryMiB: 128,
        cpus: 1,
        kernel: kernel.vmlinux,
        initrd: await initrdFor('9p'),
        cmdline,
        share: { kind: '9p', tag: 'share', path: path.join(work, 'no-such-dir') },
      }),
      (err: unknown) => isNubisError(err, 'Internal') && /qemu-system-x86_64/.test(messageOf(err)),
    );
    assert.deepEqual(processesMentioning(dir), []);
    await removeMicrovmDir(dir);
  });
});
