/**
 * The OCI driver: containers as conmon + runc (crun selectable), with all state on disk (see
 * container-store.ts for the layout) so any later process finds and controls every container.
 *
 * Create: validate (runtime binary, options) -> resolve and unpack the image -> reserve the name -> make the
 * container dir -> mount the overlay root -> write config.json, /etc files and record.json -> start conmon,
 * which runs `runc create` and reports the pid. Any failure undoes every step (see `teardown`).
 * Start is `runc start`. There is no per-container Nubis process: conmon is the only supervisor.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Host } from '../../host/host.js';
import { readCgroupStats, removeEmptyCgroupChain } from '../../host/cgroups.js';
import { readHostRlimits } from '../../host/rlimits.js';
import type { ImageRecord } from '../../image/types.js';
import { errno, internal, invalid, isNubisError, timeout, unavailable } from '../../lib/errors.js';
import { exists } from '../../lib/files.js';
import { withLock } from '../../lib/lock.js';
import { logger } from '../../lib/log.js';
import type {
  AttachSession,
  AttachStreams,
  Capabilities,
  ExecRequest,
  LogEntry,
  LogOptions,
  RuntimeDriver,
  StopOptions,
  WorkloadInfo,
  WorkloadSpec,
  WorkloadStats,
} from '../driver.js';
import { conmonAlive, conmonPath, startConmon, waitConmonGone } from './conmon.js';
import {
  checkName,
  ContainerStore,
  newContainerId,
  recordBase,
  recordInfo,
  type ContainerPaths,
  type ContainerRecord,
} from './container-store.js';
import { readLog, Waker } from './logs.js';
import { OciRuntime, resolveBinary } from './runc.js';
import { userNamespaceOf } from './options.js';
import { buildSpec, detectHostFacts, etcHostnameContent, etcHostsContent, validateContainerOptions } from './spec.js';
import { prepareUserNamespaceRootfs, toContainerOptions } from './workload-options.js';
import { deriveState, guard, ignoreGone, readExitFile } from './state-machine.js';
import { trace } from '../../lib/trace.js';

const log = logger('oci');

/** Where images come from: resolves a reference and unpacks it into overlay lowerdirs (topmost first). */
export interface RootfsProvider {
  prepareRootfs(ref: string, signal?: AbortSignal): Promise<{ image: ImageRecord; lowerDirs: string[] }>;
}

export interface OciDriverOptions {
  dataDir: string;
  host: Host;
  images: RootfsProvider;
  /** OCI runtime: "runc" (default), "crun" or a path to a runc-compatible binary. */
  runtime?: string;
  /**
   * argv prefix that runs this program (e.g. [node, nubis.js]); conmon runs
   * `<prefix> --data-dir D ctr rm -f <id>` after a detached `--rm` container exits.
   */
  selfCommand?: string[];
}

/** The parent cgroup of every Nubis container: /nubis/<id> in each hierarchy. */
export const CGROUP_PARENT = '/nubis';

/** Containers on their own (what `nubis ctr` runs); OciDriver adds pod sandboxes. */
export class OciContainers implements RuntimeDriver {
  readonly name = 'oci';
  readonly capabilities: Capabilities = {
    exec: true,
    tty: true,
    attach: true,
    pause: true,
    stats: true,
    checkpoint: false,
    migrate: false,
  };
  readonly store: ContainerStore;
  private readonly host: Host;
  private readonly runtimeName: string;
  /** Containers this process just created: `start` of one of them needs no state check (run's fast path). */
  private readonly justCreated = new Map<string, ContainerRecord>();

  constructor(protected readonly opts: OciDriverOptions) {
    this.store = new ContainerStore(opts.dataDir);
    this.host = opts.host;
    this.runtimeName = opts.runtime ?? 'runc';
  }

  /** The runtime a record was created with (so a later process uses the same binary and root). */
  private runtimeOf(rec: Pick<ContainerRecord, 'runtime' | 'runtimeRoot'>): OciRuntime {
    return new OciRuntime(this.host, rec.runtime, rec.runtimeRoot);
  }

  async create(spec: WorkloadSpec, signal?: AbortSignal): Promise<WorkloadInfo> {
    // Everything that can be checked without side effects comes first.
    const runtimeBin = resolveBinary(this.runtimeName);
    conmonPath();
    const options = toContainerOptions(spec);
    const facts = detectHostFacts();
    validateContainerOptions(options, facts);
    if (spec.name !== undefined) checkName(spec.name);
    cgroupParentOf(spec);
    const { image, lowerDirs } = await this.opts.images.prepareRootfs(spec.image, signal).catch((err: unknown) => {
      throw createError(err);
    });
    trace('image resolved');

    const id = newContainerId();
    const paths = this.store.paths(id);
    const runtimeRoot = path.join(this.opts.dataDir, path.basename(runtimeBin));
    const cgroupsPath = `${cgroupParentOf(spec)}/${id}`;
    const rec: Partial<ContainerRecord> & { id: string } = { id, runtime: runtimeBin, runtimeRoot, cgroupsPath };
    try {
      const name = await this.store.reserveFreeName(id, spec.name);
      rec.name = name;
      await Promise.all([
        fs.mkdir(paths.rootfs, { recursive: true }),
        fs.mkdir(paths.upper, { recursive: true }),
        fs.mkdir(paths.work, { recursive: true }),
        fs.mkdir(paths.exitDir, { recursive: true }),
        fs.mkdir(runtimeRoot, { recursive: true, mode: 0o700 }),
      ]);
      trace('name reserved, dirs made');
      // volatile: no syncs of the writable layer, so unmounting it does not wait for a syncfs of the whole
      // data dir's filesystem. It is never mounted again (a container's rootfs is mounted once, at create,
      // and does not outlive a reboot), as CRI-O does for all containers and podman for --rm ones.
      // The /etc files are written while mount runs; the spec needs the mounted rootfs (its /etc/passwd).
      const hostname = spec.hostname ?? id.slice(0, 12);
      const etc = path.join(paths.dir, 'etc');
      const etcFiles = { hosts: path.join(etc, 'hosts'), hostname: path.join(etc, 'hostname'), resolvConf: path.join(etc, 'resolv.conf') };
      const writeEtc = async () => {
        await fs.mkdir(etc);
        await Promise.all([
          fs.writeFile(etcFiles.hosts, etcHostsContent(hostname)),
          fs.writeFile(etcFiles.hostname, etcHostnameContent(hostname)),
          fs.copyFile('/etc/resolv.conf', etcFiles.resolvConf).catch(() => fs.writeFile(etcFiles.resolvConf, '')),
        ]);
      };
      await Promise.all([this.host.mountOverlay(lowerDirs, paths.upper, paths.work, paths.rootfs, { volatile: true }), writeEtc()]);
      const userns = userNamespaceOf(options);
      if (userns) await prepareUserNamespaceRootfs(this.opts.dataDir, paths.rootfs, { ...options, etcFiles }, userns.hostId);
      trace('overlay mounted, /etc files written');
      const ociSpec = await buildSpec({
        id,
        rootfs: paths.rootfs,
        image: image.config,
        options: { ...options, hostname, etcFiles },
        cgroupsPath,
        hostRlimits: readHostRlimits(),
        hostFacts: facts,
      });
      const full: ContainerRecord = {
        ...recordBase(id, name, spec, image),
        runtime: runtimeBin,
        runtimeRoot,
        command: ociSpec.process.args,
        env: ociSpec.process.env,
        workdir: ociSpec.process.cwd,
        user: `${ociSpec.process.user.uid}:${ociSpec.process.user.gid}`,
        stopSignal: image.config.config?.StopSignal ?? 'SIGTERM',
        tty: Boolean(spec.tty),
        cgroupsPath,
        lowerDirs,
      };
      await Promise.all([
        fs.writeFile(paths.config, JSON.stringify(ociSpec)),
        fs.writeFile(paths.record, JSON.stringify(full, null, 2) + '\n'),
      ]);
      trace('bundle written');
      await startConmon(this.host, {
        id,
        name,
        paths,
        runtime: runtimeBin,
        runtimeRoot,
        tty: Boolean(spec.tty),
        stdin: Boolean(spec.stdin),
        keepStdinOpen: Boolean(spec.keepStdinOpen),
        exitCommand: this.exitCommand(id, spec),
      });
      trace('conmon: runc create done');
      this.justCreated.set(id, full);
      return this.info(full, { status: 'created', oomKilled: false });
    } catch (err) {
      await this.teardown(rec, paths).catch((e: unknown) => log.warn(`clean-up after failed create: ${String(e)}`));
      throw createError(err);
    }
  }

  private exitCommand(id: string, spec: WorkloadSpec): string[] | undefined {
    if (!spec.autoRemove || !this.opts.selfCommand) return undefined;
    return [...this.opts.selfCommand, '--data-dir', this.opts.dataDir, 'ctr', 'rm', '-f', id];
  }

  async start(id: string): Promise<void> {
    const fresh = this.justCreated.get(id);
    if (fresh) {
      this.justCreated.delete(id);
      return this.startCreated(fresh);
    }
    const rec = await this.store.resolve(id);
    const paths = this.store.paths(rec.id);
    const state = await deriveState(rec.id, paths, this.runtimeOf(rec));
    guard('start', state.status, rec.name);
    await this.startCreated(rec);
  }

  private async startCreated(rec: ContainerRecord): Promise<void> {
    // The stamp (its mtime is StartedAt) is written while runc starts the process, and taken back if
    // that fails.
    const started = this.store.paths(rec.id).started;
    const [res] = await Promise.allSettled([this.runtimeOf(rec).start(rec.id), fs.writeFile(started, '')]);
    if (res.status === 'rejected') {
      await fs.rm(started, { force: true });
      throw res.reason;
    }
    trace('runc start done');
  }

  async list(): Promise<WorkloadInfo[]> {
    const ids = await this.store.ids();
    const infos = await Promise.all(
      ids.map(async (id) => {
        const rec = await this.store.read(id);
        return rec ? this.infoOf(rec) : undefined;
      }),
    );
    return infos.filter((i): i is WorkloadInfo => i !== undefined).sort((a, b) => b.created.getTime() - a.created.getTime());
  }

  async get(ref: string): Promise<WorkloadInfo> {
    return this.infoOf(await this.store.resolve(ref));
  }

  /** The record of a container by ID, prefix or name. */
  record(ref: string): Promise<ContainerRecord> {
    return this.store.resolve(ref);
  }

  private async infoOf(rec: ContainerRecord): Promise<WorkloadInfo> {
    return this.info(rec, await deriveState(rec.id, this.store.paths(rec.id), this.runtimeOf(rec)));
  }

  private info(rec: ContainerRecord, state: WorkloadInfo['state']): WorkloadInfo {
    const p = this.store.paths(rec.id);
    return recordInfo(this.name, rec, state, { log: p.log, rootfs: p.rootfs, upper: p.upper, work: p.work });
  }

  async stop(ref: string, opts: StopOptions = {}): Promise<void> {
    const rec = await this.store.resolve(ref);
    const rt = this.runtimeOf(rec);
    const paths = this.store.paths(rec.id);
    const state = await deriveState(rec.id, paths, rt);
    guard('stop', state.status, rec.name);
    const seconds = opts.timeoutSeconds ?? 10;
    const sig = signalName(opts.signal ?? rec.stopSignal);
    await this.signal(rt, rec.id, sig, state.status === 'paused').catch(ignoreGone);
    if (await this.waitExit(rec, seconds * 1000)) return;
    log.info(`container ${rec.name} did not stop within ${seconds}s: killing it`);
    await this.signal(rt, rec.id, 'KILL', false).catch(ignoreGone);
    if (!(await this.waitExit(rec, 10_000))) throw timeout(`container ${rec.name} did not exit after SIGKILL`);
  }

  /** Sends a signal; a paused container is thawed afterwards so it can act on it. */
  private async signal(rt: OciRuntime, id: string, sig: string, paused: boolean): Promise<void> {
    await rt.kill(id, sig, sig === 'KILL');
    if (paused) await rt.resume(id).catch(ignoreGone);
  }

  async kill(ref: string, sig = 'KILL'): Promise<void> {
    const rec = await this.store.resolve(ref);
    const rt = this.runtimeOf(rec);
    const state = await deriveState(rec.id, this.store.paths(rec.id), rt);
    guard('kill', state.status, rec.name);
    await rt.kill(rec.id, signalName(sig));
  }

  async pause(ref: string): Promise<void> {
    const rec = await this.store.resolve(ref);
    const rt = this.runtimeOf(rec);
    guard('pause', (await deriveState(rec.id, this.store.paths(rec.id), rt)).status, rec.name);
    await rt.pause(rec.id);
  }

  async resume(ref: string): Promise<void> {
    const rec = await this.store.resolve(ref);
    const rt = this.runtimeOf(rec);
    guard('resume', (await deriveState(rec.id, this.store.paths(rec.id), rt)).status, rec.name);
    await rt.resume(rec.id);
  }

  async remove(ref: string, opts: { force?: boolean } = {}): Promise<void> {
    const rec = await this.store.resolve(ref);
    const paths = this.store.paths(rec.id);
    await withLock(paths.lock, async () => {
      if (!(await exists(paths.record))) return; // removed by another process meanwhile
      const rt = this.runtimeOf(rec);
      const state = await deriveState(rec.id, paths, rt);
      trace('remove: state derived');
      if (state.status !== 'exited') {
        if (state.status !== 'created' && !opts.force) guard('remove', state.status, rec.name);
        await this.signal(rt, rec.id, 'KILL', state.status === 'paused').catch(ignoreGone);
        if (!(await this.waitExit(rec, 10_000))) throw timeout(`container ${rec.name} did not exit after SIGKILL`);
      }
      await this.teardown(rec, paths);
    });
    await fs.rm(paths.lock, { force: true });
  }

  /**
   * Removes everything a container has on the machine, whatever step its creation reached: runtime state
   * (and so its cgroup), conmon, the rootfs mount, the dir and the name. Each step tolerates "already gone".
   */
  private async teardown(rec: Partial<ContainerRecord> & { id: string }, paths: ContainerPaths): Promise<void> {
    // runc delete (which removes the cgroup), the rootfs unmount and conmon's exit are independent.
    await Promise.all([
      rec.runtime && rec.runtimeRoot ? this.runtimeOf(rec as ContainerRecord).delete(rec.id, true) : undefined,
      this.host.unmount(paths.rootfs),
      waitConmonGone(paths),
    ]);
    trace('teardown: runtime deleted, unmounted, conmon gone');
    await Promise.all([
      fs.rm(paths.dir, { recursive: true, force: true }),
      rec.cgroupsPath ? removeEmptyCgroupChain(rec.cgroupsPath, CGROUP_PARENT) : undefined,
    ]);
    trace('teardown: dir and cgroups removed');
    // The name goes last: while it is held, no other container can take it and be confused with this one.
    if (rec.name) await this.store.releaseName(rec.name, rec.id);
  }

  /** Waits up to `ms` for the exit file; true when the container has exited. */
  private async waitExit(rec: ContainerRecord, ms: number): Promise<boolean> {
    const paths = this.store.paths(rec.id);
    const waker = new Waker([paths.exitDir]);
    try {
      const deadline = Date.now() + ms;
      for (let i = 0; ; i++) {
        if (await readExitFile(paths)) return true;
        // Every so often, look at the world in case conmon died without writing the file.
        if (i % 10 === 9 && (await deriveState(rec.id, paths, this.runtimeOf(rec))).status === 'exited') return true;
        const left = deadline - Date.now();
        if (left <= 0) return false;
        await waker.wait(Math.min(left, 100));
      }
    } finally {
      waker.close();
    }
  }

  async wait(ref: string, signal?: AbortSignal): Promise<number> {
    const rec = await this.store.resolve(ref);
    const paths = this.store.paths(rec.id);
    while (!signal?.aborted) {
      if (await this.waitExit(rec, 1000)) break;
    }
    const state = await deriveState(rec.id, paths, this.runtimeOf(rec));
    return state.exitCode ?? -1;
  }

  async exec(ref: string, req: ExecRequest): Promise<number> {
    const rec = await this.store.resolve(ref);
    const paths = this.store.paths(rec.id);
    const rt = this.runtimeOf(rec);
    guard('exec', (await deriveState(rec.id, paths, rt)).status, rec.name);
    const { runExec } = await import('./exec.js');
    return runExec(this.host, rt, rec.id, paths, req);
  }

  async attach(ref: string, streams: AttachStreams): Promise<AttachSession> {
    const rec = await this.store.resolve(ref);
    const paths = this.store.paths(rec.id);
    guard('attach', (await deriveState(rec.id, paths, this.runtimeOf(rec))).status, rec.name);
    const { attachConmon } = await import('./attach.js');
    return attachConmon(paths, streams);
  }

  async *logs(ref: string, opts: LogOptions = {}): AsyncIterable<LogEntry> {
    const rec = await this.store.resolve(ref);
    const paths = this.store.paths(rec.id);
    yield* readLog(paths.log, {
      ...opts,
      ended: async () => (await readExitFile(paths)) !== undefined || !(await exists(paths.dir)),
      wakeOn: [paths.exitDir],
    });
  }

  async hasExited(id: string): Promise<boolean | undefined> {
    const paths = this.store.paths(id);
    if (await readExitFile(paths)) return true;
    if (!(await exists(paths.record))) return undefined;
    // No exit file: exited only when conmon is gone too (it died without writing one).
    return (await exists(paths.conmonPid)) && !(await conmonAlive(paths));
  }

  async stats(ref: string): Promise<WorkloadStats> {
    const rec = await this.store.resolve(ref);
    try {
      return await readCgroupStats(rec.cgroupsPath);
    } catch (err) {
      if (isNubisError(err, 'NotFound')) return { cpuUsageNs: 0, memoryBytes: 0, pids: 0 };
      throw err;
    }
  }
}

/** The cgroup parent of a workload: /nubis or a path below it (Invalid otherwise). */
function cgroupParentOf(spec: WorkloadSpec): string {
  const p = spec.cgroupParent;
  if (p === undefined) return CGROUP_PARENT;
  const norm = path.posix.normalize(p).replace(/\/+$/, '');
  if (!norm.startsWith(`${CGROUP_PARENT}/`) || p.split('/').includes('..') || !/^[\w./-]+$/.test(p)) {
    throw invalid(`cgroup parent must be a path below ${CGROUP_PARENT}: "${p}"`);
  }
  return norm;
}

/** "SIGTERM", "TERM", "15" -> the form runc takes ("TERM" or "15"). */
export function signalName(sig: string): string {
  const s = sig.trim().toUpperCase();
  return /^\d+$/.test(s) ? s : s.replace(/^SIG/, '');
}

/** A create failure as a one-line error; a full disk says so. */
function createError(err: unknown): unknown {
  if (errno(err) === 'ENOSPC' || /no space left on device/i.test(String((err as Error)?.message))) {
    return unavailable('cannot create the container: no space left on device in the data dir', err);
  }
  if (isNubisError(err)) return err;
  return internal(`cannot create the container: ${(err as Error)?.message ?? String(err)}`, err);
}

