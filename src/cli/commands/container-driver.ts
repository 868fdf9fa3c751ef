import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { invalid, isNubisError } from '../../lib/errors.js';
import type { AttachStreams, ExecRequest, LogOptions, RuntimeDriver, StopOptions, WorkloadInfo, WorkloadSpec } from '../../runtime/driver.js';
import type { SandboxDriver } from '../../runtime/sandbox.js';
import type { CliContext } from '../context.js';

/** Sandboxes `nubis ctr run --runtime microvm` makes: one per container, removed with it. */
const CTR_SANDBOX = 'ctr-';

/**
 * The containers of the CLI's data dir. `runtime` picks what `run` uses: runc (default), crun or a path
 * (the OCI driver), or microvm (a micro-VM per container). Other commands find a container under either
 * driver. The runtime and image modules load here, on first use, so that registering the commands costs
 * nothing; the micro-VM driver loads only when asked for or when the data dir has micro-VM containers.
 */
export async function containerDriver(ctx: CliContext, runtime?: string): Promise<RuntimeDriver> {
  const [{ Images }, { OverlaySnapshotStore }, { imageDigestsInUse }, { OciDriver }] = await Promise.all([
    import('../../image/images.js'),
    import('../../image/snapshots.js'),
    import('../../runtime/oci/container-store.js'),
    import('../../runtime/oci/oci-driver.js'),
  ]);
  const dataDir = ctx.dataDir();
  const microvmRoot = path.join(dataDir, 'microvm');
  const images = new Images(dataDir, ctx.host, {
    snapshots: new OverlaySnapshotStore(path.join(dataDir, 'snapshots'), ctx.host),
    inUse: async () => [...(await imageDigestsInUse(dataDir)), ...(await imageDigestsInUse(microvmRoot))],
  });
  const microvm = async () => new StandaloneMicrovm(new (await import('../../runtime/microvm/microvm-driver.js')).MicrovmDriver({ dataDir, host: ctx.host, images }));
  if (runtime === 'microvm') return microvm();
  const oci = new OciDriver({
    dataDir,
    host: ctx.host,
    images,
    runtime: runtime ?? process.env.NUBIS_RUNTIME,
    // How conmon calls us back to remove a detached --rm container once it exits. conmon runs in the
    // container's dir, so the call goes back to our cwd first (node options such as --import resolve there).
    selfCommand: process.argv[1]
      ? ['/bin/sh', '-c', 'cd "$1" && shift && exec "$@"', 'sh', process.cwd(), process.execPath, ...process.execArgv, process.argv[1]]
      : undefined,
  });
  return runtime === undefined && existsSync(path.join(microvmRoot, 'containers')) ? new EitherDriver(oci, await microvm()) : oci;
}

/** The micro-VM driver for lone containers: each gets a sandbox of its own, made with it and removed with it. */
class StandaloneMicrovm implements RuntimeDriver {
  readonly name = 'microvm';
  constructor(private readonly d: SandboxDriver) {}
  get capabilities() {
    return this.d.capabilities;
  }
  async create(spec: WorkloadSpec, signal?: AbortSignal): Promise<WorkloadInfo> {
    if (spec.autoRemove) throw invalid('the microvm runtime cannot remove a detached container by itself: run it in the foreground with --rm');
    const sandbox = `${CTR_SANDBOX}${randomBytes(6).toString('hex')}`;
    await this.d.createSandbox({ id: sandbox, namespace: 'ctr', name: spec.name ?? sandbox, resources: spec.resources }, signal);
    try {
      return await this.d.create({ ...spec, sandbox }, signal);
    } catch (err) {
      await this.d.removeSandbox(sandbox).catch(() => {});
      throw err;
    }
  }
  async remove(ref: string, opts?: { force?: boolean }): Promise<void> {
    const sandbox = (await this.d.get(ref)).spec.sandbox;
    await this.d.remove(ref, opts);
    if (sandbox?.startsWith(CTR_SANDBOX)) await this.d.removeSandbox(sandbox);
  }
  start = (id: string) => this.d.start(id);
  list = () => this.d.list();
  get = (ref: string) => this.d.get(ref);
  stop = (id: string, opts?: StopOptions) => this.d.stop(id, opts);
  kill = (id: string, signal?: string) => this.d.kill(id, signal);
  pause = (id: string) => this.d.pause(id);
  resume = (id: string) => this.d.resume(id);
  wait = (id: string, signal?: AbortSignal) => this.d.wait(id, signal);
  exec = (id: string, req: ExecRequest) => this.d.exec(id, req);
  attach = (id: string, streams: AttachStreams) => this.d.attach(id, streams);
  logs = (id: string, opts?: LogOptions) => this.d.logs(id, opts);
  stats = (id: string) => this.d.stats(id);
}

/** Containers of either driver: a reference is looked up under the first, then the second. */
class EitherDriver implements RuntimeDriver {
  readonly name = 'oci+microvm';
  constructor(
    private readonly first: RuntimeDriver,
    private readonly second: RuntimeDriver,
  ) {}
  get capabilities() {
    return this.first.capabilities;
  }
  async #of(ref: string): Promise<RuntimeDriver> {
    try {
      await this.first.get(ref);
      return this.first;
    } catch (err) {
      if (!isNubisError(err, 'NotFound')) throw err;
      return this.second;
    }
  }
  create = (spec: WorkloadSpec, signal?: AbortSignal) => this.first.create(spec, signal);
  async list(): Promise<WorkloadInfo[]> {
    return [...(await this.first.list()), ...(await this.second.list())].sort((a, b) => b.created.getTime() - a.created.getTime());
  }
  start = async (id: string) => (await this.#of(id)).start(id);
  get = async (ref: string) => (await this.#of(ref)).get(ref);
  stop = async (id: string, opts?: StopOptions) => (await this.#of(id)).stop(id, opts);
  kill = async (id: string, signal?: string) => (await this.#of(id)).kill(id, signal);
  pause = async (id: string) => (await this.#of(id)).pause(id);
  resume = async (id: string) => (await this.#of(id)).resume(id);
  remove = async (id: string, opts?: { force?: boolean }) => (await this.#of(id)).remove(id, opts);
  wait = async (id: string, signal?: AbortSignal) => (await this.#of(id)).wait(id, signal);
  exec = async (id: string, req: ExecRequest) => (await this.#of(id)).exec(id, req);
  attach = async (id: string, streams: AttachStreams) => (await this.#of(id)).attach(id, streams);
  async *logs(id: string, opts?: LogOptions) {
    yield* (await this.#of(id)).logs(id, opts);
  }
  stats = async (id: string) => (await this.#of(id)).stats(id);
}
