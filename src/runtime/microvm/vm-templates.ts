/**
 * VM templates: a secure pod's VM resumes from a snapshot of a guest that has booted up to its agent,
 * instead of booting (Kata Containers calls this VM templating). A template is made once per guest size
 * (memory, vCPUs) and guest assets, and kept in <cache>/templates/<key>/:
 *   memory     the guest's RAM as a file: the template VM ran on it shared, so it holds the booted guest
 *   state      the device state (microvm-snapshot.ts: tens of KiB, RAM left out)
 *   meta.json  what it was made from
 * A clone maps `memory` copy-on-write: it starts in tens of milliseconds instead of seconds, and the pages
 * it never writes (the kernel, the agent) stay one copy in the host's page cache for every clone.
 *
 * What clones share and must not: the boot id (the agent forgets it before the snapshot), the kernel's
 * random pool (every hello brings 32 bytes of the host's entropy, credited), the MAC (the host sets the
 * pod's), the clock (set from the hello). What they keep in common: the kernel's address layout (KASLR)
 * and the agent's, as with Kata's templates; NUBIS_MICROVM_TEMPLATES=off boots every VM instead.
 *
 * A template file is never written once made (clones map it): a new one goes to a new directory, and an
 * old one is unlinked, never truncated, so running clones keep their pages.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Host } from '../../host/host.js';
import { errno, internal, messageOf, timeout } from '../../lib/errors.js';
import { readJson } from '../../lib/files.js';
import { logger } from '../../lib/log.js';
import { GUEST_SHARE, type GuestAssets } from './guest-assets.js';
import { AGENT_READY } from './guest-protocol.js';
import { killMicrovm, launchMicrovm, microvmPaths, microvmState, stopMicrovm } from './microvm-process.js';
import { snapshotMicrovm } from './microvm-snapshot.js';
import { POD_TAP } from './pod-nic.js';

const log = logger('microvm');

/** Bumped when what a template holds changes shape. */
const FORMAT = 1;
/** Every clone starts with this MAC; the host gives the guest its pod's (NetworkRequest.mac). */
export const TEMPLATE_MAC = '02:00:00:00:00:01';
/** A failed build is tried again after this long (each pod boots meanwhile). */
const RETRY_AFTER_MS = 10 * 60_000;
/** How long a template's guest may take to boot to its agent (TCG on a loaded host is slow). */
const BOOT_TIMEOUT_MS = 60_000;
/** Build directories older than this are from a builder that died. */
const STALE_BUILD_MS = 5 * 60_000;

export interface GuestSize {
  memoryMiB: number;
  cpus: number;
}

/** A made template: what a clone is launched with. */
export interface VmTemplate {
  key: string;
  dir: string;
  memoryFile: string;
  stateFile: string;
}

interface TemplateMeta {
  format: number;
  key: string;
  size: GuestSize;
  kernel: string;
  initrd: string;
  cmdline: string;
  accel: string;
  qemu: string;
  createdAt: string;
  /** Boot to the agent's hello, then the snapshot, in ms. */
  bootMs: number;
  snapshotMs: number;
}

/** Whether VM templates are used (NUBIS_MICROVM_TEMPLATES=off turns them off). */
export function templatesEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.NUBIS_MICROVM_TEMPLATES !== 'off';
}

export class VmTemplates {
  readonly #made = new Map<string, VmTemplate>();
  readonly #pending = new Map<string, Promise<VmTemplate>>();
  readonly #failedAt = new Map<string, number>();
  #swept = false;

  constructor(
    private readonly host: Host,
    private readonly assets: () => Promise<GuestAssets>,
  ) {}

  /** The template for `size`, made now if there is none; undefined when none can be made (the VM boots then). */
  async get(size: GuestSize): Promise<VmTemplate | undefined> {
    const assets = await this.assets();
    const meta = templateMeta(assets, size);
    const known = this.#made.get(meta.key);
    if (known) return known;
    const dir = path.join(assets.cacheDir, 'templates', meta.key);
    // Made by an earlier process of this machine (the directory appears whole, by rename).
    if (await readJson(path.join(dir, 'meta.json'))) return this.#remember(paths(meta.key, dir));
    const failed = this.#failedAt.get(meta.key);
    if (failed !== undefined && Date.now() - failed < RETRY_AFTER_MS) return undefined;
    let p = this.#pending.get(meta.key);
    if (!p) {
      // Not under any one pod's signal: the template serves every pod of its size.
      p = this.#build(assets, meta, dir);
      this.#pending.set(meta.key, p);
      p.then(
        (t) => {
          this.#pending.delete(meta.key);
          this.#remember(t);
        },
        (err: unknown) => {
          this.#pending.delete(meta.key);
          this.#failedAt.set(meta.key, Date.now());
          log.warn(`no micro-VM template for ${size.memoryMiB} MiB, ${size.cpus} vCPU (VMs boot instead): ${messageOf(err)}`);
        },
      );
    }
    return p.catch(() => undefined);
  }

  #remember(t: VmTemplate): VmTemplate {
    this.#made.set(t.key, t);
    return t;
  }

  /** Drops a template a clone could not resume from (it is made again next time). */
  async discard(t: VmTemplate): Promise<void> {
    log.warn(`micro-VM template ${t.key} discarded`);
    this.#made.delete(t.key);
    await fs.rm(t.dir, { recursive: true, force: true });
  }

  async #build(assets: GuestAssets, meta: Omit<TemplateMeta, 'createdAt' | 'bootMs' | 'snapshotMs'>, dir: string): Promise<VmTemplate> {
    const root = path.dirname(dir);
    await fs.mkdir(root, { recursive: true, mode: 0o700 });
    await this.#sweep(root, assets);
    const tmp = path.join(root, `.build-${meta.key}-${randomBytes(4).toString('hex')}`);
    const vmDir = path.join(tmp, 'vm');
    const started = Date.now();
    try {
      await fs.mkdir(path.join(tmp, 'share'), { recursive: true, mode: 0o700 });
      await launchMicrovm(
        this.host,
        vmDir,
        {
          accel: assets.accel.accel,
          memoryMiB: meta.size.memoryMiB,
          cpus: meta.size.cpus,
          kernel: assets.kernel.vmlinux,
          initrd: assets.initrd,
          cmdline: assets.cmdline,
          // The same devices as every clone's, so that the state loads there.
          share: { kind: '9p', tag: GUEST_SHARE.tag, path: path.join(tmp, 'share') },
          net: { tap: POD_TAP, mac: TEMPLATE_MAC },
          netns: 'own',
          memoryFile: { path: path.join(tmp, 'memory'), shared: true },
        },
      );
      // No host connects before the snapshot: each clone's agent then finds its host as a freshly booted one does.
      await waitForConsole(vmDir, AGENT_READY, BOOT_TIMEOUT_MS);
      const booted = Date.now();
      await snapshotMicrovm(microvmPaths(vmDir).qmpSocket, path.join(tmp, 'state'));
      const snapshotMs = Date.now() - booted;
      await stopMicrovm(vmDir);
      await fs.rm(vmDir, { recursive: true, force: true });
      await fs.rm(path.join(tmp, 'share'), { recursive: true, force: true });
      const full: TemplateMeta = { ...meta, createdAt: new Date().toISOString(), bootMs: booted - started, snapshotMs };
      await fs.writeFile(path.join(tmp, 'meta.json'), JSON.stringify(full, null, 2));
      try {
        await fs.rename(tmp, dir);
      } catch (err) {
        // Another agent on this machine made it first: theirs is as good.
        if (errno(err) !== 'ENOTEMPTY' && errno(err) !== 'EEXIST') throw err;
        await fs.rm(tmp, { recursive: true, force: true });
      }
      log.info(`micro-VM template for ${meta.size.memoryMiB} MiB, ${meta.size.cpus} vCPU made (boot ${full.bootMs} ms, snapshot ${snapshotMs} ms)`);
      return paths(meta.key, dir);
    } catch (err) {
      await killMicrovm(vmDir).catch(() => {});
      await fs.rm(tmp, { recursive: true, force: true });
      throw err;
    }
  }

  /**
   * Once per process, before the first build: removes templates of other guest assets or QEMU (an
   * upgrade) and what builders that died left (their QEMU included).
   */
  async #sweep(root: string, assets: GuestAssets): Promise<void> {
    if (this.#swept) return;
    this.#swept = true;
    for (const name of await fs.readdir(root).catch(() => [] as string[])) {
      const dir = path.join(root, name);
      if (name.startsWith('.build-')) {
        const st = await fs.stat(dir).catch(() => undefined);
        if (!st || Date.now() - st.mtimeMs < STALE_BUILD_MS) continue;
        await killMicrovm(path.join(dir, 'vm')).catch(() => {});
        await fs.rm(dir, { recursive: true, force: true });
        continue;
      }
      const m = await readJson<TemplateMeta>(path.join(dir, 'meta.json')).catch(() => undefined);
      if (!m || m.format !== FORMAT || m.kernel !== assets.kernel.vmlinux || m.initrd !== assets.initrd || m.qemu !== assets.qemu) {
        await fs.rm(dir, { recursive: true, force: true });
      }
    }
  }
}

/** Waits until the console of the VM in `vmDir` shows `marker`; fails when QEMU ends or after `timeoutMs`. */
async function waitForConsole(vmDir: string, marker: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const file = microvmPaths(vmDir).consoleLog;
  for (;;) {
    const text = await fs.readFile(file, 'utf8').catch(() => '');
    if (text.includes(marker)) return;
    if ((await microvmState(vmDir)) !== 'running') throw internal(`the template's guest stopped while booting: ${text.trim().split('\n').slice(-3).join(' | ')}`);
    if (Date.now() > deadline) throw timeout(`the template's guest agent was not up after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** What a template of `size` is made from, and its key (a digest of that). */
function templateMeta(assets: GuestAssets, size: GuestSize): Omit<TemplateMeta, 'createdAt' | 'bootMs' | 'snapshotMs'> {
  const inputs = { format: FORMAT, size, kernel: assets.kernel.vmlinux, initrd: assets.initrd, cmdline: assets.cmdline, accel: assets.accel.accel, qemu: assets.qemu };
  const key = createHash('sha256').update(JSON.stringify(inputs)).digest('hex').slice(0, 24);
  return { ...inputs, key };
}

function paths(key: string, dir: string): VmTemplate {
  return { key, dir, memoryFile: path.join(dir, 'memory'), stateFile: path.join(dir, 'state') };
}
