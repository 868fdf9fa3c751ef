import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { isNubisError } from '../../lib/errors.js';
import { hostTscKhz, kernelCmdline } from './kernel-cmdline.js';
import { microvmArgv, type MicrovmSpec } from './qemu-command.js';

const base: MicrovmSpec = {
  accel: 'tcg',
  memoryMiB: 128,
  cpus: 1,
  kernel: '/cache/vmlinux',
  initrd: '/cache/initramfs.cpio',
  cmdline: 'console=ttyS0 quiet',
  agentSocket: '/run/vm/agent.sock',
  console: { file: '/run/vm/console.log' },
  qmpSocket: '/run/vm/qmp.sock',
  pidFile: '/run/vm/qemu.pid',
};

/** The value after each occurrence of `flag`. */
const values = (argv: string[], flag: string) => argv.flatMap((a, i) => (a === flag ? [argv[i + 1]!] : []));

describe('microvm argv', () => {
  it('builds a fast microvm with the agent port, console, QMP and daemonize', () => {
    const argv = microvmArgv(base);
    assert.deepEqual(argv.slice(0, 4), ['-nodefaults', '-no-user-config', '-nographic', '-no-reboot']);
    assert.deepEqual(values(argv, '-M'), ['microvm,x-option-roms=off,pit=off,pic=off,rtc=on,isa-serial=on,acpi=on']);
    assert.deepEqual(values(argv, '-accel'), ['tcg,tb-size=64']);
    assert.deepEqual(values(argv, '-cpu'), ['max']);
    assert.deepEqual(values(argv, '-global'), ['virtio-mmio.force-legacy=false']);
    assert.deepEqual(values(argv, '-chardev'), [
      'socket,id=agent,path=/run/vm/agent.sock,server=on,wait=off',
      'file,id=console,path=/run/vm/console.log',
    ]);
    assert.deepEqual(values(argv, '-device'), ['virtio-serial-device,max_ports=4', 'virtserialport,chardev=agent,name=nubis.agent']);
    assert.deepEqual(values(argv, '-serial'), ['chardev:console']);
    assert.deepEqual(values(argv, '-qmp'), ['unix:/run/vm/qmp.sock,server=on,wait=off']);
    assert.deepEqual(argv.slice(-3), ['-daemonize', '-pidfile', '/run/vm/qemu.pid']);
  });

  it('KVM uses the host CPU; tb-size applies to TCG only', () => {
    const kvm = microvmArgv({ ...base, accel: 'kvm', tbSizeMiB: 32 });
    assert.deepEqual(values(kvm, '-accel'), ['kvm']);
    assert.deepEqual(values(kvm, '-cpu'), ['host']);
    assert.deepEqual(values(microvmArgv({ ...base, tbSizeMiB: 32 }), '-accel'), ['tcg,tb-size=32']);
    assert.deepEqual(values(microvmArgv({ ...base, tbSizeMiB: 0 }), '-accel'), ['tcg'], "0 leaves QEMU's default");
  });

  it('a 9p share, a virtiofs share with shared memory, a tap NIC, commas escaped', () => {
    const ninep = microvmArgv({ ...base, share: { kind: '9p', tag: 'share', path: '/srv/a,b', readOnly: true } });
    assert.deepEqual(values(ninep, '-fsdev'), ['local,id=share,path=/srv/a,,b,security_model=passthrough,multidevs=remap,readonly=on']);
    assert.ok(values(ninep, '-device').includes('virtio-9p-device,fsdev=share,mount_tag=share'));

    const vfs = microvmArgv({ ...base, share: { kind: 'virtiofs', tag: 'share', socket: '/run/vm/vfs.sock' }, net: { tap: 'tap0', mac: '02:00:00:00:00:01' } });
    assert.match(values(vfs, '-M')[0]!, /,memory-backend=mem$/);
    assert.deepEqual(values(vfs, '-object'), ['memory-backend-memfd,id=mem,size=128M,share=on']);
    assert.ok(values(vfs, '-device').includes('vhost-user-fs-device,chardev=share,tag=share'));
    assert.deepEqual(values(vfs, '-netdev'), ['tap,id=net,ifname=tap0,script=no,downscript=no']);
    assert.ok(values(vfs, '-device').includes('virtio-net-device,netdev=net,mac=02:00:00:00:00:01'));
  });

  it('a template is made on a shared memory file; a clone maps it copy-on-write and waits for its state', () => {
    const tpl = microvmArgv({ ...base, memoryFile: { path: '/cache/t/memory', shared: true } });
    assert.match(values(tpl, '-M')[0]!, /,memory-backend=mem$/);
    assert.deepEqual(values(tpl, '-object'), ['memory-backend-file,id=mem,size=128M,mem-path=/cache/t/memory,share=on']);
    assert.deepEqual(values(tpl, '-incoming'), []);
    const clone = microvmArgv({ ...base, memoryFile: { path: '/cache/t/memory', shared: false }, incoming: true });
    assert.deepEqual(values(clone, '-object'), ['memory-backend-file,id=mem,size=128M,mem-path=/cache/t/memory,share=off']);
    assert.deepEqual(values(clone, '-incoming'), ['defer']);
    assert.throws(
      () => microvmArgv({ ...base, memoryFile: { path: '/m', shared: false }, share: { kind: 'virtiofs', tag: 's', socket: '/s' } }),
      (e: unknown) => isNubisError(e, 'Invalid'),
    );
  });

  it('without the ISA serial port the console is a virtconsole on the virtio-serial device', () => {
    const argv = microvmArgv({ ...base, agentSocket: undefined, machine: { isaSerial: false } });
    assert.deepEqual(values(argv, '-device'), ['virtio-serial-device,max_ports=4', 'virtconsole,chardev=console']);
    assert.deepEqual(values(argv, '-serial'), []);
  });

  it('refuses what QEMU would misread or cannot do', () => {
    const bad: Partial<MicrovmSpec>[] = [
      { memoryMiB: 16 },
      { cpus: 0 },
      { kernel: 'relative/vmlinux' },
      { share: { kind: '9p', tag: 'a,b', path: '/x' } },
      { net: { tap: 'tap0', mac: 'zz' } },
      { console: 'stdio' },
    ];
    for (const b of bad) assert.throws(() => microvmArgv({ ...base, ...b }), (e: unknown) => isNubisError(e, 'Invalid'), JSON.stringify(b));
  });
});

describe('kernel command line', () => {
  it('has the console, the panic behaviour, the fast-boot parameters and the TSC rate', () => {
    assert.equal(
      kernelCmdline({ console: 'ttyS0', tscKhz: 1996249, extra: ['nubis.x=1'] }),
      'console=ttyS0 quiet panic=-1 reboot=t cryptomgr.notests pci=off 8250.nr_uarts=1 tsc_early_khz=1996249 nubis.x=1',
    );
    assert.doesNotMatch(kernelCmdline({ console: 'none', quiet: false }), /console=|quiet|tsc_early_khz/);
  });

  it('reads the TSC rate from sysfs, else from cpuinfo', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'nubis-tsc-'));
    try {
      writeFileSync(path.join(dir, 'cpuinfo'), 'processor\t: 0\ncpu MHz\t\t: 1996.249\n');
      assert.equal(await hostTscKhz(dir, path.join(dir, 'sys')), 1996249);
      mkdirSync(path.join(dir, 'sys/devices/system/cpu/cpu0'), { recursive: true });
      writeFileSync(path.join(dir, 'sys/devices/system/cpu/cpu0/tsc_freq_khz'), '2400000\n');
      assert.equal(await hostTscKhz(dir, path.join(dir, 'sys')), 2400000);
      assert.equal(await hostTscKhz(path.join(dir, 'none'), path.join(dir, 'none')), undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
