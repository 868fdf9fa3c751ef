/**
 * A sandbox driver in memory, for the agent's unit tests: no processes, no files. It passes the same
 * conformance suite as the real drivers. A workload's argv is a tiny program:
 *   print OUT ERR CODE — writes OUT to stdout and ERR to stderr, exits with CODE at start;
 *   sleep              — runs until stopped or killed (SIGTERM exits 143, SIGKILL 137);
 * exec commands: `echo TEXT…` writes its arguments and a newline; `exit CODE` exits with CODE.
 * Anything else fails to create (Invalid), as an image without the binary would.
 */
import { PassThrough } from 'node:stream';
import { conflict, invalid, notFound, unavailable } from '../../lib/errors.js';
import type {
  AttachSession,
  Capabilities,
  ExecRequest,
  LogEntry,
  StopOptions,
  WorkloadInfo,
  WorkloadSpec,
  WorkloadState,
  WorkloadStats,
} from '../driver.js';
import { checkSandboxId, type SandboxCapabilities, type SandboxDriver, type SandboxInfo, type SandboxSpec } from '../sandbox.js';

interface FakeWorkload {
  info: WorkloadInfo;
  argv: string[];
  logs: LogEntry[];
  exitWaiters: Array<() => void>;
  /** Exit watches (watchExit), apart from wait()'s waiters so that unwatchExit can drop them. */
  watches: Array<() => void>;
}

export class FakeDriver implements SandboxDriver {
  readonly capabilities: Capabilities = { exec: true, tty: false, attach: false, pause: false, stats: true, checkpoint: false, migrate: false };
  readonly sandboxCapabilities: SandboxCapabilities = { network: 'namespace', kernel: 'host', userNamespaces: false };
  readonly #sandboxes = new Map<string, SandboxInfo>();
  readonly #workloads = new Map<string, FakeWorkload>();
  #next = 0;
  /** Every call, in order, as "op id" strings: what the agent's tests assert on. */
  readonly calls: string[] = [];

  constructor(readonly name = 'fake') {}

  async createSandbox(spec: SandboxSpec): Promise<SandboxInfo> {
    checkSandboxId(spec.id);
    if (spec.userNamespace) throw unavailable('the fake driver has no user namespaces');
    this.calls.push(`createSandbox ${spec.id}`);
    const info: SandboxInfo = { id: spec.id, driver: this.name, networkNamespace: `/fake/netns/${spec.id}` };
    this.#sandboxes.set(spec.id, info);
    return info;
  }

  async sandbox(id: string): Promise<SandboxInfo | undefined> {
    return this.#sandboxes.get(id);
  }

  async sandboxIds(): Promise<string[]> {
    return [...this.#sandboxes.keys()].sort();
  }

  async removeSandbox(id: string): Promise<void> {
    if (this.#sandboxes.delete(id)) this.calls.push(`removeSandbox ${id}`);
  }

  /** Loses a sandbox as if its namespaces were unmounted under the pod (tests of recovery). */
  loseSandbox(id: string): void {
    this.#sandboxes.delete(id);
  }

  async create(spec: WorkloadSpec): Promise<WorkloadInfo> {
    const argv = [...(spec.entrypoint ?? []), ...(spec.command ?? [])];
    if (argv[0] !== 'print' && argv[0] !== 'sleep') throw invalid(`the fake driver cannot run ${JSON.stringify(argv)}`);
    if (spec.sandbox !== undefined && !this.#sandboxes.has(spec.sandbox)) throw notFound(`sandbox ${spec.sandbox} does not exist`);
    const id = (++this.#next).toString(16).padStart(64, '0');
    const name = spec.name ?? `fake-${this.#next}`;
    if ([...this.#workloads.values()].some((w) => w.info.name === name)) throw conflict(`the name "${name}" is in use`);
    const info: WorkloadInfo = {
      driver: this.name,
      id,
      name,
      image: spec.image,
      imageDigest: `sha256:${Buffer.from(spec.image).toString('hex').padEnd(64, '0').slice(0, 64)}`,
      command: argv,
      created: new Date(),
      spec: { ...spec, name },
      state: { status: 'created', oomKilled: false },
      logPath: `/fake/logs/${id}`,
      rootfs: { path: `/fake/rootfs/${id}`, lowerDirs: [], upperDir: '', workDir: '' },
      config: { env: spec.env ?? [], workdir: spec.workdir ?? '/', user: spec.user ?? '0:0', stopSignal: 'SIGTERM', tty: Boolean(spec.tty) },
    };
    this.#workloads.set(id, { info, argv, logs: [], exitWaiters: [], watches: [] });
    this.calls.push(`create ${name}`);
    return structuredClone(info);
  }

  #get(ref: string): FakeWorkload {
    const w = this.#workloads.get(ref) ?? [...this.#workloads.values()].find((x) => x.info.name === ref || x.info.id.startsWith(ref));
    if (!w) throw notFound(`no such workload: ${ref}`);
    return w;
  }

  #exit(w: FakeWorkload, code: number): void {
    w.info.state = { ...w.info.state, status: 'exited', exitCode: code, finishedAt: new Date(), pid: undefined };
    for (const f of [...w.exitWaiters.splice(0), ...w.watches.splice(0)]) f();
  }

  async start(id: string): Promise<void> {
    const w = this.#get(id);
    if (w.info.state.status !== 'created') throw conflict(`workload ${w.info.name} is ${w.info.state.status}, not created`);
    w.info.state = { status: 'running', pid: 1000 + this.#next, startedAt: new Date(), oomKilled: false };
    this.calls.push(`start ${w.info.name}`);
    if (w.argv[0] === 'print') {
      const time = new Date();
      const entry = (stream: 'stdout' | 'stderr', text: string): LogEntry => ({ timestamp: time.toISOString(), time, stream, text, partial: false });
      w.logs.push(entry('stdout', w.argv[1] ?? ''), entry('stderr', w.argv[2] ?? ''));
      queueMicrotask(() => this.#exit(w, Number(w.argv[3] ?? 0)));
    }
  }

  /** Ends a running workload with `code`, as if its process exited by itself (tests of restarts). */
  exitNow(id: string, code: number): void {
    const w = this.#get(id);
    if (w.info.state.status === 'running') this.#exit(w, code);
  }

  async list(): Promise<WorkloadInfo[]> {
    return [...this.#workloads.values()].map((w) => structuredClone(w.info));
  }

  async get(ref: string): Promise<WorkloadInfo> {
    return structuredClone(this.#get(ref).info);
  }

  async stop(id: string, opts: StopOptions = {}): Promise<void> {
    const w = this.#get(id);
    if (w.info.state.status === 'exited') throw conflict(`workload ${w.info.name} is not running`);
    this.calls.push(`stop ${w.info.name}`);
    this.#exit(w, /KILL|^9$/.test(opts.signal ?? '') ? 137 : 143);
  }

  async kill(id: string, signal = 'KILL'): Promise<void> {
    const w = this.#get(id);
    if (w.info.state.status !== 'running') throw conflict(`workload ${w.info.name} is not running`);
    this.#exit(w, /KILL|^9$/.test(signal) ? 137 : 143);
  }

  async pause(): Promise<void> {
    throw unavailable('the fake driver cannot pause');
  }

  async resume(): Promise<void> {
    throw unavailable('the fake driver cannot pause');
  }

  async remove(id: string, opts: { force?: boolean } = {}): Promise<void> {
    const w = this.#get(id);
    if (w.info.state.status === 'running' && !opts.force) throw conflict(`workload ${w.info.name} is running: stop it first`);
    if (w.info.state.status === 'running') this.#exit(w, 137);
    this.#workloads.delete(w.info.id);
    this.calls.push(`remove ${w.info.name}`);
  }

  async wait(id: string): Promise<number> {
    const w = this.#get(id);
    if (w.info.state.status !== 'exited') await new Promise<void>((r) => w.exitWaiters.push(r));
    return w.info.state.exitCode ?? -1;
  }

  async exec(id: string, req: ExecRequest): Promise<number> {
    const w = this.#get(id);
    if (w.info.state.status !== 'running') throw conflict(`workload ${w.info.name} is not running`);
    const [cmd, ...args] = req.command;
    const stdout = new PassThrough();
    req.onStart?.({ stdin: null, stdout: req.stdio?.[1] === 'pipe' ? stdout : null, stderr: null, kill: () => {} });
    if (cmd === 'echo') stdout.write(`${args.join(' ')}\n`);
    stdout.end();
    await new Promise((r) => setImmediate(r));
    if (cmd === 'echo') return 0;
    if (cmd === 'exit') return Number(args[0] ?? 0);
    return 127;
  }

  async attach(): Promise<AttachSession> {
    throw unavailable('the fake driver cannot attach');
  }

  async *logs(id: string): AsyncIterable<LogEntry> {
    yield* this.#get(id).logs;
  }

  async stats(id: string): Promise<WorkloadStats> {
    const w = this.#get(id);
    return { cpuUsageNs: 0, memoryBytes: w.info.state.status === 'running' ? 1 << 20 : 0, pids: w.info.state.status === 'running' ? 1 : 0 };
  }

  async hasExited(id: string): Promise<boolean | undefined> {
    return this.#workloads.get(id) ? this.#workloads.get(id)!.info.state.status === 'exited' : undefined;
  }

  watchExit(id: string, onExit: () => void): void {
    const w = this.#workloads.get(id);
    if (!w) return;
    if (w.info.state.status === 'exited') queueMicrotask(onExit);
    else w.watches.push(onExit);
  }

  unwatchExit(id: string): void {
    const w = this.#workloads.get(id);
    if (w) w.watches = [];
  }

  async imagesInUse(): Promise<string[]> {
    return [...new Set([...this.#workloads.values()].map((w) => w.info.imageDigest))];
  }

  close(): void {}

  /** The state of a workload as the agent would see it. */
  state(id: string): WorkloadState {
    return structuredClone(this.#get(id).info.state);
  }
}

