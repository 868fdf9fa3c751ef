/**
 * virtiofsd, the vhost-user daemon that serves a host directory to a guest's virtio-fs device (QEMU's
 * bundled one on Debian 12). It is started before QEMU (QEMU connects to its socket), in its own session
 * so it outlives the agent like QEMU does, and it exits by itself when QEMU disconnects.
 */
import { promises as fs } from 'node:fs';
import { internal, timeout, unavailable } from '../../lib/errors.js';
import { writeFileAtomic } from '../../lib/files.js';
import type { Host } from '../../host/host.js';

/** Where virtiofsd may be: Debian 12 ships it with QEMU, later releases in their own package. */
export const VIRTIOFSD_PATHS = ['/usr/lib/qemu/virtiofsd', '/usr/libexec/virtiofsd'];

export interface VirtiofsdSpec {
  /** The directory to serve. */
  source: string;
  /** The vhost-user socket it listens on (QEMU's chardev connects to it). */
  socket: string;
  /** Where its pid is written. */
  pidFile: string;
  /** Its stdout and stderr. */
  logFile: string;
  /** Guest caching of metadata and data: "auto" (default), "always" or "none". */
  cache?: 'auto' | 'always' | 'none';
  /** The binary, if not one of VIRTIOFSD_PATHS. */
  binary?: string;
}

export async function findVirtiofsd(candidates = VIRTIOFSD_PATHS): Promise<string> {
  for (const p of candidates) {
    if (await fs.access(p).then(() => true, () => false)) return p;
  }
  throw unavailable(`virtiofsd not found (looked at ${candidates.join(', ')}): install Debian's qemu-system-common or virtiofsd`);
}

/** virtiofsd's arguments. It must not raise RLIMIT_NOFILE (some hosts deny it): --rlimit-nofile=0. */
export function virtiofsdArgv(spec: VirtiofsdSpec): string[] {
  const options = [`source=${spec.source.replace(/,/g, '\\,')}`, `cache=${spec.cache ?? 'auto'}`, 'sandbox=namespace', 'xattr'];
  return [`--socket-path=${spec.socket}`, '-o', options.join(','), '--rlimit-nofile=0'];
}

async function logTail(file: string): Promise<string> {
  const text = await fs.readFile(file, 'utf8').catch(() => '');
  return text.trim().split('\n').slice(-3).join('; ');
}

/**
 * Starts virtiofsd for `spec` and resolves with its pid once its socket exists (it serves one connection:
 * probing it would take QEMU's place). Fails with Internal (and its log) if it exits first, Timeout if the
 * socket does not appear within `timeoutMs`.
 */
export async function startVirtiofsd(host: Host, spec: VirtiofsdSpec, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<number> {
  const binary = spec.binary ?? (await findVirtiofsd());
  await fs.rm(spec.socket, { force: true });
  const log = await fs.open(spec.logFile, 'a', 0o600);
  let child;
  try {
    child = host.spawn(binary, virtiofsdArgv(spec), { stdio: ['ignore', log.fd, log.fd], detached: true });
  } finally {
    await log.close();
  }
  child.unref();
  let exitCode: number | undefined;
  child.exited.then((code) => (exitCode = code), () => (exitCode = -1));
  await writeFileAtomic(spec.pidFile, `${child.pid}\n`);
  const deadline = Date.now() + (opts.timeoutMs ?? 5000);
  while (!(await fs.access(spec.socket).then(() => true, () => false))) {
    if (exitCode !== undefined) throw internal(`virtiofsd exited (${exitCode}) before it listened: ${await logTail(spec.logFile)}`);
    if (opts.signal?.aborted || Date.now() > deadline) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // gone already
      }
      opts.signal?.throwIfAborted();
      throw timeout(`virtiofsd did not make ${spec.socket} in ${opts.timeoutMs ?? 5000} ms`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  return child.pid;
}
