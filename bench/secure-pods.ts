/**
 * Secure pods (runtimeClassName: nubis-microvm, a QEMU micro-VM per pod) side by side with their floor and
 * the runc path, on a `nubis up -d` cloud with a temp data dir (issue 10's benchmarks). Printed, never
 * asserted:
 *  start    N interleaved runs (--runs, default 7) of
 *           - the floor: QEMU boots the same vmlinux with a minimal init that powers off, with the machine
 *             options, kernel command line, memory and vCPUs the driver gives a pod without limits;
 *           - the guest's own start before the agent: the driver's modules, the 9p mount and the agent's
 *             port (everything the pod's init does before it execs the guest agent), then power off;
 *           - `nubis ctr run --rm [--runtime microvm] busybox true` (node-local, no API in the path), and
 *             the micro-VM one again with NUBIS_MICROVM_TEMPLATES=off (every VM boots: no template);
 *           - the micro-VM driver in this process, each call timed (no CLI, no API);
 *           - `nubis run --rm [--runtime-class nubis-microvm] busybox true` through the cloud;
 *           medians, p90 and the ratios microvm/floor and microvm/runc, then where the time goes from
 *           NUBIS_TRACE (the CLI's steps, and the scheduler's and agent's pod steps from
 *           <data-dir>/up.log, lined up by wall clock). After each run everything it started must be gone
 *           before the next one begins (`nubis run --rm` returns before the agent has stopped the VM:
 *           that time is printed apart).
 *  memory   K idle pods of each kind (--idle, default 3: `sleep`, memory limit 64Mi, so a guest of
 *           128 MiB): PSS of every process of a secure pod (found by its sandbox dir on the command
 *           line), QEMU's split by mapping, against a runc pod (conmon PSS + its container cgroup); and
 *           QEMU's CPU time to Ready and while idle.
 *  density  --pods (default 20) secure pods created at once: create to all Ready, p50/p99 start (create
 *           request to Ready seen in a watch; creationTimestamp to the Ready condition's time too), the
 *           VMs' PSS and CPU time. Gives up after 10 minutes, or once every pod left is unschedulable.
 *           When the RuntimeClass's overhead keeps pods off the node, the same again with a bench
 *           RuntimeClass of the same handler whose overhead has no CPU, to see what the machine itself
 *           does with that many VMs.
 *           Before them, once: the first secure pod after the machine's VM templates were removed (it makes
 *           the template of its size on the way).
 * --only start|memory|density (comma-separated for several; default all). Needs root, QEMU and a built
 * dist/ (npm run build). Removes everything it started: pods, VMs, the cloud (nubis down), temp dirs.
 *
 *   node --import tsx bench/secure-pods.ts [--runs 7] [--idle 3] [--pods 20] [--only start]
 */
import { spawnSync } from 'node:child_process';
import { promises as fs, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Pod } from '../src/api/core/v1/pod-types.js';
import type { KubeObject } from '../src/api/meta.js';
import { connect } from '../src/client/connect.js';
import type { ResourceInfo, RestClient } from '../src/client/rest-client.js';
import { readCgroupStats } from '../src/host/cgroups.js';
import type { Host } from '../src/host/host.js';
import { RealHost } from '../src/host/real-host.js';
import { Images } from '../src/image/images.js';
import { OverlaySnapshotStore } from '../src/image/snapshots.js';
import { decideAccel } from '../src/runtime/microvm/accel-probe.js';
import { GUEST_SHARE } from '../src/runtime/microvm/guest-assets.js';
import { findGuestKernel } from '../src/runtime/microvm/guest-kernel.js';
import { hostTscKhz, kernelCmdline } from '../src/runtime/microvm/kernel-cmdline.js';
import { GUEST_MODULES } from '../src/runtime/microvm/kernel-modules.js';
import { MicrovmDriver } from '../src/runtime/microvm/microvm-driver.js';
import { AGENT_PORT } from '../src/runtime/microvm/qemu-command.js';
import { guestSize } from '../src/runtime/microvm/vm-sandboxes.js';
import { agentDirsLeft } from '../test/helpers/leaks.js';
import { numberArg } from './args.js';
import { MARKER, bootOnce, image, median, pssBreakdown, pssMiB, type BenchEnv, type BootSpec } from './microvm-lib.js';
import { NUBIS, PODS, percentile } from './up-process.js';

const RUNS = numberArg('runs', 7);
const IDLE = numberArg('idle', 3);
const DENSITY = numberArg('pods', 20);
const onlyAt = process.argv.indexOf('--only');
const ONLY = new Set((onlyAt >= 0 ? (process.argv[onlyAt + 1] ?? '') : 'start,memory,density').split(','));
const RUNTIME_CLASSES: ResourceInfo = { group: 'node.k8s.io', version: 'v1', resource: 'runtimeclasses', kind: 'RuntimeClass', namespaced: false };
const NODES: ResourceInfo = { group: '', version: 'v1', resource: 'nodes', kind: 'Node', namespaced: false };
const SECURE = 'nubis-microvm';
const DENSITY_TIMEOUT_MS = 10 * 60_000;
/** The modules the driver's initramfs loads (guest-assets.ts). */
const POD_MODULES = [...GUEST_MODULES.transport, ...GUEST_MODULES.channel, ...GUEST_MODULES.network, ...GUEST_MODULES['9p']];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const s2 = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const mib = (x: number) => `${x.toFixed(1)} MiB`;
/** The closing table: what, measured, target or peer. */
const summary: Array<[string, string, string]> = [];

// ---- processes ----

interface Proc {
  pid: number;
  comm: string;
  cmdline: string;
}

/** Processes whose command line contains `needle` (and whose comm matches `comm`, when given). */
function procsMentioning(needle: string, comm?: RegExp): Proc[] {
  const out: Proc[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const c = readFileSync(`/proc/${p}/comm`, 'utf8').trim();
      if (comm && !comm.test(c)) continue;
      const cmdline = readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmdline.includes(needle)) out.push({ pid: Number(p), comm: c, cmdline });
    } catch {
      // gone
    }
  }
  return out;
}

const QEMU = /^qemu-system/;
const qemusOf = (dataDir: string) => procsMentioning(dataDir, QEMU);
const conmonsOf = (dataDir: string) => procsMentioning(dataDir, /^conmon$/);

/** Waits until no QEMU or conmon of `dataDir` runs and no pod, sandbox or container dir is left; the ms it took. */
async function quiesce(dataDir: string, timeoutMs = 180_000): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    const left = [...qemusOf(dataDir).map((p) => `qemu ${p.pid}`), ...conmonsOf(dataDir).map((p) => `conmon ${p.pid}`), ...agentDirsLeft(dataDir)];
    if (left.length === 0) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) throw new Error(`still there after ${timeoutMs / 1000} s: ${left.join(', ')}`);
    await sleep(50);
  }
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) / 1024;
}

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** CPU time (user + system) a process has used, in seconds; 0 when it is gone. */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK; // utime and stime: fields 14 and 15 of stat(5)
  } catch {
    return 0;
  }
}

function memAvailableMiB(): number {
  return Number(/MemAvailable:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0) / 1024;
}

// ---- the cloud ----

interface Cloud {
  dataDir: string;
  client: RestClient;
  env: NodeJS.ProcessEnv;
  upLog: string;
  pid: number;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** `nubis up -d` on `dataDir` (NUBIS_TRACE on: the agent writes its pod steps to up.log), its node Ready. */
async function startCloud(dataDir: string): Promise<Cloud> {
  const port = await freePort();
  const env = { ...process.env, NUBIS_TRACE: '1' };
  const args = ['--data-dir', dataDir, 'up', '-d', '--api-port', String(port), '--agent-port', '0', '--api-listen', '127.0.0.1', '--log-level', 'warn'];
  const r = spawnSync(NUBIS, args, { env, encoding: 'utf8', timeout: 180_000 });
  if (r.status !== 0) throw new Error(`nubis up -d failed (${r.status}): ${r.stderr}${r.stdout}`);
  const kubeconfig = path.join(dataDir, 'admin.kubeconfig');
  const client = (await connect({ flag: kubeconfig })).client;
  const cloud = { dataDir, client, env: { ...env, KUBECONFIG: kubeconfig }, upLog: path.join(dataDir, 'up.log'), pid: Number(readFileSync(path.join(dataDir, 'up.pid'), 'utf8').trim()) };
  const until = Date.now() + 60_000;
  for (;;) {
    const nodes = (await client.list<KubeObject & { status?: { conditions?: Array<{ type: string; status: string }> } }>(NODES)).items;
    const ready = nodes.some((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    const rc = await client.get(RUNTIME_CLASSES, SECURE).then(() => true, () => false);
    if (ready && rc) return cloud;
    if (Date.now() > until) throw new Error(`the node is not Ready or RuntimeClass ${SECURE} is missing after 60 s`);
    await sleep(250);
  }
}

/** Deletes every pod, waits until their VMs, conmons and dirs are gone, then `nubis down`. */
async function stopCloud(cloud: Cloud): Promise<void> {
  try {
    await cloud.client.deleteCollection(PODS, { namespace: 'default', gracePeriodSeconds: 0 }).catch(() => undefined);
    const until = Date.now() + 180_000;
    while ((await cloud.client.list<Pod>(PODS, { namespace: 'default' })).items.length > 0 && Date.now() < until) await sleep(250);
    await quiesce(cloud.dataDir).catch((err: Error) => console.error(`bench: ${err.message}`));
  } finally {
    cloud.client.close();
    const r = spawnSync(NUBIS, ['--data-dir', cloud.dataDir, 'down'], { encoding: 'utf8', timeout: 90_000 });
    if (r.status !== 0) console.error(`bench: nubis down failed (${r.status}): ${r.stderr}`);
  }
}

function podManifest(name: string, labels: Record<string, string>, runtimeClass?: string): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels },
    spec: {
      terminationGracePeriodSeconds: 1,
      ...(runtimeClass ? { runtimeClassName: runtimeClass } : {}),
      containers: [{ name: 'main', image: 'busybox', command: ['sleep', '3600'], resources: { limits: { memory: '64Mi' } } }],
    },
  } as Pod;
}

const isReady = (p: Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
const unschedulable = (p: Pod) => p.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable');

/** Deletes the pods with `selector` and waits until they and everything they ran are gone; the ms it took. */
async function deletePods(cloud: Cloud, selector: string): Promise<number> {
  const t0 = performance.now();
  await cloud.client.deleteCollection(PODS, { namespace: 'default', labelSelector: selector, gracePeriodSeconds: 0 });
  const until = Date.now() + 300_000;
  while ((await cloud.client.list<Pod>(PODS, { namespace: 'default', labelSelector: selector })).items.length > 0 && Date.now() < until) await sleep(250);
  await quiesce(cloud.dataDir, Math.max(1000, until - Date.now()));
  return performance.now() - t0;
}

// ---- traces ----

/** One step of NUBIS_TRACE output: its name and wall-clock seconds within the minute. */
interface TraceStep {
  name: string;
  wall: number;
}

const TRACE_LINE = /^nubis trace:\s+[\d.]+ ms\s+\+\s*([\d.]+) ms\s+@([\d.]+)\s+(.*)$/;

function parseTrace(text: string): TraceStep[] {
  const out: TraceStep[] = [];
  for (const line of text.split('\n')) {
    const m = TRACE_LINE.exec(line);
    if (!m) continue;
    if (out.length === 0) out.push({ name: 'node bootstrapped', wall: Number(m[2]) - Number(m[1]) / 1000 });
    out.push({ name: m[3]!, wall: Number(m[2]) });
  }
  return out;
}

/** Milliseconds after `startMs` (epoch) of a wall-clock "seconds within the minute" seen at most a minute later. */
function sinceStart(wall: number, startMs: number): number {
  const minute = Math.floor(startMs / 60_000) * 60_000;
  let at = minute + wall * 1000;
  while (at < startMs - 2000) at += 60_000;
  return at - startMs;
}

/** Each event's time after the spawn (the first of a name counts), and the exit at `totalMs`. */
function milestones(events: Array<{ label: string; at: number }>, totalMs: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of events) if (!out.has(e.label)) out.set(e.label, e.at);
  out.set('exit', totalMs);
  return out;
}

const AGENT_STEP = /^pod (\S+): (sync|volumes|sandbox|apps|reported \S+)$/;
const BINDING = /^scheduler: (binding|bound) (\S+)$/;

/**
 * The scheduler's binding and the agent's first sync, volumes, sandbox, apps and status report of the pod
 * the scheduler bound in new up.log text (late steps of an earlier pod may be there too).
 */
function agentEvents(text: string, startMs: number): Array<{ label: string; at: number }> {
  const steps = parseTrace(text);
  const pod = steps.map((s) => BINDING.exec(s.name)?.[2]).find(Boolean);
  const out: Array<{ label: string; at: number }> = [];
  const seen = new Set<string>();
  for (const s of steps) {
    const b = BINDING.exec(s.name);
    const m = AGENT_STEP.exec(s.name);
    const [name, step] = b ? [b[2], `scheduler ${b[1]}`] : m ? [m[1], `agent ${m[2]!.startsWith('reported') ? 'first report' : m[2]}`] : [];
    if (!step || name !== pod || seen.has(step)) continue;
    seen.add(step);
    out.push({ label: step, at: sinceStart(s.wall, startMs) });
  }
  return out;
}

// ---- start ----

interface RunResult {
  ms: number;
  /** The driver's phases in milliseconds, in order (in-process runs). */
  phases?: Array<[string, number]>;
  /** When each traced step happened, in ms after the spawn. */
  marks?: Map<string, number>;
  /** Time after the command returned until its VM or containers were gone. */
  teardownMs?: number;
}

interface Variant {
  key: string;
  label: string;
  run(): Promise<RunResult>;
}

/** Runs a CLI command with NUBIS_TRACE on; the time from spawn to exit and the steps, lined up with the agent's. */
async function timedCli(args: string[], env: NodeJS.ProcessEnv, quiesceDir: string, upLog?: string): Promise<RunResult> {
  const logFrom = upLog ? statSync(upLog).size : 0;
  const startMs = Date.now();
  const t0 = performance.now();
  const r = spawnSync(NUBIS, args, { env: { ...env, NUBIS_TRACE: '1' }, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', timeout: 300_000 });
  const ms = performance.now() - t0;
  if (r.status !== 0) {
    await quiesce(quiesceDir).catch(() => undefined);
    throw new Error(`nubis ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr.split('\n').filter((l) => !l.startsWith('nubis trace:')).join(' ').trim()}`);
  }
  const teardownMs = await quiesce(quiesceDir);
  const events = parseTrace(r.stderr).map((s) => ({ label: s.name, at: sinceStart(s.wall, startMs) }));
  if (upLog) {
    const fd = await fs.open(upLog, 'r');
    const size = (await fd.stat()).size;
    const buf = Buffer.alloc(size - logFrom);
    await fd.read(buf, 0, buf.length, logFrom);
    await fd.close();
    events.push(...agentEvents(buf.toString('utf8'), startMs));
  }
  return { ms, marks: milestones(events, ms), teardownMs };
}

/**
 * The micro-VM driver in this process (no CLI, no API), `busybox true` in a sandbox of its own, each call
 * timed: what `nubis ctr run --runtime microvm` does between loading its modules and exiting.
 */
function inProcessDriver(host: Host, dataDir: string): { run: () => Promise<RunResult>; close: () => void } {
  const images = new Images(dataDir, host, { snapshots: new OverlaySnapshotStore(path.join(dataDir, 'snapshots'), host) });
  const driver = new MicrovmDriver({ dataDir, host, images });
  let n = 0;
  const run = async () => {
    const id = `bench-${process.pid}-${n++}`;
    const phases: Array<[string, number]> = [];
    const t0 = performance.now();
    let t = t0;
    const step = (name: string) => {
      const now = performance.now();
      phases.push([name, now - t]);
      t = now;
    };
    await driver.createSandbox({ id, namespace: 'bench', name: id });
    step('createSandbox: netns, tap, QEMU launched (daemonized)');
    try {
      const info = await driver.create({ image: 'busybox', command: ['true'], sandbox: id });
      step('create: rootfs, guest boot + agent hello, network, container made');
      await driver.start(info.id);
      step('start');
      const code = await driver.wait(info.id);
      step('wait: true ran and exited');
      if (code !== 0) throw new Error(`busybox true exited ${code} in the micro-VM`);
      await driver.remove(info.id, { force: true });
      step('remove the container');
    } finally {
      await driver.removeSandbox(id);
      step('removeSandbox: guest shutdown, QEMU quit, unpin');
    }
    return { ms: performance.now() - t0, phases };
  };
  return { run, close: () => driver.close() };
}

async function floorEnv(work: string): Promise<{ env: BenchEnv; accel: string; reason: string }> {
  const host = new RealHost();
  const cacheDir = path.join(work, 'floor-cache');
  const kernel = await findGuestKernel({ cacheDir, host });
  const env: BenchEnv = { host, kernel, work, cacheDir, tscKhz: await hostTscKhz() };
  const decision = await decideAccel({ host, kernel, cacheDir });
  return { env, accel: decision.accel, reason: decision.reason };
}

async function startVariants(work: string, cloud: Cloud): Promise<{ variants: Variant[]; close: () => void; first: () => Promise<RunResult> }> {
  const { env, accel, reason } = await floorEnv(work);
  const size = guestSize(undefined);
  console.log(`guest kernel ${env.kernel.version}; ${reason}`);
  const base: BootSpec = { accel: accel as BootSpec['accel'], memoryMiB: size.memoryMiB, cpus: size.cpus, kernel: env.kernel.vmlinux, cmdline: kernelCmdline({ console: 'ttyS0', tscKhz: env.tscKhz }), initrd: '' };
  const floor = { ...base, initrd: await image(env, 'poweroff', { modules: [] }) };
  const share = path.join(work, 'floor-share');
  await fs.mkdir(share, { recursive: true });
  const preludeBody = `d=$(port_dev ${AGENT_PORT}) || poweroff -f\necho ${MARKER} > /dev/console\npoweroff -f`;
  const prelude: BootSpec = {
    ...base,
    initrd: await image(env, preludeBody, { modules: POD_MODULES, share: { fs: '9p', tag: GUEST_SHARE.tag, mountPoint: GUEST_SHARE.mountPoint } }),
    share: { kind: '9p', tag: GUEST_SHARE.tag, path: share },
    agentSocket: path.join(work, 'floor-agent.sock'),
  };
  const ctrVm = path.join(work, 'ctr-microvm');
  const ctrRunc = path.join(work, 'ctr-runc');
  const ctr = (dir: string, runtime: string[], env = process.env) => () => timedCli(['--data-dir', dir, 'ctr', 'run', '--rm', ...runtime, 'busybox', 'true'], env, dir);
  const run = (runtime: string[]) => () => timedCli(['run', '--rm', ...runtime, 'busybox', 'true'], cloud.env, cloud.dataDir, cloud.upLog);
  const inProcess = inProcessDriver(env.host, path.join(work, 'in-process'));
  const boot = (spec: BootSpec) => async () => {
    if (spec.agentSocket) await fs.rm(spec.agentSocket, { force: true });
    return { ms: await bootOnce(env, spec, MARKER) };
  };
  const variants = [
    { key: 'floor', label: `floor: bare boot, init powers off (${size.memoryMiB} MiB, ${size.cpus} vCPU, ${accel})`, run: boot(floor) },
    { key: 'prelude', label: 'guest init before the agent: modules, 9p, port', run: boot(prelude) },
    { key: 'ctrVm', label: 'nubis ctr run --rm --runtime microvm', run: ctr(ctrVm, ['--runtime', 'microvm']) },
    { key: 'ctrVmBoot', label: 'the same, templates off: every VM boots', run: ctr(path.join(work, 'ctr-microvm-boot'), ['--runtime', 'microvm'], { ...process.env, NUBIS_MICROVM_TEMPLATES: 'off' }) },
    { key: 'ctrRunc', label: 'nubis ctr run --rm (runc)', run: ctr(ctrRunc, []) },
    { key: 'driver', label: 'micro-VM driver in-process (no CLI)', run: inProcess.run },
    { key: 'runVm', label: `nubis run --rm --runtime-class ${SECURE}`, run: run(['--runtime-class', SECURE]) },
    { key: 'runRunc', label: 'nubis run --rm (runc)', run: run([]) },
  ];
  return { variants, close: inProcess.close, first: run(['--runtime-class', SECURE]) };
}

async function startSection(work: string, cloud: Cloud): Promise<void> {
  const { variants, close, first } = await startVariants(work, cloud);
  try {
    // The first secure pod of its size makes the VM template (a boot and a snapshot) the others resume from.
    await fs.rm(path.join(process.env.NUBIS_MICROVM_CACHE ?? '/var/cache/nubis/microvm', 'templates'), { recursive: true, force: true });
    const once = await first();
    console.log(`\n1. start: the first secure pod of its size, its VM template made on the way: ${(once.ms / 1000).toFixed(2)} s`);
    await measureStart(variants);
  } finally {
    close();
  }
}

async function measureStart(variants: Variant[]): Promise<void> {
  console.log(`\n1. start: busybox true, ${RUNS} interleaved runs (after one warm-up run each)`);
  const results = new Map(variants.map((v) => [v.key, [] as RunResult[]]));
  const failed = new Map<string, string>();
  for (const v of variants) {
    // warm-up: builds the guest caches, the CLI's code cache, image snapshots
    await v.run().catch((err: Error) => failed.set(v.key, `warm-up: ${err.message}`));
  }
  const load0 = os.loadavg()[0]!;
  for (let i = 0; i < RUNS; i++) {
    for (const v of variants.filter((x) => !failed.has(x.key))) {
      try {
        results.get(v.key)!.push(await v.run());
      } catch (err) {
        failed.set(v.key, (err as Error).message);
      }
    }
  }
  const med = (k: string) => median(results.get(k)!.map((r) => r.ms));
  console.log(`  (load average ${load0.toFixed(2)} -> ${os.loadavg()[0]!.toFixed(2)})`);
  console.log(`  ${'variant'.padEnd(52)} ${'median'.padStart(9)} ${'p90'.padStart(9)}  runs`);
  for (const v of variants) {
    const xs = results.get(v.key)!.map((r) => r.ms);
    if (failed.has(v.key)) console.log(`  ${v.label.padEnd(52)} failed: ${failed.get(v.key)}`);
    if (xs.length === 0) continue;
    console.log(`  ${v.label.padEnd(52)} ${s2(median(xs)).padStart(9)} ${s2(percentile(xs, 90)).padStart(9)}  [${xs.map((x) => (x / 1000).toFixed(2)).join(' ')}]`);
  }
  const floor = med('floor');
  const ratio = (a: string, b: string) => (results.get(a)!.length && results.get(b)!.length ? med(a) / med(b) : NaN);
  const ours = (k: string) => `${(med(k) - floor).toFixed(0)} ms = ${(((med(k) - floor) / floor) * 100).toFixed(0)}% of the boot`;
  console.log('  ratios (medians):');
  console.log(`    nubis run microvm / floor: ${ratio('runVm', 'floor').toFixed(2)}x (target <= 1.2x; our work ${ours('runVm')}, target < 20%)`);
  console.log(`    ctr run microvm / floor:   ${ratio('ctrVm', 'floor').toFixed(2)}x (our work ${ours('ctrVm')})`);
  console.log(`    ctr run microvm, templates off / floor: ${ratio('ctrVmBoot', 'floor').toFixed(2)}x (our work ${ours('ctrVmBoot')})`);
  console.log(`    driver in-process / floor: ${ratio('driver', 'floor').toFixed(2)}x (our work ${ours('driver')})`);
  console.log(`    guest init before the agent / floor: ${ratio('prelude', 'floor').toFixed(2)}x`);
  console.log(`    nubis run microvm / runc:  ${ratio('runVm', 'runRunc').toFixed(2)}x;  ctr run microvm / runc: ${ratio('ctrVm', 'ctrRunc').toFixed(2)}x`);
  for (const k of ['runVm', 'runRunc', 'ctrVm', 'ctrRunc']) printSteps(variants.find((v) => v.key === k)!.label, results.get(k)!);
  printPhases(results.get('driver')!, med('prelude'), floor);
  const row = (k: string) => (results.get(k)!.length ? `${s2(med(k))} (p90 ${s2(percentile(results.get(k)!.map((r) => r.ms), 90))})` : 'failed');
  summary.push(
    ['start: floor (bare boot, init powers off)', row('floor'), ''],
    ['start: guest init before the agent', row('prelude'), `${ratio('prelude', 'floor').toFixed(2)}x floor`],
    [`start: nubis run --runtime-class ${SECURE}`, row('runVm'), `${ratio('runVm', 'floor').toFixed(2)}x floor (target <= 1.2x), ${ratio('runVm', 'runRunc').toFixed(1)}x runc`],
    ['start: nubis run (runc)', row('runRunc'), ''],
    ['start: nubis ctr run --runtime microvm', row('ctrVm'), `${ratio('ctrVm', 'floor').toFixed(2)}x floor, ${ratio('ctrVm', 'ctrRunc').toFixed(1)}x runc`],
    ['start: the same, templates off (VMs boot)', row('ctrVmBoot'), `${ratio('ctrVmBoot', 'floor').toFixed(2)}x floor`],
    ['start: nubis ctr run (runc)', row('ctrRunc'), ''],
    ['start: micro-VM driver in-process', row('driver'), `${ratio('driver', 'floor').toFixed(2)}x floor`],
  );
}

/** Medians of the in-process driver's phases, beside the floors that bound the guest's part of them. */
function printPhases(runs: RunResult[], prelude: number, floor: number): void {
  if (runs.length === 0) return;
  console.log(`\n  where the time goes: micro-VM driver in-process (medians of ${runs.length})`);
  for (const [i, [name]] of runs[0]!.phases!.entries()) {
    console.log(`    ${name.padEnd(70)} ${`${median(runs.map((r) => r.phases![i]![1])).toFixed(0)} ms`.padStart(9)}`);
  }
  console.log(`    (the guest alone, spawn to power-off: kernel ${floor.toFixed(0)} ms; + the pod's modules, 9p mount, agent port ${prelude.toFixed(0)} ms)`);
}

/** Each traced step's median time after the spawn, in that order, with the gap to the row before. */
function printSteps(label: string, runs: RunResult[]): void {
  const traced = runs.filter((r) => r.marks);
  if (traced.length === 0) return;
  const at = new Map<string, number[]>();
  for (const r of traced) for (const [k, v] of r.marks!) at.set(k, [...(at.get(k) ?? []), v]);
  const rows = [...at].map(([k, xs]) => [k, median(xs), xs.length] as const).sort((a, b) => a[1] - b[1]);
  console.log(`\n  where the time goes: ${label} (NUBIS_TRACE; median ms after the spawn, and the gap to the row before)`);
  let prev = 0;
  for (const [k, m, n] of rows) {
    console.log(`    ${k.padEnd(58)} ${m.toFixed(0).padStart(6)} ms  +${(m - prev).toFixed(0).padStart(5)}${n < traced.length ? `  (in ${n}/${traced.length} runs)` : ''}`);
    prev = m;
  }
  const td = traced.map((r) => r.teardownMs ?? 0);
  console.log(`    ${'then, after the exit, until its VM/containers are gone'.padEnd(58)} ${median(td).toFixed(0).padStart(6)} ms`);
}

// ---- memory ----

interface VmPodMemory {
  name: string;
  qemuPid: number;
  total: number;
  processes: string;
  guestMiB: number;
  split: Record<'guest' | 'guestPrivate' | 'tcg' | 'images' | 'rest' | 'restFiles', number>;
  qemuRss: number;
}

async function vmPodMemory(cloud: Cloud, pod: Pod): Promise<VmPodMemory> {
  const dir = path.join(cloud.dataDir, 'microvm', 'sandboxes', pod.metadata.uid!);
  const procs = procsMentioning(`${dir}/`);
  const qemu = procs.find((p) => QEMU.test(p.comm));
  if (!qemu) throw new Error(`no QEMU found for pod ${pod.metadata.name} (${dir})`);
  const rec = JSON.parse(await fs.readFile(path.join(dir, 'vm.json'), 'utf8')) as { memoryMiB: number };
  const pss = await Promise.all(procs.map((p) => pssMiB(p.pid)));
  // The kernel and initramfs: wherever the driver keeps them (its cache), as QEMU was told.
  const kernel = / -kernel (\S+)/.exec(qemu.cmdline)?.[1];
  return {
    name: pod.metadata.name,
    qemuPid: qemu.pid,
    total: pss.reduce((a, b) => a + b, 0),
    processes: procs.map((p, i) => `${p.comm} ${pss[i]!.toFixed(1)}`).join(', '),
    guestMiB: rec.memoryMiB,
    split: await pssBreakdown(qemu.pid, rec.memoryMiB, kernel ? `${path.dirname(kernel)}/` : '/nonexistent/'),
    qemuRss: rssMiB(qemu.pid),
  };
}

/** conmon PSS and the container cgroups' memory (without inactive page cache) of a runc pod. */
async function runcPodMemory(cloud: Cloud, pod: Pod): Promise<{ conmon: number; cgroup: number }> {
  const root = path.join(cloud.dataDir, 'containers');
  let conmon = 0;
  let cgroup = 0;
  for (const id of readdirSync(root).filter((d) => /^[0-9a-f]{64}$/.test(d))) {
    const rec = JSON.parse(await fs.readFile(path.join(root, id, 'record.json'), 'utf8').catch(() => '{}')) as { cgroupsPath?: string };
    if (!rec.cgroupsPath?.startsWith(`/nubis/pod-${pod.metadata.uid}/`)) continue;
    for (const p of conmonsOf(id)) conmon += await pssMiB(p.pid);
    cgroup += (await readCgroupStats(rec.cgroupsPath)).memoryBytes / 1048576;
  }
  return { conmon, cgroup };
}

async function waitPods(cloud: Cloud, selector: string, count: number, timeoutMs: number): Promise<Pod[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const pods = (await cloud.client.list<Pod>(PODS, { namespace: 'default', labelSelector: selector })).items;
    if (pods.length === count && pods.every((p) => p.status?.phase === 'Running' && isReady(p))) return pods;
    const bad = pods.find((p) => p.status?.phase === 'Failed' || p.status?.phase === 'Succeeded');
    if (bad) throw new Error(`pod ${bad.metadata.name} ended: ${bad.status?.phase} ${bad.status?.message ?? ''}`);
    if (Date.now() > until) throw new Error(`pods ${selector} not all Ready after ${timeoutMs / 1000} s: ${pods.map((p) => `${p.metadata.name} ${p.status?.phase}`).join(', ')}`);
    await sleep(1000);
  }
}

async function memorySection(cloud: Cloud): Promise<void> {
  console.log(`\n2. host memory per idle pod: ${IDLE} secure and ${IDLE} runc pods (sleep, memory limit 64Mi), sampled 15 s after all are Ready`);
  const rss0 = rssMiB(cloud.pid);
  const avail0 = memAvailableMiB();
  for (let i = 0; i < IDLE; i++) await cloud.client.create(PODS, podManifest(`idle-vm-${i}`, { bench: 'idle', kind: 'vm' }, SECURE));
  for (let i = 0; i < IDLE; i++) await cloud.client.create(PODS, podManifest(`idle-runc-${i}`, { bench: 'idle', kind: 'runc' }));
  const vmPods = await waitPods(cloud, 'bench=idle,kind=vm', IDLE, 300_000);
  const runcPods = await waitPods(cloud, 'bench=idle,kind=runc', IDLE, 120_000);
  const qemuPids = vmPods.flatMap((p) => qemusOf(path.join(cloud.dataDir, 'microvm', 'sandboxes', p.metadata.uid!, '')).map((q) => q.pid));
  const cpu0 = qemuPids.map(cpuSeconds);
  await sleep(15_000);
  const idlePct = qemuPids.map((pid, i) => ((cpuSeconds(pid) - cpu0[i]!) / 15) * 100);
  const vms = await Promise.all(vmPods.map((p) => vmPodMemory(cloud, p)));
  const runcs = await Promise.all(runcPods.map((p) => runcPodMemory(cloud, p)));
  const rss1 = rssMiB(cloud.pid);
  const avail1 = memAvailableMiB();
  for (const v of vms) {
    const s = v.split;
    console.log(`  ${v.name}: ${mib(v.total)} PSS (${v.processes}; guest ${v.guestMiB} MiB; QEMU RSS ${mib(v.qemuRss)})`);
    console.log(`    QEMU: guest RAM ${mib(s.guest)} (its own ${mib(s.guestPrivate)}), TCG code ${mib(s.tcg)}, kernel+initramfs files ${mib(s.images)}, rest ${mib(s.rest)} (of it files: QEMU and libraries ${mib(s.restFiles)})`);
  }
  for (const [i, r] of runcs.entries()) console.log(`  ${runcPods[i]!.metadata.name}: conmon ${mib(r.conmon)} PSS + container cgroup ${mib(r.cgroup)} = ${mib(r.conmon + r.cgroup)}`);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const vm = mean(vms.map((v) => v.total));
  const part = (k: keyof VmPodMemory['split']) => mean(vms.map((v) => v.split[k]));
  const runc = mean(runcs.map((r) => r.conmon + r.cgroup));
  const marginal = vm - part('images') - part('restFiles');
  console.log(`  mean per secure pod: ${mib(vm)} (target <= 128 MiB; Kata ~120 MiB): guest RAM ${mib(part('guest'))} (its own ${mib(part('guestPrivate'))}), TCG ${mib(part('tcg'))}, image files ${mib(part('images'))}, QEMU's own ${mib(part('rest'))}`);
  console.log(`  without the shared file mappings (kernel, initramfs, QEMU, libraries: page cache, divided among the VMs): ${mib(marginal)}`);
  console.log(`  mean per runc pod: ${mib(runc)}; secure/runc ${(vm / runc).toFixed(0)}x`);
  console.log(`  nubis up RSS ${mib(rss0)} -> ${mib(rss1)}; host MemAvailable -${mib(avail0 - avail1)} with the ${IDLE} secure and ${IDLE} runc pods`);
  const mean0 = cpu0.length ? cpu0.reduce((a, b) => a + b, 0) / cpu0.length : NaN;
  const meanIdle = idlePct.length ? idlePct.reduce((a, b) => a + b, 0) / idlePct.length : NaN;
  console.log(`  QEMU CPU time per VM: ${mean0.toFixed(2)} s up to Ready (booted ${IDLE} at once), then ${meanIdle.toFixed(1)}% of a core while idle (15 s)`);
  summary.push(
    [`memory: idle secure pod, PSS (${vms[0]?.guestMiB ?? '?'} MiB guest)`, mib(vm), 'target <= 128 MiB; Kata ~120 MiB'],
    ['memory:   guest RAM / TCG code / kernel+initramfs / QEMU', [part('guest'), part('tcg'), part('images'), part('rest')].map((x) => x.toFixed(1)).join(' / '), ''],
    ['memory:   without shared file mappings', mib(marginal), ''],
    ['memory: idle runc pod (conmon + cgroup)', mib(runc), ''],
    ['cpu: QEMU to Ready / idle, per VM', `${mean0.toFixed(2)} s / ${meanIdle.toFixed(1)}% of a core`, ''],
  );
  console.log(`  deleted in ${s2(await deletePods(cloud, 'bench=idle'))}`);
}

// ---- density ----

interface DensityResult {
  ready: number;
  unschedulable: number;
  allReadyMs?: number;
  watchMs: number[];
  objectMs: number[];
  note: string;
  pss: number;
  availDrop: number;
  /** CPU seconds all QEMUs used, from their start to the end of the round. */
  cpu: number;
  vms: number;
}

/** When each pod matching `selector` was first seen Ready in a watch (performance.now()); stop() ends it. */
async function watchReady(cloud: Cloud, selector: string): Promise<{ readyAt: Map<string, number>; stop(): Promise<void> }> {
  const abort = new AbortController();
  const readyAt = new Map<string, number>();
  const list = await cloud.client.list<Pod>(PODS, { namespace: 'default', labelSelector: selector });
  const events = await cloud.client.watch<Pod>(PODS, { namespace: 'default', labelSelector: selector, resourceVersion: list.metadata.resourceVersion, signal: abort.signal });
  const watching = (async () => {
    for await (const e of events) {
      const name = e.object.metadata?.name;
      if (name && isReady(e.object) && !readyAt.has(name)) readyAt.set(name, performance.now());
    }
  })().catch(() => undefined);
  return { readyAt, stop: async () => (abort.abort(), await watching) };
}

/**
 * Lists the pods every 2 s (a progress line every 30 s) until all `count` are Ready, or every pod not
 * Ready has been unschedulable (or ended) for 15 s with no change, or DENSITY_TIMEOUT_MS has passed.
 */
async function followPods(cloud: Cloud, selector: string, count: number, t0: number): Promise<{ pods: Pod[]; note: string }> {
  let note = '';
  let stableSince = performance.now();
  let lastReady = -1;
  let nextReport = t0 + 30_000;
  for (;;) {
    await sleep(2000);
    const pods = (await cloud.client.list<Pod>(PODS, { namespace: 'default', labelSelector: selector })).items;
    const ready = pods.filter(isReady).length;
    const stuck = pods.filter(unschedulable);
    const failed = pods.filter((p) => p.status?.phase === 'Failed' || p.status?.phase === 'Succeeded');
    if (ready !== lastReady) [lastReady, stableSince] = [ready, performance.now()];
    const now = performance.now();
    if (now > nextReport) {
      nextReport += 30_000;
      console.log(`    ${s2(now - t0)}: ${ready} Ready, ${stuck.length} unschedulable, ${qemusOf(cloud.dataDir).length} QEMU, load ${os.loadavg()[0]!.toFixed(1)}`);
    }
    if (ready === count) return { pods, note };
    if (failed.length > 0) note = `${failed.length} pods ended (${failed[0]!.metadata.name}: ${failed[0]!.status?.phase} ${failed[0]!.status?.message ?? ''}); `;
    if (stuck.length > 0 && ready + stuck.length + failed.length === count && now - stableSince > 15_000) {
      return { pods, note: `${note}${stuck.length} unschedulable: ${stuck[0]!.status!.conditions!.find((c) => c.type === 'PodScheduled')!.message}` };
    }
    if (now - t0 > DENSITY_TIMEOUT_MS) return { pods, note: `${note}gave up after ${DENSITY_TIMEOUT_MS / 60_000} min: ${ready}/${count} Ready` };
  }
}

/** Creates `count` pods of `runtimeClass` at once and follows them until all are Ready (or cannot be). */
async function densityRound(cloud: Cloud, runtimeClass: string, count: number): Promise<DensityResult> {
  const selector = `bench=density,rc=${runtimeClass}`;
  const created = new Map<string, number>();
  const watch = await watchReady(cloud, selector);
  const avail0 = memAvailableMiB();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: count }, (_, i) => {
      const name = `density-${runtimeClass}-${i}`.slice(0, 63);
      created.set(name, performance.now());
      return cloud.client.create(PODS, podManifest(name, { bench: 'density', rc: runtimeClass }, runtimeClass));
    }),
  );
  const { pods, note } = await followPods(cloud, selector, count, t0);
  const ready = pods.filter(isReady).length;
  await sleep(500);
  await watch.stop();
  const allReadyMs = ready === count ? Math.max(...watch.readyAt.values()) - t0 : undefined;
  const qemus = qemusOf(cloud.dataDir);
  const vmPss = await Promise.all(qemus.map((p) => pssMiB(p.pid)));
  const objectMs = pods.flatMap((p) => {
    const at = p.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'True')?.lastTransitionTime;
    return at && p.metadata.creationTimestamp ? [Date.parse(at) - Date.parse(p.metadata.creationTimestamp)] : [];
  });
  return {
    ready,
    unschedulable: pods.filter(unschedulable).length,
    allReadyMs,
    watchMs: [...watch.readyAt].map(([n, t]) => t - created.get(n)!),
    objectMs,
    note,
    pss: vmPss.reduce((a, b) => a + b, 0),
    availDrop: avail0 - memAvailableMiB(),
    cpu: qemus.reduce((a, p) => a + cpuSeconds(p.pid), 0),
    vms: qemus.length,
  };
}

function printDensity(label: string, count: number, r: DensityResult): string {
  const p = (xs: number[], q: number) => (xs.length ? s2(percentile(xs, q)) : 'n/a');
  const all = r.allReadyMs === undefined ? 'not all Ready' : `all Ready in ${s2(r.allReadyMs)}`;
  console.log(`  ${label}: ${r.ready}/${count} Ready, ${all}${r.note ? `; ${r.note}` : ''}`);
  console.log(`    start, create request -> Ready seen in a watch: p50 ${p(r.watchMs, 50)}, p99 ${p(r.watchMs, 99)} (${r.watchMs.length} pods)`);
  console.log(`    creationTimestamp -> Ready condition (1 s resolution): p50 ${p(r.objectMs, 50)}, p99 ${p(r.objectMs, 99)}`);
  console.log(`    host: QEMU PSS ${mib(r.pss)} in all (${mib(r.ready ? r.pss / r.ready : 0)} per Ready pod), MemAvailable -${mib(r.availDrop)}`);
  console.log(`    QEMU CPU time: ${r.cpu.toFixed(1)} s in all, ${(r.cpu / Math.max(1, r.vms)).toFixed(2)} s per VM (${r.vms} VMs, ${os.cpus().length} cores)`);
  return `${r.ready}/${count} Ready${r.allReadyMs === undefined ? '' : ` in ${s2(r.allReadyMs)}`}, start p50 ${p(r.watchMs, 50)} p99 ${p(r.watchMs, 99)}`;
}

async function densitySection(cloud: Cloud): Promise<void> {
  console.log(`\n3. density: ${DENSITY} secure pods (sleep, memory limit 64Mi) created at once`);
  const first = await densityRound(cloud, SECURE, DENSITY);
  const line = printDensity(`RuntimeClass ${SECURE}`, DENSITY, first);
  console.log(`    deleted, every VM gone, in ${s2(await deletePods(cloud, `bench=density,rc=${SECURE}`))}`);
  summary.push([`density: ${DENSITY} x ${SECURE} at once`, line, first.note]);
  if (first.unschedulable === 0) return;
  // The shipped class's overhead asks the scheduler for CPU the VMs do not reserve: see what the machine does
  // with all of them, through a class of the same handler whose overhead is memory only.
  const name = 'bench-microvm-memory-overhead';
  const rc = await cloud.client.get<KubeObject & { overhead?: { podFixed?: Record<string, string> } }>(RUNTIME_CLASSES, SECURE);
  const memory = rc.overhead?.podFixed?.memory;
  console.log(`  ${SECURE}'s overhead is ${JSON.stringify(rc.overhead?.podFixed ?? {})}: again with RuntimeClass ${name} (handler ${SECURE}, overhead ${memory ? `memory ${memory}` : 'none'}, no CPU)`);
  await cloud.client.create(RUNTIME_CLASSES, { apiVersion: 'node.k8s.io/v1', kind: 'RuntimeClass', metadata: { name }, handler: SECURE, ...(memory ? { overhead: { podFixed: { memory } } } : {}) } as never);
  try {
    const second = await densityRound(cloud, name, DENSITY);
    const line2 = printDensity(`RuntimeClass ${name}`, DENSITY, second);
    console.log(`    deleted, every VM gone, in ${s2(await deletePods(cloud, `bench=density,rc=${name}`))}`);
    summary.push([`density: ${DENSITY} x ${name}`, line2, second.note]);
  } finally {
    await cloud.client.delete(RUNTIME_CLASSES, name).catch(() => undefined);
  }
}

// ---- main ----

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'nubis-bench-secure-'));
  const load0 = os.loadavg()[0]!;
  console.log(`secure pods on ${os.cpus().length} CPUs, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB; sections: ${[...ONLY].join(', ')}`);
  let cloud: Cloud | undefined;
  try {
    cloud = await startCloud(path.join(work, 'cloud'));
    if (ONLY.has('start')) await startSection(work, cloud);
    if (ONLY.has('memory')) await memorySection(cloud);
    if (ONLY.has('density')) await densitySection(cloud);
  } finally {
    if (cloud) await stopCloud(cloud);
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((m): m is string => m !== undefined && m.startsWith(work));
    for (const m of mounts.sort((a, b) => b.length - a.length)) spawnSync('umount', ['--lazy', m]);
    await fs.rm(work, { recursive: true, force: true });
  }
  console.log(`\nsummary (load average ${load0.toFixed(2)} -> ${os.loadavg()[0]!.toFixed(2)})`);
  const w = Math.max(...summary.map((r) => r[0].length));
  const v = Math.max(...summary.map((r) => r[1].length));
  for (const [what, value, vs] of summary) console.log(`  ${what.padEnd(w)}  ${value.padEnd(v)}  ${vs}`);
}

await main();
