/**
 * The runtime driver contract: what the agent and the CLI need from anything that runs workloads on this
 * machine — OCI containers (conmon + runc), QEMU virtual machines and micro-VMs alike.
 *
 * Rules every driver keeps:
 *  - Workloads outlive the Nubis process. A driver keeps no state in memory that it cannot rebuild from
 *    disk and the running processes: `list()` in a fresh process finds every workload, and every method
 *    works given only an ID (the recoverable handle).
 *  - State is derived from the world (runtime state, exit files, processes), never from a cached field.
 *  - Lifecycle: created -> running <-> paused -> exited -> (removed: gone from list). An operation in the
 *    wrong state fails with Conflict and a message that says what to do.
 *  - Optional abilities are declared in `capabilities`; calling one that is not declared fails with
 *    Unavailable.
 */

/** What a driver can do beyond the basic lifecycle. */
export interface Capabilities {
  /** Run another process inside a running workload. */
  exec: boolean;
  /** Give the workload (or an exec) a terminal. */
  tty: boolean;
  /** Attach to the main process's stdio while it runs. */
  attach: boolean;
  /** Freeze and thaw all processes. */
  pause: boolean;
  /** CPU, memory and pids usage. */
  stats: boolean;
  /** Save the running state to disk and restore it later. */
  checkpoint: boolean;
  /** Move a running workload to another machine. */
  migrate: boolean;
}

/** The lifecycle states a workload can be seen in ("removed" means it is no longer listed). */
export type WorkloadStatus = 'created' | 'running' | 'paused' | 'exited';

/** Resource limits; undefined means unlimited. */
export interface Resources {
  memoryBytes?: number;
  /** CPU quota in CPUs, e.g. 1.5. */
  cpus?: number;
  pidsLimit?: number;
  /** Relative CPU weight, 2..262144 (1024 is one CPU's worth): Kubernetes' cpu request. */
  cpuShares?: number;
}

/** A bind mount of a host path, or a fresh tmpfs, inside the workload. */
export interface WorkloadMount {
  /** Absolute host path (must exist) for a bind; ignored for tmpfs. */
  source: string;
  destination: string;
  readOnly?: boolean;
  type?: 'bind' | 'tmpfs';
}

/**
 * Existing namespaces to join instead of making new ones, as paths (/proc/<pid>/ns/net, or a pinned
 * namespace file): how the containers of a pod share the network, IPC and UTS namespaces of its sandbox.
 */
export interface SharedNamespaces {
  network?: string;
  ipc?: string;
  uts?: string;
  /**
   * A user namespace to join (joined first, so the other namespaces should be owned by it). Its id
   * mapping must also be given as `WorkloadSecurity.userNamespace`.
   */
  user?: string;
}

/** One contiguous id range: ids 0..size-1 inside are hostId..hostId+size-1 on the host (uids and gids alike). */
export interface IdMapping {
  hostId: number;
  size: number;
}

/**
 * Which system calls the workload may make: the driver's default filter, none at all, or a profile in the
 * OCI runtime / Docker seccomp JSON format (defaultAction, architectures or archMap, syscalls).
 */
export type SyscallFilter = { type: 'default' } | { type: 'unconfined' } | { type: 'custom'; profile: unknown };

/**
 * How a workload is confined beyond its user. Every field is optional; what is left out gets the
 * driver's secure default (default capabilities, default syscall filter, no_new_privs, masked kernel
 * paths, the host's user namespace).
 */
export interface WorkloadSecurity {
  /** Capability names (with or without CAP_) or "ALL", on top of the default set: drop, then add. */
  capabilities?: { add?: string[]; drop?: string[] };
  /** Every capability and host device, no syscall filter, no masked or read-only kernel paths. */
  privileged?: boolean;
  /**
   * Refuse (Invalid) a workload whose process would run as uid 0, or as a user name that does not
   * resolve in the image. The message starts with RUN_AS_NON_ROOT_REFUSAL.
   */
  runAsNonRoot?: boolean;
  /** Whether setuid files and file capabilities stop granting privileges (no_new_privs). Default true. */
  noNewPrivileges?: boolean;
  /** Default: the driver's default filter (none when privileged). */
  syscallFilter?: SyscallFilter;
  /** Further group ids of the process, besides its primary group. */
  supplementalGroups?: number[];
  /** Whether the groups the image's /etc/group lists the user in are added too. Default true. */
  imageGroups?: boolean;
  /** Run in a user namespace with this mapping (joined when `namespaces.user` is given, else made). */
  userNamespace?: IdMapping;
  /** Leave /proc and /sys unmasked (only sensible in a user namespace, where the kernel guards them). */
  unmaskedProc?: boolean;
}

/** How a refusal of WorkloadSecurity.runAsNonRoot begins (Kubernetes' wording). */
export const RUN_AS_NON_ROOT_REFUSAL = 'container has runAsNonRoot and image';

/** What to run: image, command and limits. Fields left out come from the image's config. */
export interface WorkloadSpec {
  /** Unique per data dir; a random docker-like name when omitted. */
  name?: string;
  image: string;
  /** Replaces the image's Cmd (the Entrypoint stays). */
  command?: string[];
  /** Replaces the image's Entrypoint. */
  entrypoint?: string[];
  /** KEY=VALUE entries added to (and overriding) the image's Env. */
  env?: string[];
  workdir?: string;
  /** user, uid, user:group or uid:gid, resolved inside the image. */
  user?: string;
  /** Primary group id replacing the one of `user` (or of the image's user when `user` is not given). */
  group?: number;
  tty?: boolean;
  /** Keep stdin open for a later attach. */
  stdin?: boolean;
  /**
   * With `stdin`: the container's stdin stays open when an attach session ends, for the next one
   * (Kubernetes' stdinOnce: false). Default: the first session's end closes it (docker run -i).
   */
  keepStdinOpen?: boolean;
  readOnlyRootfs?: boolean;
  resources?: Resources;
  /** Remove the workload by itself once it exits. */
  autoRemove?: boolean;
  labels?: Record<string, string>;
  /** The workload's hostname (also in its /etc/hosts and /etc/hostname); a prefix of the ID by default. */
  hostname?: string;
  mounts?: WorkloadMount[];
  /**
   * The id of a sandbox of this driver (sandbox.ts) the workload runs in: it shares the sandbox's
   * namespaces (and, for a guest sandbox, its kernel). Not together with `namespaces`.
   */
  sandbox?: string;
  namespaces?: SharedNamespaces;
  security?: WorkloadSecurity;
  /** Kernel parameters (dotted names) set in the workload's namespaces as it starts. */
  sysctls?: Record<string, string>;
  /**
   * The cgroup under which the workload's own cgroup is made (cgroupfs path below /nubis, e.g.
   * /nubis/pod-<uid>), so that a group of workloads can be measured and limited together. Default /nubis.
   */
  cgroupParent?: string;
}

/** A workload's state as seen now. */
export interface WorkloadState {
  status: WorkloadStatus;
  /** Main process on the host while running or paused. */
  pid?: number;
  exitCode?: number;
  startedAt?: Date;
  finishedAt?: Date;
  oomKilled: boolean;
}

/** Everything known about one workload: the recoverable handle (driver + id) and what it was made from. */
export interface WorkloadInfo {
  driver: string;
  /** 64 hex characters. */
  id: string;
  name: string;
  /** The image reference as given. */
  image: string;
  imageDigest: string;
  /** The full argv of the main process (entrypoint + cmd). */
  command: string[];
  created: Date;
  spec: WorkloadSpec;
  state: WorkloadState;
  /** Where the main process's log is kept. */
  logPath: string;
  /** The root filesystem as the workload sees it (a mount point) and how it is made. */
  rootfs: { path: string; lowerDirs: string[]; upperDir: string; workDir: string };
  /** Limits and settings that were applied (the image defaults merged in). */
  config: { env: string[]; workdir: string; user: string; stopSignal: string; tty: boolean };
}

export interface ExecRequest {
  command: string[];
  tty?: boolean;
  /** The terminal's size from the start (tty execs; drivers that cannot set it then resize after). */
  size?: { rows: number; columns: number };
  /** Extra KEY=VALUE entries on top of the workload's environment. */
  env?: string[];
  user?: string;
  workdir?: string;
  /**
   * File descriptors for stdin, stdout and stderr of the process (the caller's own by default); 'pipe'
   * hands a stream to `onStart`.
   */
  stdio?: [number | 'ignore' | 'pipe', number | 'ignore' | 'pipe', number | 'ignore' | 'pipe'];
  /** Called once the exec process runs, with its piped streams and a way to signal it. */
  onStart?: (proc: ExecProcess) => void;
}

/** A running exec process as its caller sees it (streams are null unless piped). */
export interface ExecProcess {
  stdin: NodeJS.WritableStream | null;
  stdout: NodeJS.ReadableStream | null;
  stderr: NodeJS.ReadableStream | null;
  /** Signals the exec's own process (runc exec forwards it into the workload). */
  kill(signal?: NodeJS.Signals): void;
  /** Sets the exec's terminal size, where the driver can (tty execs). */
  resize?(rows: number, columns: number): void;
}

export interface StopOptions {
  /** Seconds to wait after the stop signal before killing; default 10. */
  timeoutSeconds?: number;
  /** Overrides the image's stop signal. */
  signal?: string;
}

/** One line of a workload's log. */
export interface LogEntry {
  /** As written by the log writer, RFC 3339 with nanoseconds. */
  timestamp: string;
  time: Date;
  stream: 'stdout' | 'stderr';
  /** The bytes of the line; `partial` lines were cut by the writer and continue in the next entry. */
  text: string;
  partial: boolean;
}

export interface LogOptions {
  follow?: boolean;
  since?: Date;
  /** Only the last N lines. */
  tail?: number;
  signal?: AbortSignal;
}

export interface WorkloadStats {
  cpuUsageNs: number;
  memoryBytes: number;
  memoryLimitBytes?: number;
  pids: number;
  pidsLimit?: number;
}

/** Streams of an attach session. */
export interface AttachStreams {
  stdin?: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Byte sequence on stdin that detaches (ctrl-p ctrl-q by default). */
  detachKeys?: Uint8Array;
}

/** How an attach session ended: the workload's output ended, or the user detached. */
export type AttachEnd = 'ended' | 'detached';

/** A connected attach session. Output that the workload writes after `attach` resolves is not lost. */
export interface AttachSession {
  /** Sets the workload's terminal size (tty workloads). */
  resize(rows: number, columns: number): void;
  /** Stops relaying without touching the workload. */
  detach(): void;
  done: Promise<AttachEnd>;
}

/** A driver for one kind of workload. */
export interface RuntimeDriver {
  readonly name: string;
  readonly capabilities: Capabilities;
  /** Creates the workload (not started). Bad input fails before anything is made; a failure leaves nothing. */
  create(spec: WorkloadSpec, signal?: AbortSignal): Promise<WorkloadInfo>;
  start(id: string): Promise<void>;
  /** Every workload of this data dir, from disk: running, paused, created and exited ones. */
  list(): Promise<WorkloadInfo[]>;
  /** A workload by full ID, unique ID prefix or name; NotFound otherwise. */
  get(ref: string): Promise<WorkloadInfo>;
  /** Sends the stop signal, waits up to the timeout, then kills. Stopping an exited workload is a Conflict. */
  stop(id: string, opts?: StopOptions): Promise<void>;
  kill(id: string, signal?: string): Promise<void>;
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  /** Removes everything of the workload. A running one needs `force` (it is killed first). */
  remove(id: string, opts?: { force?: boolean }): Promise<void>;
  /** Resolves with the exit code once the workload has exited. */
  wait(id: string, signal?: AbortSignal): Promise<number>;
  /** Runs a process inside a running workload with the caller's stdio; resolves with its exit code. */
  exec(id: string, req: ExecRequest): Promise<number>;
  /** Connects to the main process's stdio (created or running workloads). */
  attach(id: string, streams: AttachStreams): Promise<AttachSession>;
  logs(id: string, opts?: LogOptions): AsyncIterable<LogEntry>;
  stats(id: string): Promise<WorkloadStats>;
  /**
   * Optional: whether the workload has exited, from what its supervisor wrote, without asking the runtime
   * (cheap enough to poll for many workloads). Undefined for a workload that does not exist.
   */
  hasExited?(id: string): Promise<boolean | undefined>;
}
