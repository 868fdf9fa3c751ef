/**
 * The micro-VM driver's pod sandboxes. Each is a directory <root>/sandboxes/<pod uid>/ with
 *   vm/        the QEMU run directory (pid file, QMP and agent sockets, console log: microvm-process.ts)
 *   shared/    what the guest sees at /run/nubis over 9p: per container its root (a host overlay), log,
 *              exit file and bind-mounted volumes
 *   vm.json    how the VM was made (size, MAC, accelerator); network.json once the guest's NIC is set up
 * and a network namespace pinned in <root>/netns/<uid> (pod-sandboxes.ts) holding the pod's interface and
 * the tap QEMU uses. The VM resumes from the template of its size (vm-templates.ts), or boots when there
 * is none. QEMU runs daemonized inside that namespace, so the VM outlives the agent; a sandbox
 * exists while its namespace is pinned and its QEMU runs. A guest that stops answering heartbeats is
 * killed (30 s without an answer: TCG on a loaded host is slow): its sandbox is then gone, and the agent makes a new one as for any lost sandbox.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { placeInCgroup, removeCgroupWhenEmpty } from '../../host/cgroups.js';
import type { Host } from '../../host/host.js';
import { internal, isNubisError, messageOf } from '../../lib/errors.js';
import { logger } from '../../lib/log.js';
import type { Resources } from '../driver.js';
import { CGROUP_PARENT } from '../oci/oci-containers.js';
import { PodSandboxes } from '../oci/pod-sandboxes.js';
import { checkSandboxId, type SandboxSpec } from '../sandbox.js';
import { GUEST_SHARE, type GuestAssets } from './guest-assets.js';
import { connectUnix, GuestClient } from './guest-client.js';
import { killMicrovm, launchMicrovm, microvmState, stopMicrovm, type LaunchSpec, type MicrovmProcesses } from './microvm-process.js';
import { createPodTap, POD_TAP, readPodNic, redirectPodNic } from './pod-nic.js';
import { DEFAULT_TCG_TB_MIB } from './qemu-command.js';
import { TEMPLATE_MAC, type GuestSize, type VmTemplates } from './vm-templates.js';

const log = logger('microvm');
/** Mount flags for what the guest writes: no devices, no setuid, no symlinks followed by the host. */
export const INERT = 'nodev,nosuid,nosymfollow';
const MiB = 1024 * 1024;
/** What the guest's kernel, agent and page cache need on top of the pod's own limit. */
export const GUEST_OVERHEAD_MIB = 64;
/** Where each VM's QEMU runs, as /nubis/microvm/<sandbox id> in the cgroup hierarchies. */
export const vmCgroup = (id: string) => `${CGROUP_PARENT}/microvm/${id}`;
/** The guest's memory when the pod sets no limit. */
export const DEFAULT_GUEST_MIB = 256;

/** How a sandbox's VM was made (vm.json). */
export interface VmRecord {
  /** Random per VM: runs made in an earlier VM of the same sandbox id have ended with it. */
  generation: string;
  memoryMiB: number;
  cpus: number;
  mac: string;
  accel: string;
  accelReason: string;
  /** The template it resumed from (vm-templates.ts); absent when it booted. */
  template?: string;
}

/** The guest's size for the pod's limits: memory limit plus overhead (or the default), whole vCPUs. */
export function guestSize(r: Resources | undefined): GuestSize {
  const memoryMiB = r?.memoryBytes ? Math.max(128, Math.ceil(r.memoryBytes / MiB) + GUEST_OVERHEAD_MIB) : DEFAULT_GUEST_MIB;
  const cpus = Math.min(os.availableParallelism(), Math.max(1, Math.ceil(r?.cpus ?? 1)));
  return { memoryMiB, cpus };
}

/** What QEMU needs beside the guest's RAM (and TCG's code cache): measured 22-27 MiB idle, more under I/O. */
const QEMU_OWN_MIB = 64;

/**
 * QEMU's memory cap: the pod's limits with its overhead, but never less than the VM holds when its guest
 * uses all its RAM (a guest is at least 128 MiB and TCG caches code): below that the host would kill
 * the VM where the guest's own OOM killer should act inside it.
 */
export function qemuMemoryCap(limit: number | undefined, vm: Pick<VmRecord, 'memoryMiB' | 'accel'>): number | undefined {
  if (limit === undefined) return undefined;
  const needs = (vm.memoryMiB + (vm.accel === 'tcg' ? DEFAULT_TCG_TB_MIB : 0) + QEMU_OWN_MIB) * MiB;
  return Math.max(limit, needs);
}

/** A locally administered unicast MAC. */
function randomMac(): string {
  const b = randomBytes(6);
  b[0] = (b[0]! & 0xfe) | 0x02;
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

export class VmSandboxes {
  readonly #pins: PodSandboxes;
  readonly #clients = new Map<string, Promise<GuestClient>>();

  constructor(
    private readonly host: Host,
    /** <data>/microvm */
    private readonly root: string,
    private readonly assets: () => Promise<GuestAssets>,
    /** Where VMs resume from instead of booting; none: every VM boots. */
    private readonly templates?: VmTemplates,
  ) {
    this.#pins = new PodSandboxes(host, path.join(root, 'netns'));
  }

  dir(id: string): string {
    return path.join(this.root, 'sandboxes', id);
  }

  /** The host directory the guest sees at /run/nubis. */
  shared(id: string): string {
    return path.join(this.dir(id), 'shared');
  }

  netns(id: string): string {
    return this.#pins.paths(id).network;
  }

  async ids(): Promise<string[]> {
    const dirs = await fs.readdir(path.join(this.root, 'sandboxes')).catch(() => [] as string[]);
    const pinned = await this.#pins.ids();
    return [...new Set([...dirs, ...pinned])].sort();
  }

  /**
   * Whether the sandbox is whole: its namespace pinned and its QEMU running. A whole one is connected to
   * (once), so that its guest's heartbeats are watched also when it was made by an agent before this one.
   */
  async exists(id: string): Promise<boolean> {
    checkSandboxId(id);
    const whole = (await this.#pins.exists(id)) && (await microvmState(path.join(this.dir(id), 'vm'))) === 'running';
    if (whole && !this.#clients.has(id)) this.client(id).catch((err: unknown) => log.warn(`sandbox ${id}: no guest agent: ${(err as Error).message}`));
    return whole;
  }

  /** How the sandbox's VM runs (for events: KVM or TCG). */
  async record(id: string): Promise<VmRecord | undefined> {
    return readJson<VmRecord>(path.join(this.dir(id), 'vm.json'));
  }

  /** Pins the namespace, makes the tap and boots the VM (the guest boots on while this returns). */
  async create(spec: SandboxSpec, signal?: AbortSignal): Promise<void> {
    checkSandboxId(spec.id);
    await this.remove(spec.id);
    const dir = this.dir(spec.id);
    try {
      await fs.mkdir(this.shared(spec.id), { recursive: true, mode: 0o700 });
      // QEMU serves the share as root and the guest writes in it: device files it makes must not open
      // host devices, setuid bits must not count, and no host path walk may follow a symlink it planted
      // (nodev, nosuid, nosymfollow; the roots and volumes mounted inside get the same flags).
      await this.host.run('mount', ['--bind', this.shared(spec.id), this.shared(spec.id)]);
      await this.host.run('mount', ['-o', `remount,bind,${INERT}`, this.shared(spec.id)]);
      const netns = (await this.#pins.create(spec.id)).network;
      await createPodTap(this.host, netns);
      const assets = await this.assets();
      const size = guestSize(spec.resources);
      const template = this.templates ? await this.templates.get(size) : undefined;
      const rec: VmRecord = {
        generation: randomBytes(8).toString('hex'),
        ...size,
        mac: randomMac(),
        accel: assets.accel.accel,
        accelReason: assets.accel.reason,
        ...(template ? { template: template.key } : {}),
      };
      // Written first: a VM that runs always has its record, also when the agent stops right after the launch.
      await fs.writeFile(path.join(dir, 'vm.json'), JSON.stringify(rec));
      const launch: LaunchSpec = {
        accel: assets.accel.accel,
        memoryMiB: rec.memoryMiB,
        cpus: rec.cpus,
        kernel: assets.kernel.vmlinux,
        initrd: assets.initrd,
        cmdline: assets.cmdline,
        share: { kind: '9p', tag: GUEST_SHARE.tag, path: this.shared(spec.id) },
        net: { tap: POD_TAP, mac: rec.mac },
        netns,
      };
      const vmDir = path.join(dir, 'vm');
      let vm: MicrovmProcesses | undefined;
      if (template) {
        vm = await launchMicrovm(
          this.host,
          vmDir,
          { ...launch, net: { tap: POD_TAP, mac: TEMPLATE_MAC }, memoryFile: { path: template.memoryFile, shared: false }, resumeFrom: template.stateFile },
          { signal },
        ).catch(async (err: unknown) => {
          signal?.throwIfAborted();
          log.warn(`pod ${spec.namespace}/${spec.name}: resuming from template ${template.key} failed, booting instead: ${messageOf(err)}`);
          await this.templates?.discard(template);
          await fs.writeFile(path.join(dir, 'vm.json'), JSON.stringify({ ...rec, template: undefined }));
          return undefined;
        });
      }
      vm ??= await launchMicrovm(this.host, vmDir, launch, { signal });
      // QEMU is held to the pod's limits with its overhead (its vCPUs' time, the guest's RAM and its own).
      await placeInCgroup(vmCgroup(spec.id), vm.qemuPid, { cpus: spec.limits?.cpus, memoryBytes: qemuMemoryCap(spec.limits?.memoryBytes, rec) });
      log.info(`pod ${spec.namespace}/${spec.name}: micro-VM ${template ? 'resumed from a template' : 'booting'} (${rec.memoryMiB} MiB, ${rec.cpus} vCPU, ${assets.accel.accel})`);
    } catch (err) {
      await this.remove(spec.id).catch(() => {});
      throw err;
    }
  }

  /** The connection to the sandbox's guest agent (made once, again after it dropped). */
  client(id: string): Promise<GuestClient> {
    let c = this.#clients.get(id);
    if (!c) {
      c = this.#open(id);
      this.#clients.set(id, c);
      c.catch(() => this.#clients.delete(id));
    }
    return c;
  }

  async #open(id: string): Promise<GuestClient> {
    const socket = path.join(this.dir(id), 'vm', 'agent.sock');
    const client = await openWithRetries(socket);
    try {
      // The agent mounts the share when asked (again after a reconnect: it is mounted already then).
      await client.mountShare(GUEST_SHARE.tag, GUEST_SHARE.mountPoint);
    } catch (err) {
      client.close();
      throw err;
    }
    const forget = () => {
      if (this.#clients.get(id) === current) this.#clients.delete(id);
    };
    const current = Promise.resolve(client);
    client.on('disconnect', forget);
    client.on('dead', () => {
      log.warn(`sandbox ${id}: the guest stopped answering; its VM is killed`);
      forget();
      client.close();
      void killMicrovm(path.join(this.dir(id), 'vm')).catch((err: unknown) => log.warn(`sandbox ${id}: ${(err as Error).message}`));
    });
    this.#clients.set(id, current);
    return client;
  }

  /**
   * Once per sandbox: the guest's NIC takes the pod interface's address (the interface takes the guest's
   * MAC, so ARP answers match), frames are redirected between them, and the guest gets its hostname.
   */
  async ensureNetwork(id: string, hostname: string): Promise<void> {
    const file = path.join(this.dir(id), 'network.json');
    if (await readJson(file)) return;
    const netns = this.netns(id);
    const rec = await this.record(id);
    if (!rec) throw internal(`sandbox ${id} has no VM record`);
    const nic = await readPodNic(this.host, netns);
    if (nic) {
      await this.host.run('nsenter', [`--net=${netns}`, 'ip', 'link', 'set', 'eth0', 'address', rec.mac]);
      await redirectPodNic(this.host, netns);
    }
    const client = await this.client(id);
    await client.network({ hostname, ...(nic ? { mac: rec.mac } : {}), ...(nic?.address ? { address: nic.address, prefixLength: nic.prefixLength, gateway: nic.gateway, mtu: nic.mtu } : {}) });
    await fs.writeFile(file, JSON.stringify({ ...nic, hostname }));
  }

  /** Shuts the guest down (briefly), stops QEMU, unpins the namespace and removes the directory; safe to repeat. */
  async remove(id: string): Promise<void> {
    checkSandboxId(id);
    const vmDir = path.join(this.dir(id), 'vm');
    const pending = this.#clients.get(id);
    this.#clients.delete(id);
    if ((await microvmState(vmDir)) === 'running') {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<undefined>((r) => {
        timer = setTimeout(() => r(undefined), 100);
      });
      const client = await Promise.race([pending, late]).catch(() => undefined);
      clearTimeout(timer);
      await client?.shutdown(2000).catch(() => {});
      client?.close();
      await stopMicrovm(vmDir, { timeoutMs: 5000 });
    } else {
      (await pending?.catch(() => undefined))?.close();
    }
    // Up to /nubis: the last sandbox or container of the node takes the common parents with it.
    if (!(await removeCgroupWhenEmpty(vmCgroup(id), CGROUP_PARENT))) log.warn(`sandbox ${id}: its cgroup ${vmCgroup(id)} still has processes`);
    await unmountUnder(this.host, this.shared(id));
    await this.#pins.remove(id);
    await fs.rm(this.dir(id), { recursive: true, force: true });
  }
}

/** How long one hello may take, and how many are tried (a booting guest answers once its agent runs: seconds under TCG). */
const HELLO_TIMEOUT_MS = 10_000;
const HELLO_ATTEMPTS = 6;

/**
 * Connects to a guest's agent and says hello, on a new connection after each unanswered hello: seen
 * rarely, a guest resumed from a template did not hear of the host's first connection, and the next
 * connection's open event reached it.
 */
async function openWithRetries(socket: string): Promise<GuestClient> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await GuestClient.open({ connect: connectUnix(socket), requestTimeoutMs: 60_000, helloTimeoutMs: HELLO_TIMEOUT_MS, heartbeatIntervalMs: 3000, heartbeatMisses: 10 });
    } catch (err) {
      if (!isNubisError(err, 'Timeout') || attempt >= HELLO_ATTEMPTS) throw err;
      log.warn(`${socket}: no hello in ${HELLO_TIMEOUT_MS} ms (attempt ${attempt}); connecting again`);
    }
  }
}

async function readJson<T>(file: string): Promise<T | undefined> {
  const text = await fs.readFile(file, 'utf8').catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as T);
}

/** Unmounts (lazily, deepest first) every mount at or below `dir`. */
export async function unmountUnder(host: Host, dir: string): Promise<void> {
  const info = await fs.readFile('/proc/self/mountinfo', 'utf8');
  const points = info
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => p !== undefined && (p === dir || p.startsWith(`${dir}/`)))
    .sort((a, b) => b.length - a.length);
  for (const p of points) await host.run('umount', ['--lazy', p], { allowFailure: true });
}
