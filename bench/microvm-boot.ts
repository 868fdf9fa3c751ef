/**
 * Micro-VM boot figures under the accelerator this host runs (TCG here), medians of N interleaved runs
 * (--runs, default 5), printed with ratios to the floor:
 *  a. the floor: QEMU boots the vmlinux with an init that powers off at once (spawn to QEMU's exit), and
 *     the same with one thing changed: bzImage, the full initramfs (all modules) uncompressed, gzip or
 *     lz4, machine options (PIT/PIC on, RTC off, legacy virtio-mmio, no ISA serial: console on hvc0),
 *     the kernel without Nubis's fast-boot parameters, QEMU's tb-size or 32 MiB, 2 vCPUs;
 *  b. boot + loading modules (all, or a pod's) + mounting a shared directory (9p vs virtiofs) + reading a file;
 *  c. from a booted VM, over the agent channel: `chroot <rootfs> /bin/sh -c true` and `find <rootfs> |
 *     wc -l` on a busybox root file system that is a host-side overlay mount, shared by 9p (cache=none,
 *     cache=loose) or virtiofs (cache=auto, cache=always): the first run (cold) and the median of the rest;
 *  d. host memory of an idle 128 MiB guest after boot: PSS of QEMU (+ virtiofsd), TCG, by kind of
 *     mapping; tb-size 64 MiB (Nubis's default) against QEMU's own (1 GiB), 32 and 16 MiB.
 * Sections: --only abcd (default all). Runs one QEMU at a time; removes everything it made.
 *
 *   node --import tsx bench/microvm-boot.ts [--runs 5] [--only ab]
 */
import { promises as fs, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RealHost } from '../src/host/real-host.js';
import { decideAccel } from '../src/runtime/microvm/accel-probe.js';
import { findGuestKernel } from '../src/runtime/microvm/guest-kernel.js';
import { GUEST_MODULES, resolveModules } from '../src/runtime/microvm/kernel-modules.js';
import { hostTscKhz, kernelCmdline } from '../src/runtime/microvm/kernel-cmdline.js';
import type { Accel } from '../src/runtime/microvm/qemu-command.js';
import { numberArg } from './args.js';
import { ALL_MODULES, MARKER, bootOnce, image, makeBusyboxRootfs, median, pssBreakdown, pssMiB, startLoopVm, type BenchEnv, type BootSpec } from './microvm-lib.js';

const RUNS = numberArg('runs', 5);
const onlyAt = process.argv.indexOf('--only');
const ONLY = onlyAt >= 0 ? (process.argv[onlyAt + 1] ?? '') : 'abcd';
const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

interface Variant {
  name: string;
  spec: BootSpec;
  expect: string;
  virtiofsDir?: string;
}

/** Runs every variant RUNS times, round-robin, and prints medians with the ratio to the first. */
async function compare(env: BenchEnv, title: string, variants: Variant[]): Promise<Map<string, number>> {
  const times = new Map(variants.map((v) => [v.name, [] as number[]]));
  const failed = new Map<string, string>();
  for (let i = 0; i < RUNS; i++) {
    for (const v of variants.filter((x) => !failed.has(x.name))) {
      try {
        times.get(v.name)!.push(await bootOnce(env, v.spec, v.expect, v.virtiofsDir));
      } catch (err) {
        failed.set(v.name, (err as Error).message);
      }
    }
  }
  const medians = new Map([...times].map(([k, xs]) => [k, median(xs)]));
  const base = medians.get(variants[0]!.name)!;
  console.log(`\n${title} (median of ${RUNS}, ratio to the first row)`);
  for (const v of variants) {
    const m = medians.get(v.name)!;
    const why = failed.get(v.name);
    if (why) console.log(`  ${v.name.padEnd(58)} failed: ${why}`);
    else console.log(`  ${v.name.padEnd(58)} ${fmt(m).padStart(8)}  ${(m / base).toFixed(2)}x   [${times.get(v.name)!.map((t) => (t / 1000).toFixed(2)).join(' ')}]`);
  }
  return medians;
}

function baseSpec(env: BenchEnv, accel: Accel, initrd: string): BootSpec {
  return { accel, memoryMiB: 128, cpus: 1, kernel: env.kernel.vmlinux, initrd, cmdline: kernelCmdline({ console: 'ttyS0', tscKhz: env.tscKhz }) };
}

async function sectionA(env: BenchEnv, accel: Accel): Promise<void> {
  const minimal = await image(env, 'poweroff', { modules: [] });
  const full = await image(env, 'poweroff');
  const gzip = await image(env, 'poweroff', { compression: 'gzip' });
  const lz4 = await image(env, 'poweroff', { compression: 'lz4' }).catch((err: Error) => (console.log(`(no lz4 variant: ${err.message})`), undefined));
  // The console port appears a moment after virtio_console loads (the host announces it); the first write
  // right after it appears is sometimes lost (1 in 3 boots here), and a poweroff right after a write can
  // lose it too. Both console variants write twice and wait 100 ms before powering off, to compare alike.
  const twice = (dev: string) => `echo ${MARKER} > ${dev}; usleep 20000; echo ${MARKER} > ${dev}; usleep 100000; poweroff -f`;
  const hvcBody = `while [ ! -e /dev/hvc0 ]; do usleep 10000; done; ${twice('/dev/hvc0')}`;
  const withConsoleModules = await image(env, twice('/dev/console'), { modules: ['virtio_mmio', 'virtio_console'] });
  const hvc = await image(env, hvcBody, { modules: ['virtio_mmio', 'virtio_console'] });
  const b = baseSpec(env, accel, minimal);
  const slowCmdline = `console=ttyS0 quiet panic=-1 reboot=t tsc_early_khz=${env.tscKhz}`;
  const sizes = await Promise.all([minimal, full, gzip, lz4].map(async (f) => (f ? ((await fs.stat(f)).size / 1048576).toFixed(1) : '-')));
  await compare(env, `a. floor: spawn to QEMU exit, init powers off at once (initramfs MiB: minimal ${sizes[0]}, full ${sizes[1]}, gzip ${sizes[2]}, lz4 ${sizes[3]})`, [
    { name: 'floor: vmlinux, minimal initramfs (busybox, no modules)', spec: b, expect: MARKER },
    { name: 'bzImage instead of vmlinux', spec: { ...b, kernel: env.kernel.bzImage }, expect: MARKER },
    { name: 'full initramfs (all modules), uncompressed', spec: { ...b, initrd: full }, expect: MARKER },
    { name: 'full initramfs, gzip', spec: { ...b, initrd: gzip }, expect: MARKER },
    ...(lz4 ? [{ name: 'full initramfs, lz4', spec: { ...b, initrd: lz4 }, expect: MARKER }] : []),
    { name: 'pit=on,pic=on', spec: { ...b, machine: { pit: true, pic: true } }, expect: MARKER },
    { name: 'rtc=off', spec: { ...b, machine: { rtc: false } }, expect: MARKER },
    { name: 'legacy virtio-mmio', spec: { ...b, machine: { modernMmio: false } }, expect: MARKER },
    { name: 'without cryptomgr.notests pci=off 8250.nr_uarts=1', spec: { ...b, cmdline: slowCmdline }, expect: MARKER },
    { name: "QEMU's default tb-size (1 GiB) instead of 64 MiB", spec: { ...b, tbSizeMiB: 0 }, expect: MARKER },
    { name: 'tb-size=32', spec: { ...b, tbSizeMiB: 32 }, expect: MARKER },
    { name: '2 vCPUs', spec: { ...b, cpus: 2 }, expect: MARKER },
    { name: 'virtio_console loaded, console on ttyS0 (isa-serial on)', spec: { ...b, initrd: withConsoleModules }, expect: MARKER },
    {
      name: 'virtio_console loaded, console on hvc0, isa-serial off',
      spec: { ...b, initrd: hvc, machine: { isaSerial: false }, cmdline: b.cmdline.replace('console=ttyS0', 'console=hvc0') },
      expect: MARKER,
    },
  ]);
}

async function sectionB(env: BenchEnv, accel: Accel, shareDir: string): Promise<void> {
  const read = `cat /shared/greeting.txt > /dev/console; poweroff -f`;
  const marker = `echo ${MARKER} > /dev/console; poweroff -f`;
  const pod = (fs9: '9p' | 'virtiofs') => [...GUEST_MODULES.transport, ...GUEST_MODULES.channel, ...GUEST_MODULES.network, ...GUEST_MODULES[fs9]];
  const allModules = await image(env, marker);
  const podModules = await image(env, marker, { modules: pod('virtiofs') });
  const ninep = await image(env, read, { modules: pod('9p'), share: { fs: '9p', tag: 'share', mountPoint: '/shared' } });
  const vfs = await image(env, read, { modules: pod('virtiofs'), share: { fs: 'virtiofs', tag: 'share', mountPoint: '/shared' } });
  const floor = await image(env, 'poweroff', { modules: [] });
  const count = async (mods: string[]) => (await resolveModules(env.kernel.modulesDir, mods)).length;
  await compare(env, 'b. boot + modules + mount a shared directory + read a file, to QEMU exit', [
    { name: 'floor (as in a.)', spec: baseSpec(env, accel, floor), expect: MARKER },
    { name: `every module of ALL_MODULES loaded (${await count(ALL_MODULES)}), no share`, spec: baseSpec(env, accel, allModules), expect: MARKER },
    { name: `a pod's modules (${await count(pod('virtiofs'))}: mmio, console, net, virtiofs), no share`, spec: baseSpec(env, accel, podModules), expect: MARKER },
    { name: `9p: its modules (${await count(pod('9p'))}), mount, read a file`, spec: { ...baseSpec(env, accel, ninep), share: { kind: '9p', tag: 'share', path: shareDir } }, expect: 'hello-from-host' },
    { name: 'virtiofs: its modules, virtiofsd, mount, read a file', spec: baseSpec(env, accel, vfs), expect: 'hello-from-host', virtiofsDir: shareDir },
  ]);
}

/** Times `cmd` through the channel: the first run and the median of the others. */
async function timeCommand(vm: Awaited<ReturnType<typeof startLoopVm>>, cmd: string): Promise<{ cold: number; warm: number; out: string }> {
  const xs: number[] = [];
  let out = '';
  for (let i = 0; i < RUNS + 1; i++) {
    const t0 = performance.now();
    const r = await vm.channel.run(cmd, { timeoutMs: 120_000 });
    xs.push(performance.now() - t0);
    if (r.code !== 0) throw new Error(`${cmd} failed in the guest (${r.code}): ${r.lines.join(' | ')}`);
    out = r.lines.join(' ');
  }
  return { cold: xs[0]!, warm: median(xs.slice(1)), out };
}

async function sectionCD(env: BenchEnv, accel: Accel, shareDir: string, sections: string): Promise<void> {
  const base = { accel, memoryMiB: 128, cpus: 1, kernel: env.kernel.vmlinux, cmdline: kernelCmdline({ console: 'ttyS0', tscKhz: env.tscKhz }) };
  const shares = [
    { name: '9p cache=none', share: { kind: '9p' as const, tag: 'share', path: shareDir } },
    { name: '9p cache=loose', share: { kind: '9p' as const, tag: 'share', path: shareDir, options: 'cache=loose' } },
    { name: 'virtiofs cache=auto', share: { kind: 'virtiofs' as const, tag: 'share', path: shareDir } },
    { name: 'virtiofs cache=always', share: { kind: 'virtiofs' as const, tag: 'share', path: shareDir, cache: 'always' as const } },
  ];
  const ms = (x: number) => `${x.toFixed(0)} ms`.padStart(8);
  if (sections.includes('c')) {
    console.log(`\nc. commands over the agent channel on a shared busybox rootfs (host overlay mount); cold = first run, warm = median of ${RUNS}`);
    console.log(`  ${'share'.padEnd(24)} ${'ready'.padStart(8)} ${'true'.padStart(8)} | chroot sh -c true: cold     warm | find | wc -l: cold     warm`);
    for (const s of shares) {
      const vm = await startLoopVm(env, base, s.share);
      try {
        const t = await timeCommand(vm, 'true');
        const chroot = await timeCommand(vm, 'chroot /shared/rootfs /bin/sh -c true');
        const find = await timeCommand(vm, 'find /shared/rootfs | wc -l');
        console.log(`  ${s.name.padEnd(24)} ${ms(vm.readyMs)} ${ms(t.warm)} |             ${ms(chroot.cold)} ${ms(chroot.warm)} |        ${ms(find.cold)} ${ms(find.warm)}  (${find.out.trim()} entries)`);
      } finally {
        await vm.close();
      }
    }
  }
  if (sections.includes('d')) await sectionD(env, base, shares);
}

async function sectionD(env: BenchEnv, base: Parameters<typeof startLoopVm>[1], shares: { name: string; share: Parameters<typeof startLoopVm>[2] }[]): Promise<void> {
  console.log('\nd. host memory of an idle 128 MiB guest, 3 s after its init is ready (PSS, MiB)');
  const rows = [
    { name: 'no share, tb-size=64', spec: base, share: undefined },
    { name: '9p, tb-size=64', spec: base, share: shares[0]!.share },
    { name: 'virtiofs always, tb-size=64', spec: base, share: shares[3]!.share },
    { name: "9p, QEMU's tb-size (1 GiB)", spec: { ...base, tbSizeMiB: 0 }, share: shares[0]!.share },
    { name: '9p, tb-size=32', spec: { ...base, tbSizeMiB: 32 }, share: shares[0]!.share },
    { name: '9p, tb-size=16', spec: { ...base, tbSizeMiB: 16 }, share: shares[0]!.share },
  ];
  for (const r of rows) {
    const vm = await startLoopVm(env, r.spec, r.share);
    try {
      await new Promise((res) => setTimeout(res, 3000));
      const qemu = await pssMiB(vm.vm.qemuPid);
      const vfs = await pssMiB(vm.vm.virtiofsdPid);
      const b = await pssBreakdown(vm.vm.qemuPid, 128, env.cacheDir);
      const find = r.share ? await timeCommand(vm, 'find /shared/rootfs | wc -l') : undefined;
      const md5 = await timeCommand(vm, 'md5sum /bin/busybox');
      const after = (await pssMiB(vm.vm.qemuPid)) + (await pssMiB(vm.vm.virtiofsdPid));
      const parts = `QEMU ${qemu.toFixed(1)}: guest RAM ${b.guest.toFixed(1)}, TCG code ${b.tcg.toFixed(1)}, kernel+initramfs files ${b.images.toFixed(1)}, rest ${b.rest.toFixed(1)}`;
      const vfsPart = vm.vm.virtiofsdPid ? `; virtiofsd ${vfs.toFixed(1)}` : '';
      const speed = `${find ? `find ${find.warm.toFixed(0)} ms, ` : ''}md5sum busybox ${md5.warm.toFixed(0)} ms`;
      console.log(`  ${r.name.padEnd(28)} ${(qemu + vfs).toFixed(1).padStart(6)}  (${parts}${vfsPart})`);
      console.log(`  ${''.padEnd(28)} ready ${(vm.readyMs / 1000).toFixed(2)} s; ${speed} (warm medians); PSS after them ${after.toFixed(1)}`);
    } finally {
      await vm.close();
    }
  }
}

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'nubis-bench-microvm-'));
  const host = new RealHost();
  const loadBefore = os.loadavg()[0]!;
  const cacheDir = path.join(work, 'cache');
  const shareDir = path.join(work, 'share');
  let mounted: string | undefined;
  try {
    const kernel = await findGuestKernel({ cacheDir, host });
    const env: BenchEnv = { host, kernel, work, cacheDir, tscKhz: await hostTscKhz() };
    const decision = await decideAccel({ host, kernel, cacheDir });
    console.log(`guest kernel ${kernel.version}; ${decision.reason}`);
    await fs.mkdir(shareDir);
    await fs.writeFile(path.join(shareDir, 'greeting.txt'), 'hello-from-host\n');
    const lower = path.join(work, 'busybox-rootfs');
    const entries = await makeBusyboxRootfs(host, lower);
    for (const d of ['upper', 'overlay-work']) await fs.mkdir(path.join(work, d));
    mounted = path.join(shareDir, 'rootfs');
    await fs.mkdir(mounted);
    await host.mountOverlay([lower], path.join(work, 'upper'), path.join(work, 'overlay-work'), mounted);
    console.log(`busybox rootfs: ${entries} entries, an overlay mount at <share>/rootfs`);
    if (ONLY.includes('a')) await sectionA(env, decision.accel);
    if (ONLY.includes('b')) await sectionB(env, decision.accel, shareDir);
    if (ONLY.includes('c') || ONLY.includes('d')) await sectionCD(env, decision.accel, shareDir, ONLY);
  } finally {
    if (mounted) await host.unmount(mounted);
    await fs.rm(work, { recursive: true, force: true });
  }
  console.log(`\nload average ${loadBefore.toFixed(2)} -> ${os.loadavg()[0]!.toFixed(2)}, ${os.cpus().length} CPUs`);
}

await main();
