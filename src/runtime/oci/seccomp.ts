/**
 * Nubis's default seccomp profile for containers.
 *
 * Choice: an ALLOWLIST (default action: fail with EPERM). A denylist silently admits every syscall the
 * kernel adds later, however dangerous; an allowlist admits only what was reviewed. runc answers ENOSYS
 * rather than EPERM for syscall numbers newer than any named here, so libc's fallbacks keep working.
 *
 * Syscalls that only make sense with a capability are allowed only when the container has that capability
 * (the kernel checks the capability too; the filter removes the attack surface of the code behind it).
 * Never allowed, whatever the capabilities (no namespacing or too much kernel surface): the keyring
 * (keyctl, add_key, request_key), userfaultfd, io_uring, vm86, uselib, nfsservctl, _sysctl.
 *
 * A custom profile (a Kubernetes Localhost profile) in the OCI or Docker JSON format is checked and turned
 * into the OCI form by customSeccompProfile.
 */

import { invalid } from '../../lib/errors.js';

/** The actions runc takes (SCMP_ACT_NOTIFY is left out: it needs a listener Nubis does not run). */
export const SECCOMP_ACTIONS = [
  'SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_TRAP', 'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE', 'SCMP_ACT_ALLOW', 'SCMP_ACT_LOG',
] as const;
export type SeccompAction = (typeof SECCOMP_ACTIONS)[number];

const SECCOMP_OPS = ['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ'] as const;
const SECCOMP_FLAGS = ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW'];

/** One argument comparison of a seccomp rule (OCI runtime spec). */
export interface SeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: (typeof SECCOMP_OPS)[number];
}

export interface SeccompRule {
  names: string[];
  action: SeccompAction;
  errnoRet?: number;
  args?: SeccompArg[];
}

/** The `linux.seccomp` object of an OCI runtime spec. */
export interface SeccompProfile {
  defaultAction: SeccompAction;
  defaultErrnoRet?: number;
  architectures: string[];
  flags?: string[];
  syscalls: SeccompRule[];
}

const EPERM = 1;
const ENOSYS = 38;

/** Reading and writing files, directories, links, attributes, file descriptors. */
const FILES = `
access faccessat faccessat2 chdir fchdir getcwd chmod fchmod fchmodat fchmodat2 umask
chown chown32 fchown fchown32 fchownat lchown lchown32
open openat openat2 creat close close_range dup dup2 dup3 fcntl fcntl64 flock ioctl
read readv pread64 preadv preadv2 write writev pwrite64 pwritev pwritev2 lseek _llseek
sendfile sendfile64 splice tee vmsplice copy_file_range readahead fadvise64 fadvise64_64 fallocate
fsync fdatasync sync syncfs sync_file_range truncate truncate64 ftruncate ftruncate64
stat stat64 lstat lstat64 fstat fstat64 fstatat64 newfstatat statx statfs statfs64 fstatfs fstatfs64
getdents getdents64 mkdir mkdirat rmdir mknod mknodat link linkat symlink symlinkat unlink unlinkat
rename renameat renameat2 readlink readlinkat utime utimes utimensat utimensat_time64 futimesat
getxattr lgetxattr fgetxattr getxattrat listxattr llistxattr flistxattr listxattrat
setxattr lsetxattr fsetxattr setxattrat removexattr lremovexattr fremovexattr removexattrat
inotify_init inotify_init1 inotify_add_watch inotify_rm_watch memfd_create cachestat
io_setup io_destroy io_submit io_cancel io_getevents io_pgetevents io_pgetevents_time64 chroot
`;

/** Waiting for events: polling, pipes, eventfd, signalfd, timers. */
const EVENTS = `
select _newselect pselect6 pselect6_time64 poll ppoll ppoll_time64
epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_wait epoll_wait_old epoll_pwait epoll_pwait2
eventfd eventfd2 signalfd signalfd4 pipe pipe2
timerfd_create timerfd_settime timerfd_settime64 timerfd_gettime timerfd_gettime64
`;

/** Address space management. */
const MEMORY = `
brk mmap mmap2 munmap mremap mprotect madvise mincore msync membarrier remap_file_pages
mlock mlock2 munlock mlockall munlockall pkey_alloc pkey_free pkey_mprotect
process_madvise process_mrelease map_shadow_stack mseal
`;

/** Processes, threads, identity, signals, scheduling, time. */
const PROCESSES = `
execve execveat fork vfork exit exit_group wait4 waitid waitpid
arch_prctl prctl set_tid_address set_robust_list get_robust_list rseq set_thread_area get_thread_area
getpid getppid gettid getpgid setpgid getpgrp getsid setsid
getuid getuid32 geteuid geteuid32 getgid getgid32 getegid getegid32 getresuid getresuid32 getresgid getresgid32
setuid setuid32 setgid setgid32 setreuid setreuid32 setregid setregid32 setresuid setresuid32
setresgid setresgid32 setfsuid setfsuid32 setfsgid setfsgid32 getgroups getgroups32 setgroups setgroups32
capget capset getrlimit ugetrlimit setrlimit prlimit64 getrusage getpriority setpriority times
kill tkill tgkill pidfd_open pidfd_send_signal pidfd_getfd
rt_sigaction rt_sigprocmask rt_sigreturn rt_sigpending rt_sigsuspend rt_sigqueueinfo rt_tgsigqueueinfo
rt_sigtimedwait rt_sigtimedwait_time64 sigaction sigprocmask sigreturn sigpending sigsuspend sigaltstack signal
pause alarm nanosleep clock_nanosleep clock_nanosleep_time64 restart_syscall
futex futex_time64 futex_waitv futex_wake futex_wait futex_requeue
sched_yield sched_getaffinity sched_setaffinity sched_getparam sched_setparam sched_getscheduler
sched_setscheduler sched_getattr sched_setattr sched_get_priority_max sched_get_priority_min
sched_rr_get_interval sched_rr_get_interval_time64 getcpu ioprio_get ioprio_set
time gettimeofday clock_gettime clock_gettime64 clock_getres clock_getres_time64 adjtimex clock_adjtime
clock_adjtime64 timer_create timer_delete timer_getoverrun timer_gettime timer_gettime64 timer_settime
timer_settime64 getitimer setitimer uname sysinfo getrandom
ptrace process_vm_readv process_vm_writev seccomp
landlock_create_ruleset landlock_add_rule landlock_restrict_self
`;

/** System V and POSIX IPC (the container has its own IPC namespace) and sockets. */
const IPC_AND_NET = `
ipc msgget msgsnd msgrcv msgctl semget semop semtimedop semtimedop_time64 semctl shmget shmat shmdt shmctl
mq_open mq_unlink mq_timedsend mq_timedsend_time64 mq_timedreceive mq_timedreceive_time64 mq_notify mq_getsetattr
socket socketpair socketcall bind listen accept accept4 connect getsockname getpeername getsockopt setsockopt
send sendto sendmsg sendmmsg recv recvfrom recvmsg recvmmsg recvmmsg_time64 shutdown
`;

/** Allowed only when the container holds the capability that names the group. */
const BY_CAPABILITY: Record<string, string> = {
  CAP_SYS_ADMIN: `
    mount umount umount2 pivot_root fsopen fsconfig fsmount fspick move_mount open_tree mount_setattr
    unshare setns sethostname setdomainname quotactl quotactl_fd name_to_handle_at fanotify_init
    lookup_dcookie swapon swapoff bpf perf_event_open`,
  CAP_SYS_BOOT: 'reboot kexec_load kexec_file_load',
  CAP_SYS_MODULE: 'init_module finit_module delete_module',
  CAP_SYS_TIME: 'settimeofday stime clock_settime clock_settime64',
  CAP_SYS_RAWIO: 'iopl ioperm',
  CAP_SYS_PACCT: 'acct',
  CAP_SYS_NICE: 'mbind set_mempolicy get_mempolicy set_mempolicy_home_node migrate_pages move_pages',
  CAP_SYS_PTRACE: 'kcmp',
  CAP_DAC_READ_SEARCH: 'open_by_handle_at',
  CAP_SYSLOG: 'syslog',
  CAP_SYS_TTY_CONFIG: 'vhangup',
  CAP_BPF: 'bpf',
  CAP_PERFMON: 'perf_event_open',
};

/** The clone flags that create namespaces (NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET, NEWTIME). */
export const CLONE_NAMESPACE_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000 | 0x80;

/** personality(2) values ordinary programs use: default, 32-bit, uname26 and the query value. */
const PERSONALITIES = [0x0, 0x8, 0x20000, 0x20008, 0xffffffff];

function words(text: string): string[] {
  return text.split(/\s+/).filter(Boolean);
}

/**
 * The default profile for a container holding `capabilities` (e.g. ["CAP_CHOWN", …]). A privileged
 * container gets no seccomp filter at all: callers simply do not attach one.
 */
export function defaultSeccompProfile(capabilities: readonly string[]): SeccompProfile {
  const caps = new Set(capabilities);
  const allowed = new Set([...words(FILES), ...words(EVENTS), ...words(MEMORY), ...words(PROCESSES), ...words(IPC_AND_NET)]);
  for (const [cap, names] of Object.entries(BY_CAPABILITY)) if (caps.has(cap)) for (const n of words(names)) allowed.add(n);

  const rules: SeccompRule[] = [{ names: [...allowed].sort(), action: 'SCMP_ACT_ALLOW' }];
  rules.push(
    ...PERSONALITIES.map(
      (value): SeccompRule => ({ names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value, op: 'SCMP_CMP_EQ' }] }),
    ),
  );
  if (caps.has('CAP_SYS_ADMIN')) {
    rules.push({ names: ['clone', 'clone3'], action: 'SCMP_ACT_ALLOW' });
  } else {
    // clone is fine as long as it creates no namespace (x86: flags are the first argument)...
    rules.push({
      names: ['clone'],
      action: 'SCMP_ACT_ALLOW',
      args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }],
    });
    // ...but clone3 passes its flags in memory a filter cannot read: ENOSYS makes libc fall back to clone.
    rules.push({ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS });
  }
  return {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: EPERM,
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls: rules,
  };
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function oneOf<T extends string>(v: unknown, allowed: readonly T[], what: string): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) throw invalid(`seccomp profile: unsupported ${what} ${JSON.stringify(v)}`);
  return v as T;
}

function optionalInt(v: unknown, what: string): number | undefined {
  if (v === undefined) return undefined;
  if (!Number.isSafeInteger(v) || (v as number) < 0) throw invalid(`seccomp profile: ${what} must be a non-negative integer`);
  return v as number;
}

function stringList(v: unknown, what: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw invalid(`seccomp profile: ${what} must be a list of strings`);
  return v as string[];
}

/** Docker's archMap flattened into OCI architectures. */
function architecturesOf(p: Json): string[] {
  if (p.archMap === undefined || p.archMap === null) return stringList(p.architectures, 'architectures');
  if (!Array.isArray(p.archMap)) throw invalid('seccomp profile: archMap must be a list');
  return p.archMap.flatMap((a: unknown) => (isObject(a) ? [...stringList([a.architecture], 'architecture'), ...stringList(a.subArchitectures, 'subArchitectures')] : []));
}

/** Docker's includes/excludes of a rule: capabilities held and architectures (this host is amd64). */
function ruleApplies(rule: Json, caps: ReadonlySet<string>): boolean {
  const inc = isObject(rule.includes) ? rule.includes : {};
  const exc = isObject(rule.excludes) ? rule.excludes : {};
  const incArches = stringList(inc.arches, 'includes.arches');
  if (!stringList(inc.caps, 'includes.caps').every((c) => caps.has(c))) return false;
  if (incArches.length > 0 && !incArches.includes('amd64')) return false;
  if (stringList(exc.caps, 'excludes.caps').some((c) => caps.has(c))) return false;
  return !stringList(exc.arches, 'excludes.arches').includes('amd64');
}

function argOf(a: unknown): SeccompArg {
  if (!isObject(a)) throw invalid('seccomp profile: every args entry must be an object');
  const arg: SeccompArg = { index: optionalInt(a.index, 'args.index') ?? 0, value: optionalInt(a.value, 'args.value') ?? 0, op: oneOf(a.op, SECCOMP_OPS, 'operator') };
  const two = optionalInt(a.valueTwo, 'args.valueTwo');
  if (two !== undefined) arg.valueTwo = two;
  return arg;
}

function ruleOf(r: Json): SeccompRule {
  const names = r.names !== undefined ? stringList(r.names, 'syscalls.names') : stringList([r.name], 'syscalls.name');
  if (names.length === 0) throw invalid('seccomp profile: a syscalls entry names no system call');
  const rule: SeccompRule = { names, action: oneOf(r.action, SECCOMP_ACTIONS, 'action') };
  const errnoRet = optionalInt(r.errnoRet, 'errnoRet');
  if (errnoRet !== undefined) rule.errnoRet = errnoRet;
  if (Array.isArray(r.args) && r.args.length > 0) rule.args = r.args.map(argOf);
  return rule;
}

/**
 * A user's seccomp profile (OCI `linux.seccomp` or Docker's format with archMap and includes/excludes,
 * as Kubernetes Localhost profiles are written) as the OCI object, for a container holding
 * `capabilities`. Fails with Invalid on anything malformed or unsupported (a notify listener).
 */
export function customSeccompProfile(profile: unknown, capabilities: readonly string[]): SeccompProfile {
  if (!isObject(profile)) throw invalid('seccomp profile must be a JSON object');
  if (profile.listenerPath) throw invalid('seccomp profile: notify listeners are not supported');
  const caps = new Set(capabilities);
  if (profile.syscalls !== undefined && profile.syscalls !== null && !Array.isArray(profile.syscalls)) throw invalid('seccomp profile: syscalls must be a list');
  const rules = ((profile.syscalls as unknown[] | undefined) ?? []).map((r) => {
    if (!isObject(r)) throw invalid('seccomp profile: every syscalls entry must be an object');
    return r;
  });
  const out: SeccompProfile = {
    defaultAction: oneOf(profile.defaultAction, SECCOMP_ACTIONS, 'defaultAction'),
    architectures: architecturesOf(profile),
    syscalls: rules.filter((r) => ruleApplies(r, caps)).map(ruleOf),
  };
  const defaultErrnoRet = optionalInt(profile.defaultErrnoRet, 'defaultErrnoRet');
  if (defaultErrnoRet !== undefined) out.defaultErrnoRet = defaultErrnoRet;
  const flags = stringList(profile.flags, 'flags');
  for (const f of flags) oneOf(f, SECCOMP_FLAGS, 'flag');
  if (flags.length > 0) out.flags = flags;
  return out;
}
