/**
 * Start latency of `busybox true`, medians of N runs (default 10, BENCH_RUNS), printed side by side:
 *  1. `nubis ctr run --rm busybox true` end to end (the built CLI: run `npm run build` first);
 *  2. `podman run --rm --network none` of the same image on runc (the fair peer: a Nubis container gets a
 *     loopback-only network namespace too; podman's default network mode, which makes bridges and
 *     masquerade rules, is not measured), with a temp containers.conf that respects this machine's rlimits
 *     (nofile within the hard limit), cgroupfs, file events, and a temp --root/--runroot; the image is
 *     loaded with `nubis ctr image export busybox | podman load` (or skipped with a note if that fails);
 *  3. raw `runc run` of a prepared bundle (a plain rootfs dir, same config.json as Nubis writes);
 *  4. the runtime in-process: OciDriver create + start + wait + remove, and its overhead over raw runc.
 * When NODE_EXTRA_CA_CERTS is set (Node 20 then parses the CA bundle at every start, before any of our
 * code runs: ~38 ms here), the CLI is also timed without it, and both are printed.
 * Ratios are printed, not asserted. Needs root, runc, conmon (and podman for 2). Everything it makes is
 * removed at the end: containers, mounts, the temp dir (data dir, bundle, podman storage) and the cgroups
 * of raw runc and podman, which live under a parent of the bench's own (/nubis-bench-<pid>).
 *
 *   node --import tsx bench/start.ts
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, promises as fs, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { listCgroups, removeCgroupTree } from '../src/host/cgroups.js';
import { RealHost } from '../src/host/real-host.js';
import { readHostRlimits } from '../src/host/rlimits.js';
import { Images } from '../src/image/images.js';
import { OverlaySnapshotStore } from '../src/image/snapshots.js';
import { OciDriver } from '../src/runtime/oci/oci-driver.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const nubisBin = path.join(repo, 'bin', 'nubis');
/** The parent cgroup of everything raw runc and podman start here, in every hierarchy. */
export const CGROUP_PARENT = `/nubis-bench-${process.pid}`;

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function timeCmd(cmd: string, args: string[], env?: NodeJS.ProcessEnv): number {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env: env ?? process.env });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr.toString().trim()}`);
  return ms;
}

async function timeAsync(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

const fmt = (ms: number) => `${ms.toFixed(1)} ms`;

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'nubis-bench-start-'));
  const dataDir = path.join(work, 'data');
  const host = new RealHost();
  const results: Record<string, number> = {};
  const loadBefore = os.loadavg()[0]!;
  let podman: Podman | undefined;
  try {
    // Warm up: the built-in image and its snapshot.
    const cliArgs = ['--data-dir', dataDir, 'ctr', 'run', '--rm', 'busybox', 'true'];
    timeCmd(nubisBin, cliArgs);

    const images = new Images(dataDir, host, { snapshots: new OverlaySnapshotStore(path.join(dataDir, 'snapshots'), host) });
    const driver = new OciDriver({ dataDir, host, images });
    const inProcess = () =>
      timeAsync(async () => {
        const info = await driver.create({ image: 'busybox', command: ['true'] });
        await driver.start(info.id);
        await driver.wait(info.id);
        await driver.remove(info.id, { force: true });
      });
    await inProcess(); // warms up the modules

    // Raw runc: the same config.json on a plain copy of the rootfs.
    const bundle = path.join(work, 'bundle');
    const keep = await driver.create({ image: 'busybox', command: ['true'] });
    const spec = JSON.parse(await fs.readFile(path.join(dataDir, 'containers', keep.id, 'bundle', 'config.json'), 'utf8'));
    await fs.mkdir(bundle);
    execFileSync('cp', ['-a', keep.rootfs.path, path.join(bundle, 'rootfs')]);
    await driver.remove(keep.id, { force: true });
    spec.root.path = path.join(bundle, 'rootfs');
    spec.linux.cgroupsPath = `${CGROUP_PARENT}/raw`;
    spec.mounts = spec.mounts.filter((m: { destination: string }) => !m.destination.startsWith('/etc/'));
    writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(spec));
    const runcRoot = path.join(work, 'runc');

    podman = podmanSetup(work, dataDir);

    // Interleaved, so that a change in the machine's load touches every contender alike.
    const extraCa = process.env.NODE_EXTRA_CA_CERTS;
    const envNoExtraCa = { ...process.env };
    delete envNoExtraCa.NODE_EXTRA_CA_CERTS;
    const cli: number[] = [];
    const cliNoExtraCa: number[] = [];
    const inproc: number[] = [];
    const raw: number[] = [];
    const pod: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      cli.push(timeCmd(nubisBin, cliArgs));
      if (extraCa) cliNoExtraCa.push(timeCmd(nubisBin, cliArgs, envNoExtraCa));
      if (podman) pod.push(podman.run());
      raw.push(timeCmd('runc', ['--root', runcRoot, 'run', '--bundle', bundle, `raw${i}`]));
      inproc.push(await inProcess());
    }
    for (let i = 0; i < RUNS; i++) spawnSync('runc', ['--root', runcRoot, 'delete', '-f', `raw${i}`]);
    results.cli = median(cli);
    results.cliNoExtraCa = extraCa ? median(cliNoExtraCa) : NaN;
    results.inProcess = median(inproc);
    results.rawRunc = median(raw);
    results.podman = podman ? median(pod) : NaN;
  } finally {
    podman?.cleanup();
    for (const m of (await host.mounts()).filter((m) => m.startsWith(work)).reverse()) await host.unmount(m);
    rmSync(work, { recursive: true, force: true });
    await removeCgroupTree(CGROUP_PARENT).catch((err: unknown) => console.error(`bench: ${(err as Error).message}`));
    const left = await listCgroups(CGROUP_PARENT);
    if (left.length > 0) console.error(`bench: cgroups left behind: ${left.join(' ')}`);
  }

  console.log(`busybox true, median of ${RUNS} interleaved runs (load average ${loadBefore.toFixed(2)} -> ${os.loadavg()[0]!.toFixed(2)}, ${os.cpus().length} CPUs)`);
  console.log(`  nubis ctr run --rm (CLI end to end):      ${fmt(results.cli!)}`);
  if (!Number.isNaN(results.cliNoExtraCa)) {
    console.log(`  the same without NODE_EXTRA_CA_CERTS:     ${fmt(results.cliNoExtraCa!)} (set here; Node 20 loads it at every start)`);
  }
  console.log(`  podman run --rm --network none (runc):    ${Number.isNaN(results.podman) ? 'n/a' : fmt(results.podman!)}`);
  console.log(`  raw runc run:                             ${fmt(results.rawRunc!)}`);
  console.log(`  OciDriver in-process:                     ${fmt(results.inProcess!)}`);
  if (!Number.isNaN(results.podman)) {
    const without = Number.isNaN(results.cliNoExtraCa) ? '' : ` (${(results.cliNoExtraCa! / results.podman!).toFixed(2)}x without NODE_EXTRA_CA_CERTS)`;
    console.log(`  ratio CLI / podman --network none: ${(results.cli! / results.podman!).toFixed(2)}x${without} (target <= 0.5x)`);
  }
  console.log(`  runtime overhead over raw runc: ${fmt(results.inProcess! - results.rawRunc!)} (target <= 40 ms)`);
}

const BENCH_BRIDGE = 'nbtpm0';

export interface Podman {
  /** One timed `podman run --rm --network none`. */
  run(): number;
  /**
   * One timed `podman run --rm` on a bridge network made here: what podman does by default (a veth on a
   * bridge, an address from host-local IPAM, a default route via the bridge), minus the masquerade,
   * firewall and port-mapping plugins of its default network: the same work as a Nubis pod's network.
   * Bridge nbtpm0, 10.251.7.0/24, no route out; removed by cleanup().
   */
  runBridge(): number;
  /** Removes its storage (mounts included); the dir itself goes with the bench's temp dir. */
  cleanup(): void;
}

/** podman with its own temp storage and a config that fits this machine; undefined when unavailable. */
export function podmanSetup(work: string, dataDir: string): Podman | undefined {
  if (spawnSync('podman', ['--version']).status !== 0) {
    console.log('podman not installed: skipping it');
    return undefined;
  }
  const pdir = path.join(work, 'podman');
  const conf = path.join(pdir, 'containers.conf');
  // podman raises nofile and nproc by default; without CAP_SYS_RESOURCE that must stay well within the
  // hard limits (podman's runc did not accept nproc at the exact hard limit here).
  const limits = readHostRlimits();
  const nofile = Math.min(Math.floor((limits.RLIMIT_NOFILE?.hard ?? 2048) / 2), 10_000);
  const nproc = Math.min(Math.floor((limits.RLIMIT_NPROC?.hard ?? 8192) / 2), 4096);
  execFileSync('mkdir', ['-p', pdir]);
  writeFileSync(
    conf,
    [
      '[containers]',
      `default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]`,
      'netns = "none"',
      '[engine]',
      'runtime = "runc"',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      '[network]',
      'network_backend = "cni"',
      `network_config_dir = "${path.join(pdir, 'networks')}"`,
      '',
    ].join('\n'),
  );
  const env = { ...process.env, CONTAINERS_CONF: conf };
  const base = ['--root', path.join(pdir, 'root'), '--runroot', path.join(pdir, 'run'), '--storage-driver', 'overlay'];
  execFileSync('mkdir', ['-p', path.join(pdir, 'networks')]);
  writeFileSync(
    path.join(pdir, 'networks', 'nbench.conflist'),
    JSON.stringify({
      cniVersion: '0.4.0',
      name: 'nbench',
      plugins: [
        {
          type: 'bridge',
          bridge: BENCH_BRIDGE,
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: { type: 'host-local', ranges: [[{ subnet: '10.251.7.0/24' }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: path.join(pdir, 'ipam') },
        },
      ],
    }),
  );
  const cleanup = () => {
    spawnSync('podman', [...base, 'system', 'reset', '-f'], { env, stdio: 'ignore' });
    spawnSync('ip', ['link', 'del', BENCH_BRIDGE], { stdio: 'ignore' });
    for (const m of execFileSync('sh', ['-c', `grep -o ' ${pdir}[^ ]*' /proc/self/mountinfo || true`], { encoding: 'utf8' }).split('\n').map((s) => s.trim()).filter(Boolean).reverse()) {
      spawnSync('umount', ['-l', m]);
    }
  };
  const tar = path.join(pdir, 'busybox.tar');
  try {
    execFileSync(nubisBin, ['--data-dir', dataDir, 'ctr', 'image', 'export', '-o', tar, 'busybox'], { stdio: 'pipe' });
    const loaded = execFileSync('podman', [...base, 'load', '-i', tar], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const image = /Loaded image(?:\(s\))?: (\S+)/.exec(loaded)?.[1] ?? 'busybox';
    // Its container and conmon cgroups (cgroupfs: <parent>/libpod-<id>, <parent>/conmon) go below ours.
    const run = (network: string) => [...base, 'run', '--rm', '--network', network, '--cgroup-parent', `${CGROUP_PARENT}/podman`, '--ulimit', `nofile=${nofile}:${nofile}`, '--ulimit', `nproc=${nproc}:${nproc}`, image, 'true'];
    timeCmd('podman', run('none'), env);
    timeCmd('podman', run('nbench'), env);
    return { run: () => timeCmd('podman', run('none'), env), runBridge: () => timeCmd('podman', run('nbench'), env), cleanup };
  } catch (err) {
    console.log(`podman bench skipped: ${(err as Error).message.split('\n')[0]}`);
    cleanup();
    return undefined;
  }
}

// bench/run.ts imports the podman set-up from here.
if (process.argv[1] && path.resolve(process.argv[1]) === new URL(import.meta.url).pathname) await main();
