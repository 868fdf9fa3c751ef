/**
 * The host's resource limits (from /proc/self/limits) and the clamp that keeps every rlimit Nubis asks runc
 * to set at or below the host's hard limit: a process without CAP_SYS_RESOURCE cannot raise a hard limit,
 * and runc fails the whole container start if setrlimit is refused.
 */
import { readFileSync } from 'node:fs';
import { internal } from '../lib/errors.js';

/** One limit; `Infinity` stands for "unlimited". */
export interface Rlimit {
  soft: number;
  hard: number;
}

/** Limits keyed by their kernel name, e.g. RLIMIT_NOFILE. */
export type Rlimits = Partial<Record<RlimitName, Rlimit>>;

export type RlimitName =
  | 'RLIMIT_CPU'
  | 'RLIMIT_FSIZE'
  | 'RLIMIT_DATA'
  | 'RLIMIT_STACK'
  | 'RLIMIT_CORE'
  | 'RLIMIT_RSS'
  | 'RLIMIT_NPROC'
  | 'RLIMIT_NOFILE'
  | 'RLIMIT_MEMLOCK'
  | 'RLIMIT_AS'
  | 'RLIMIT_LOCKS'
  | 'RLIMIT_SIGPENDING'
  | 'RLIMIT_MSGQUEUE'
  | 'RLIMIT_NICE'
  | 'RLIMIT_RTPRIO'
  | 'RLIMIT_RTTIME';

/** The row titles of /proc/<pid>/limits and the limit each one shows. */
const ROW_NAMES: Record<string, RlimitName> = {
  'Max cpu time': 'RLIMIT_CPU',
  'Max file size': 'RLIMIT_FSIZE',
  'Max data size': 'RLIMIT_DATA',
  'Max stack size': 'RLIMIT_STACK',
  'Max core file size': 'RLIMIT_CORE',
  'Max resident set': 'RLIMIT_RSS',
  'Max processes': 'RLIMIT_NPROC',
  'Max open files': 'RLIMIT_NOFILE',
  'Max locked memory': 'RLIMIT_MEMLOCK',
  'Max address space': 'RLIMIT_AS',
  'Max file locks': 'RLIMIT_LOCKS',
  'Max pending signals': 'RLIMIT_SIGPENDING',
  'Max msgqueue size': 'RLIMIT_MSGQUEUE',
  'Max nice priority': 'RLIMIT_NICE',
  'Max realtime priority': 'RLIMIT_RTPRIO',
  'Max realtime timeout': 'RLIMIT_RTTIME',
};

function parseValue(text: string, line: string): number {
  if (text === 'unlimited') return Infinity;
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n)) throw internal(`cannot read limit line: ${line.trim()}`);
  return n;
}

/** Parses the text of /proc/<pid>/limits. Rows it does not know are ignored. */
export function parseRlimits(text: string): Rlimits {
  const out: Rlimits = {};
  for (const line of text.split('\n')) {
    // Columns are separated by two or more spaces; the units column may be empty.
    const cols = line.trim().split(/\s{2,}/);
    const name = cols[0] !== undefined ? ROW_NAMES[cols[0]] : undefined;
    if (!name || cols.length < 3) continue;
    out[name] = { soft: parseValue(cols[1]!, line), hard: parseValue(cols[2]!, line) };
  }
  return out;
}

/** Reads the limits of this process (synchronous: a tiny procfs file). */
export function readHostRlimits(file = '/proc/self/limits'): Rlimits {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw internal(`cannot read host rlimits from ${file}`, err);
  }
  return parseRlimits(text);
}

/**
 * Lowers `wanted` so neither value exceeds the host's hard limit, and the soft limit never exceeds the
 * hard one. A limit the host does not report is returned unchanged.
 */
export function clampRlimit(name: RlimitName, wanted: Rlimit, host: Rlimits): Rlimit {
  const ceiling = host[name]?.hard ?? Infinity;
  const hard = Math.min(wanted.hard, ceiling);
  return { soft: Math.min(wanted.soft, hard), hard };
}

/** What a container gets for open files: 1048576 like Docker's default, never above the host's hard limit. */
export const CONTAINER_NOFILE = 1_048_576;

/** One rlimit as the OCI runtime spec writes it (finite values only: JSON cannot carry 2^64-1 exactly). */
export interface OciRlimit {
  type: RlimitName;
  soft: number;
  hard: number;
}

/**
 * The rlimits a container process is given: RLIMIT_NOFILE soft = hard = min(1048576, host hard). Every
 * other limit is inherited from runc, which inherits it from us, so nothing else is emitted.
 */
export function containerRlimits(host: Rlimits): OciRlimit[] {
  const nofile = clampRlimit('RLIMIT_NOFILE', { soft: CONTAINER_NOFILE, hard: CONTAINER_NOFILE }, host);
  // soft = hard: a container's programs expect the full allowance without calling setrlimit themselves.
  return [{ type: 'RLIMIT_NOFILE', soft: nofile.hard, hard: nofile.hard }];
}
