/**
 * The micro-VM driver: each pod sandbox is a QEMU micro-VM with its own kernel (vm-sandboxes.ts), and the
 * pod's containers run inside it under the guest agent (guest/, guest-client.ts), from root filesystems
 * the host mounts from the image store and shares in over 9p (guest-workload.ts). Records live on the
 * host (<data>/microvm/containers/<id>/record.json, as the OCI driver's), the log and the exit file in the
 * sandbox's shared directory, written by the guest: so state, logs and exits are read from files, and a
 * restarted agent finds everything again without asking the guest. A workload whose VM is gone without
 * an exit file has exited with 255.
 */
import { constants as fsConstants, existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import type { Host } from '../../host/host.js';
import { internal, invalid, isNubisError, notFound, timeout, unavailable } from '../../lib/errors.js';
import { exists } from '../../lib/files.js';
import { logger } from '../../lib/log.js';
import type {
  AttachSession,
  AttachStreams,
  Capabilities,
  ExecRequest,
  LogEntry,
  LogOptions,
  StopOptions,
  WorkloadInfo,
  WorkloadSpec,
  WorkloadState,
  WorkloadStats,
} from '../driver.js';
import { checkName, ContainerStore, imageDigestsInUse, newContainerId, recordBase, recordInfo, type ContainerRecord } from '../oci/container-store.js';
import { ExitWatcher } from '../oci/exit-watcher.js';
import { readLog, Waker } from '../oci/logs.js';
import type { RootfsProvider } from '../oci/oci-containers.js';
import { guard, ignoreGone } from '../oci/state-machine.js';
import { checkSandboxId, type SandboxCapabilities, type SandboxDriver, type SandboxInfo, type SandboxSpec } from '../sandbox.js';
import { guestAssets, type GuestAssets } from './guest-assets.js';
import { guestExec, guestAttach } from './guest-streams.js';
import { guestOptions, guestWorkloadPaths, prepareGuestWorkload, type GuestWorkloadPaths } from './guest-workload.js';
import { signalNumber } from './guest-client.js';
import { unmountUnder, VmSandboxes } from './vm-sandboxes.js';
import { templatesEnabled, VmTemplates } from './vm-templates.js';

const log = logger('microvm');

/** A workload's record: the OCI driver's, plus its sandbox and the identity it runs as. */
export interface GuestRecord extends ContainerRecord {
  sandbox: string;
  /** The generation of the sandbox's VM it was made in (vm-sandboxes.ts). */
  generation: string;
  uid: number;
  gid: number;
  groups: number[];
}

export interface MicrovmDriverOptions {
  dataDir: string;
  host: Host;
  images: RootfsProvider;
  /**
   * Where the guest kernel, initramfs and KVM decision are kept: shared by every data dir of the machine
   * (they depend only on the machine's kernel package, QEMU and this program). Default
   * $NUBIS_MICROVM_CACHE or /var/cache/nubis/microvm.
   */
  cacheDir?: string;
}

export class MicrovmDriver implements SandboxDriver {
  readonly name = 'microvm';
  readonly capabilities: Capabilities = { exec: true, tty: true, attach: true, pause: false, stats: true, checkpoint: false, migrate: false };
  readonly sandboxCapabilities: SandboxCapabilities = { network: 'namespace', kernel: 'guest', userNamespaces: false };
  readonly #root: string;
  readonly #store: ContainerStore;
  readonly #vms: VmSandboxes;
  readonly #exits: ExitWatcher;
  #assets: Promise<GuestAssets> | undefined;

  constructor(private readonly opts: MicrovmDriverOptions) {
    this.#root = path.join(opts.dataDir, 'microvm');
    this.#store = new ContainerStore(this.#root);
    const templates = templatesEnabled() ? new VmTemplates(opts.host, () => this.assets()) : undefined;
    this.#vms = new VmSandboxes(opts.host, this.#root, () => this.assets(), templates);
    this.#exits = new ExitWatcher((id) => this.#exitDirOf(id));
  }

  /** The guest kernel, initramfs and accelerator (made once; a failure is tried again next time). */
  assets(): Promise<GuestAssets> {
    const cacheDir = this.opts.cacheDir ?? process.env.NUBIS_MICROVM_CACHE ?? '/var/cache/nubis/microvm';
    this.#assets ??= guestAssets(this.opts.host, cacheDir, { warn: (m) => log.warn(m) });
    this.#assets.catch(() => (this.#assets = undefined));
    return this.#assets;
  }

  // ---- sandboxes ----

  async createSandbox(spec: SandboxSpec, signal?: AbortSignal): Promise<SandboxInfo> {
    checkSandboxId(spec.id);
    if (spec.userNamespace) throw unavailable('the micro-VM runtime gives pods no user namespace of their own (hostUsers: false): the pod has its own kernel instead');
    if (spec.adoptFromPid !== undefined) throw invalid('a micro-VM sandbox cannot adopt another process\'s namespaces');
    await this.#keepFiles(spec.id);
    await this.#vms.create(spec, signal);
    return { id: spec.id, driver: this.name, networkNamespace: this.#vms.netns(spec.id) };
  }

  async sandbox(id: string): Promise<SandboxInfo | undefined> {
    if (!(await this.#vms.exists(id))) return undefined;
    return { id, driver: this.name, networkNamespace: this.#vms.netns(id) };
  }

  sandboxIds(): Promise<string[]> {
    return this.#vms.ids();
  }

  async removeSandbox(id: string): Promise<void> {
    await this.#keepFiles(id);
    await this.#vms.remove(id);
  }

  /**
   * Before a sandbox's shared directory goes: the logs, exit and OOM files its guest wrote for each of
   * its workloads move to the workload's own directory, so that logs and exit codes outlive the VM (a
   * completed pod's, a lost sandbox's earlier runs).
   */
  async #keepFiles(sandbox: string): Promise<void> {
    // The share holds a directory per workload made in it, named by its id (guest-workload.ts).
    const ids = await fs.readdir(this.#vms.shared(sandbox)).catch(() => [] as string[]);
    for (const id of ids) {
      const rec = (await this.#store.read(id).catch(() => undefined)) as GuestRecord | undefined;
      if (rec?.sandbox !== sandbox) continue;
      const from = this.#paths(rec);
      const to = this.#store.paths(id);
      if (from.log === to.log) continue;
      await fs.mkdir(to.exitDir, { recursive: true });
      for (const [a, b] of [[from.log, to.log], [from.exitFile, to.exitFile], [from.oomFile, to.oomFile]] as const) await copyGuestFile(a, b);
    }
  }

  async describeSandbox(id: string): Promise<string | undefined> {
    const rec = await this.#vms.record(id);
    return rec && `micro-VM with ${rec.memoryMiB} MiB and ${rec.cpus} vCPU on ${rec.accelReason}${rec.template ? ', resumed from a template' : ''}`;
  }

  /** Prepares the guest kernel and initramfs and probes KVM once, so the first pod does not wait for it. */
  async nodeAnnotations(): Promise<Record<string, string>> {
    const { accel } = await this.assets();
    log.info(`micro-VMs on this node run on ${accel.reason}`);
    return { 'nubis.dev/microvm-accelerator': accel.accel, 'nubis.dev/microvm-accelerator-reason': accel.reason };
  }

  // ---- workloads ----

  /** Where a workload's files are: in its sandbox's share while that exists, else the copies kept beside its record. */
  #paths(rec: Pick<GuestRecord, 'id' | 'sandbox'>): GuestWorkloadPaths {
    const shared = guestWorkloadPaths(this.#vms.shared(rec.sandbox), rec.id);
    if (existsSync(shared.host)) return shared;
    const kept = this.#store.paths(rec.id);
    return { ...shared, log: kept.log, exitDir: kept.exitDir, exitFile: kept.exitFile, oomFile: kept.oomFile };
  }

  /** The exit dir of a workload by id (the watcher asks before the record may be read: from a cache). */
  readonly #sandboxOf = new Map<string, string>();
  #exitDirOf(id: string): string {
    const sandbox = this.#sandboxOf.get(id);
    return sandbox ? this.#paths({ id, sandbox }).exitDir : path.join(this.#root, 'no-such-dir');
  }

  async #record(ref: string): Promise<GuestRecord> {
    const rec = (await this.#store.resolve(ref)) as GuestRecord;
    this.#sandboxOf.set(rec.id, rec.sandbox);
    return rec;
  }

  async create(spec: WorkloadSpec, signal?: AbortSignal): Promise<WorkloadInfo> {
    const opts = guestOptions(spec);
    if (spec.name !== undefined) checkName(spec.name);
    const sandbox = spec.sandbox!;
    if (!(await this.#vms.exists(sandbox))) throw notFound(`sandbox ${sandbox} does not exist`);
    const { image, lowerDirs } = await this.opts.images.prepareRootfs(spec.image, signal);
    const id = newContainerId();
    const store = this.#store.paths(id);
    const p = guestWorkloadPaths(this.#vms.shared(sandbox), id);
    let name: string | undefined;
    try {
      name = await this.#store.reserveFreeName(id, spec.name);
      await Promise.all([fs.mkdir(store.upper, { recursive: true }), fs.mkdir(store.work, { recursive: true }), fs.mkdir(p.rootfs, { recursive: true })]);
      await this.opts.host.mountOverlay(lowerDirs, store.upper, store.work, p.rootfs, { volatile: true, inert: true });
      const prepared = await prepareGuestWorkload(this.opts.host, id, spec, opts, image, p);
      await this.#vms.ensureNetwork(sandbox, spec.hostname ?? id.slice(0, 12));
      const client = await this.#vms.client(sandbox);
      await client.create(prepared.request, { signal });
      const rec: GuestRecord = {
        ...recordBase(id, name, spec, image),
        runtime: 'microvm',
        runtimeRoot: this.#root,
        command: prepared.argv,
        env: prepared.env,
        workdir: prepared.workdir,
        user: `${prepared.uid}:${prepared.gid}`,
        stopSignal: image.config.config?.StopSignal ?? 'SIGTERM',
        tty: Boolean(spec.tty),
        cgroupsPath: '',
        lowerDirs,
        sandbox,
        generation: (await this.#vms.record(sandbox))?.generation ?? '',
        uid: prepared.uid,
        gid: prepared.gid,
        groups: prepared.groups,
      };
      await fs.writeFile(store.record, JSON.stringify(rec, null, 2) + '\n');
      this.#sandboxOf.set(id, sandbox);
      return this.#info(rec, { status: 'created', oomKilled: false });
    } catch (err) {
      await this.#teardown(id, sandbox, name).catch((e: unknown) => log.warn(`clean-up after failed create: ${(e as Error).message}`));
      throw isNubisError(err) ? err : internal(`cannot create the container: ${(err as Error).message}`, err);
    }
  }

  async #teardown(id: string, sandbox: string, name: string | undefined): Promise<void> {
    const p = guestWorkloadPaths(this.#vms.shared(sandbox), id);
    if (await this.#vms.exists(sandbox)) {
      const client = await this.#vms.client(sandbox).catch(() => undefined);
      await client?.remove(id).catch((err: unknown) => {
        if (!isNubisError(err, 'NotFound')) throw err;
      });
    }
    await unmountUnder(this.opts.host, p.host);
    await fs.rm(p.host, { recursive: true, force: true });
    await fs.rm(this.#store.paths(id).dir, { recursive: true, force: true });
    if (name) await this.#store.releaseName(name, id);
    this.#exits.unwatch(id);
    this.#sandboxOf.delete(id);
  }

  async #state(rec: GuestRecord): Promise<WorkloadState> {
    const p = this.#paths(rec);
    const started = await fs.stat(this.#store.paths(rec.id).started).then((s) => s.mtime, () => undefined);
    const exit = await readExit(p);
    if (exit) return { status: 'exited', exitCode: exit.code, startedAt: started, finishedAt: exit.at, oomKilled: exit.oom };
    const vm = (await this.#vms.exists(rec.sandbox)) ? await this.#vms.record(rec.sandbox) : undefined;
    if (!vm || vm.generation !== rec.generation) {
      // Its VM is gone: it ended with it (255), at the time this was first seen, kept for later reads.
      const kept = this.#store.paths(rec.id);
      await fs.mkdir(kept.exitDir, { recursive: true });
      await fs.writeFile(kept.exitFile, '255', { flag: 'wx' }).catch(() => {});
      const at = await fs.stat(kept.exitFile).then((st) => st.mtime, () => new Date());
      return { status: 'exited', exitCode: 255, startedAt: started, finishedAt: at, oomKilled: false };
    }
    return started ? { status: 'running', startedAt: started, oomKilled: false } : { status: 'created', oomKilled: false };
  }

  #info(rec: GuestRecord, state: WorkloadState): WorkloadInfo {
    const p = this.#paths(rec);
    const store = this.#store.paths(rec.id);
    return recordInfo(this.name, rec, state, { log: p.log, rootfs: p.rootfs, upper: store.upper, work: store.work });
  }

  async start(ref: string): Promise<void> {
    const rec = await this.#record(ref);
    guard('start', (await this.#state(rec)).status, rec.name);
    const client = await this.#vms.client(rec.sandbox);
    // The stamp (its mtime is StartedAt) is the host's: outside the share, where the guest cannot touch it.
    const started = this.#store.paths(rec.id).started;
    await fs.writeFile(started, '');
    try {
      await client.start(rec.id);
    } catch (err) {
      await fs.rm(started, { force: true });
      throw err;
    }
  }

  async list(): Promise<WorkloadInfo[]> {
    const recs = await Promise.all((await this.#store.ids()).map((id) => this.#store.read(id).catch(() => undefined)));
    const found = recs.filter((r): r is GuestRecord => r !== undefined);
    for (const r of found) this.#sandboxOf.set(r.id, r.sandbox);
    const infos = await Promise.all(found.map(async (r) => this.#info(r, await this.#state(r))));
    return infos.sort((a, b) => b.created.getTime() - a.created.getTime());
  }

  async get(ref: string): Promise<WorkloadInfo> {
    const rec = await this.#record(ref);
    return this.#info(rec, await this.#state(rec));
  }

  async stop(ref: string, opts: StopOptions = {}): Promise<void> {
    const rec = await this.#record(ref);
    guard('stop', (await this.#state(rec)).status, rec.name);
    const client = await this.#vms.client(rec.sandbox);
    const seconds = opts.timeoutSeconds ?? 10;
    await client.kill(rec.id, signalNumber(opts.signal ?? rec.stopSignal)).catch(ignoreGone);
    if (await this.#waitExit(rec, seconds * 1000)) return;
    log.info(`container ${rec.name} did not stop within ${seconds}s: killing it`);
    await client.kill(rec.id, 'SIGKILL').catch(ignoreGone);
    if (!(await this.#waitExit(rec, 10_000))) throw timeout(`container ${rec.name} did not exit after SIGKILL`);
  }

  async kill(ref: string, signal = 'KILL'): Promise<void> {
    const rec = await this.#record(ref);
    guard('kill', (await this.#state(rec)).status, rec.name);
    await (await this.#vms.client(rec.sandbox)).kill(rec.id, signalNumber(signal));
  }

  async pause(): Promise<void> {
    throw unavailable('the micro-VM runtime cannot pause a container');
  }

  async resume(): Promise<void> {
    throw unavailable('the micro-VM runtime cannot pause a container');
  }

  async remove(ref: string, opts: { force?: boolean } = {}): Promise<void> {
    const rec = await this.#record(ref);
    const status = (await this.#state(rec)).status;
    if (status !== 'exited') {
      if (status !== 'created' && !opts.force) guard('remove', status, rec.name);
      const client = await this.#vms.client(rec.sandbox);
      await client.kill(rec.id, 'SIGKILL').catch(ignoreGone);
      if (status === 'running' && !(await this.#waitExit(rec, 10_000))) throw timeout(`container ${rec.name} did not exit after SIGKILL`);
    }
    await this.#teardown(rec.id, rec.sandbox, rec.name);
  }

  /** Waits up to `ms` for the workload to have exited; true when it has. */
  async #waitExit(rec: GuestRecord, ms: number, signal?: AbortSignal): Promise<boolean> {
    const waker = new Waker([this.#paths(rec).exitDir]);
    try {
      const deadline = Date.now() + ms;
      for (;;) {
        if ((await this.#state(rec)).status === 'exited') return true;
        const left = deadline - Date.now();
        if (left <= 0 || signal?.aborted) return false;
        await waker.wait(Math.min(left, 500), signal);
      }
    } finally {
      waker.close();
    }
  }

  async wait(ref: string, signal?: AbortSignal): Promise<number> {
    const rec = await this.#record(ref);
    while (!signal?.aborted && !(await this.#waitExit(rec, 60_000, signal)));
    return (await this.#state(rec)).exitCode ?? -1;
  }

  async exec(ref: string, req: ExecRequest): Promise<number> {
    const rec = await this.#record(ref);
    guard('exec', (await this.#state(rec)).status, rec.name);
    return guestExec(await this.#vms.client(rec.sandbox), rec, this.#paths(rec).rootfs, req);
  }

  async attach(ref: string, streams: AttachStreams): Promise<AttachSession> {
    const rec = await this.#record(ref);
    guard('attach', (await this.#state(rec)).status, rec.name);
    return guestAttach(await this.#vms.client(rec.sandbox), rec.id, streams, { keepStdinOpen: Boolean(rec.spec.keepStdinOpen) });
  }

  async *logs(ref: string, opts: LogOptions = {}): AsyncIterable<LogEntry> {
    const rec = await this.#record(ref);
    const p = this.#paths(rec);
    yield* readLog(p.log, {
      ...opts,
      ended: async () => (await this.#state(rec)).status === 'exited' || !(await exists(p.host)),
      wakeOn: [p.exitDir],
    });
  }

  async stats(ref: string): Promise<WorkloadStats> {
    const rec = await this.#record(ref);
    const reply = await (await this.#vms.client(rec.sandbox)).stats(rec.id);
    const s = reply.containers.find((c) => c.id === rec.id);
    return { cpuUsageNs: s?.cpuUsageNs ?? 0, memoryBytes: s?.memoryBytes ?? 0, memoryLimitBytes: s?.memoryLimitBytes, pids: s?.pids ?? 0, pidsLimit: s?.pidsLimit };
  }

  async hasExited(id: string): Promise<boolean | undefined> {
    const rec = (await this.#store.read(id).catch(() => undefined)) as GuestRecord | undefined;
    if (!rec) return undefined;
    this.#sandboxOf.set(id, rec.sandbox);
    return (await this.#state(rec)).status === 'exited';
  }

  watchExit(id: string, onExit: () => void): void {
    this.#exits.watch(id, onExit);
  }

  unwatchExit(id: string): void {
    this.#exits.unwatch(id);
  }

  imagesInUse(): Promise<string[]> {
    return imageDigestsInUse(this.#root);
  }

  close(): void {
    this.#exits.close();
  }
}

/**
 * The exit file the guest wrote: code, time, and whether the kernel's OOM killer ended it. The guest
 * writes it, so it is opened without following a symlink or blocking on a FIFO, and must be a small
 * regular file.
 */
async function readExit(p: GuestWorkloadPaths): Promise<{ code: number; at: Date; oom: boolean } | undefined> {
  let fh: fs.FileHandle | undefined;
  try {
    fh = await fs.open(p.exitFile, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK);
    const st = await fh.stat();
    if (!st.isFile() || st.size > 32) return undefined;
    const code = Number((await fh.readFile('utf8')).trim());
    if (!Number.isInteger(code)) return undefined;
    const oom = await fs.lstat(p.oomFile).then((o) => o.isFile(), () => false);
    return { code, at: st.mtime, oom };
  } catch {
    return undefined;
  } finally {
    await fh?.close();
  }
}

/** Copies a file the guest wrote (only a regular file, never through a symlink or from a FIFO); none: nothing. */
async function copyGuestFile(from: string, to: string): Promise<void> {
  let fh: fs.FileHandle | undefined;
  try {
    fh = await fs.open(from, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK);
    const st = await fh.stat();
    if (!st.isFile()) return;
    await fs.writeFile(to, fh.createReadStream({ autoClose: false }));
    await fs.utimes(to, st.atime, st.mtime);
  } catch {
    // gone or not a file: nothing to keep
  } finally {
    await fh?.close();
  }
}
