/**
 * A pod's sandbox: the network, IPC and UTS namespaces its containers share, pinned by bind mounts on
 * files in the pod's directory (<pod dir>/ns/{net,ipc,uts}) instead of being held by an "infra"
 * container (CRI-O does the same when it drops its infra container). Making one is a single
 * `unshare --net=FILE --ipc=FILE --uts=FILE -- ip link set lo up` (util-linux makes the namespaces, bind
 * mounts them onto the files, and runs `ip` inside them to bring loopback up); no runtime, conmon or
 * process stays behind. Every container of the pod joins them by path; runc sets the pod's hostname in
 * the shared UTS namespace as each container starts. The namespaces live until the files are unmounted
 * and the last container in them has exited; pinned files survive an agent restart and are found again
 * (a pinned file is on nsfs, the namespace filesystem).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Host } from '../host/host.js';
import { internal } from '../lib/errors.js';
import type { SharedNamespaces } from '../runtime/driver.js';

const KINDS = ['network', 'ipc', 'uts'] as const;
/** unshare's option and the file name of each kind. */
const FILES = { network: 'net', ipc: 'ipc', uts: 'uts' } as const;

export class PodSandboxes {
  constructor(
    private readonly host: Host,
    /** The pod's own directory (its volumes live there too). */
    private readonly podDir: (uid: string) => string,
  ) {}

  /** Where a pod's namespaces are pinned. */
  paths(uid: string): Required<SharedNamespaces> {
    const dir = path.join(this.podDir(uid), 'ns');
    return { network: path.join(dir, FILES.network), ipc: path.join(dir, FILES.ipc), uts: path.join(dir, FILES.uts) };
  }

  /** Whether all of a pod's namespaces are pinned (after an agent restart: the sandbox still exists). */
  async exists(uid: string): Promise<boolean> {
    const p = this.paths(uid);
    const pinned = await Promise.all(KINDS.map((k) => isNamespaceFile(p[k])));
    return pinned.every(Boolean);
  }

  /**
   * Pins the namespaces a running process is in as the pod's sandbox: how the infra container of an
   * agent from before pinned namespaces hands its pod over, without stopping the pod's containers.
   */
  async adoptFrom(uid: string, pid: number): Promise<Required<SharedNamespaces>> {
    await this.remove(uid);
    const p = this.paths(uid);
    await fs.mkdir(path.dirname(p.network), { recursive: true });
    try {
      for (const k of KINDS) {
        await fs.writeFile(p[k], '');
        await this.host.run('mount', ['--bind', `/proc/${pid}/ns/${FILES[k]}`, p[k]]);
      }
    } catch (err) {
      await this.remove(uid).catch(() => {});
      throw internal(`cannot pin the namespaces of process ${pid}: ${(err as Error).message}`);
    }
    return p;
  }

  /** Makes and pins fresh namespaces for a pod (whatever was pinned before goes); loopback is up. */
  async create(uid: string): Promise<Required<SharedNamespaces>> {
    await this.remove(uid);
    const p = this.paths(uid);
    await fs.mkdir(path.dirname(p.network), { recursive: true });
    await Promise.all(KINDS.map((k) => fs.writeFile(p[k], '')));
    const r = await this.host.run('unshare', [...KINDS.map((k) => `--${FILES[k]}=${p[k]}`), '--', 'ip', 'link', 'set', 'lo', 'up'], { allowFailure: true });
    if (r.code !== 0) {
      await this.remove(uid).catch(() => {});
      throw internal(`cannot make the pod's namespaces: ${r.stderr.trim() || `unshare exited with ${r.code}`}`);
    }
    return p;
  }

  /** Unpins a pod's namespaces (they end once no container is left in them); safe to repeat. */
  async remove(uid: string): Promise<void> {
    const p = this.paths(uid);
    const pinned: string[] = [];
    for (const k of KINDS) if (await isNamespaceFile(p[k])) pinned.push(p[k]);
    if (pinned.length > 0) {
      // MNT_DETACH: an nsfs bind mount has nothing to flush, and a busy one must not stop the clean-up.
      const r = await this.host.run('umount', ['--lazy', ...pinned], { allowFailure: true });
      if (r.code !== 0) throw internal(`cannot unpin the pod's namespaces: ${r.stderr.trim()}`);
    }
    await fs.rm(path.dirname(p.network), { recursive: true, force: true });
  }
}

let nsfsDev: number | undefined;

/** Whether `file` is a namespace (a bind mount from nsfs), not a plain file or nothing. */
async function isNamespaceFile(file: string): Promise<boolean> {
  nsfsDev ??= (await fs.stat('/proc/self/ns/net')).dev;
  try {
    return (await fs.stat(file)).dev === nsfsDev;
  } catch {
    return false;
  }
}
