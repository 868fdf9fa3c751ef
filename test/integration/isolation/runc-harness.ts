/**
 * Runs real containers with raw runc (no conmon, no image store) on a rootfs made of the host's static
 * busybox, with config.json from buildSpec. Every harness has its own temp dir, runc root and cgroup
 * prefix; cleanup() deletes its containers and cgroups and reports anything it could not remove.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { listCgroups, removeCgroupTree } from '../../../src/host/cgroups.js';
import { readHostRlimits } from '../../../src/host/rlimits.js';
import { buildSpec, type ContainerOptions, type OciSpec } from '../../../src/runtime/oci/spec.js';

const execFileP = promisify(execFile);
const BUSYBOX = '/bin/busybox';
const RUN_TIMEOUT_MS = 60_000;

export interface RunOutcome {
  code: number;
  stdout: string;
  stderr: string;
}

async function requireTool(file: string, pkg: string): Promise<void> {
  try {
    await fs.access(file, fs.constants.X_OK);
  } catch {
    assert.fail(`${file} is missing: install the Debian package ${pkg}`);
  }
}

export class RuncHarness {
  /** Unique cgroup parent of this harness's containers, e.g. /nubis-test-1a2b3c4d. */
  readonly prefix = `/nubis-test-${randomBytes(4).toString('hex')}`;
  private readonly ids = new Set<string>();

  private constructor(
    readonly dir: string,
    readonly rootfs: string,
  ) {}

  /** A temp dir with a busybox rootfs (uid 0 owned, or owned by `owner` for user namespaces). */
  static async create(owner?: number): Promise<RuncHarness> {
    assert.equal(process.getuid?.(), 0, 'the isolation tests need root (they run real containers with runc)');
    await requireTool(BUSYBOX, 'busybox-static');
    const runc = await execFileP('sh', ['-c', 'command -v runc']).catch(() => undefined);
    assert.ok(runc?.stdout.trim(), 'runc is missing: install the Debian package runc');
    const dir = await fs.mkdtemp(path.join(tmpdir(), 'nubis-isolation-'));
    await fs.chmod(dir, 0o755); // a user-namespaced root (host uid 100000) must reach the rootfs
    const rootfs = path.join(dir, 'rootfs');
    for (const d of ['bin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'mnt', 'root']) await fs.mkdir(path.join(rootfs, d), { recursive: true });
    await fs.copyFile(BUSYBOX, path.join(rootfs, 'bin/busybox'));
    await fs.chmod(path.join(rootfs, 'bin/busybox'), 0o755);
    const { stdout } = await execFileP(BUSYBOX, ['--list']);
    for (const applet of stdout.split('\n').filter((a) => a && a !== 'busybox')) {
      await fs.symlink('busybox', path.join(rootfs, 'bin', applet));
    }
    await fs.writeFile(path.join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/tmp:/bin/sh\n');
    await fs.writeFile(path.join(rootfs, 'etc/group'), 'root:x:0:\napp:x:1000:\n');
    if (owner !== undefined) await execFileP('chown', ['-R', `${owner}:${owner}`, rootfs]);
    return new RuncHarness(dir, rootfs);
  }

  /** Writes a bundle for container `id` running `args`; `edit` may adjust the generated spec. */
  async bundle(id: string, args: string[], options: ContainerOptions = {}, edit?: (s: OciSpec) => void): Promise<string> {
    const spec = await buildSpec({
      id,
      rootfs: this.rootfs,
      image: { rootfs: { type: 'layers', diff_ids: [] }, config: { Cmd: args } },
      options,
      cgroupsPath: this.cgroupsPath(id),
      hostRlimits: readHostRlimits(),
    });
    edit?.(spec);
    const bundle = path.join(this.dir, `bundle-${id}`);
    await fs.mkdir(bundle, { recursive: true });
    await fs.writeFile(path.join(bundle, 'config.json'), JSON.stringify(spec, null, 2));
    return bundle;
  }

  cgroupsPath(id: string): string {
    return `${this.prefix}/${id}`;
  }

  private runcArgs(...args: string[]): string[] {
    return ['--root', path.join(this.dir, 'runc'), ...args];
  }

  /** Starts `runc run` in the foreground; `done` resolves when the container's init exits. */
  start(id: string, bundle: string): { child: ChildProcess; done: Promise<RunOutcome> } {
    this.ids.add(id);
    const child = spawn('runc', this.runcArgs('run', '-b', bundle, id), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    const done = new Promise<RunOutcome>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code: code ?? 128 + (signal === 'SIGKILL' ? 9 : 15), stdout, stderr });
      });
    });
    return { child, done };
  }

  /** Runs a container to completion. */
  async run(id: string, args: string[], options: ContainerOptions = {}, edit?: (s: OciSpec) => void): Promise<RunOutcome> {
    return this.start(id, await this.bundle(id, args, options, edit)).done;
  }

  /** The container's state as runc reports it, or undefined when runc does not know it. */
  async state(id: string): Promise<{ status: string; pid: number } | undefined> {
    try {
      const { stdout } = await execFileP('runc', this.runcArgs('state', id));
      return JSON.parse(stdout) as { status: string; pid: number };
    } catch {
      return undefined;
    }
  }

  /** Waits (bounded number of polls) until the container runs. */
  async waitRunning(id: string): Promise<void> {
    for (let i = 0; i < 300; i++) {
      if ((await this.state(id))?.status === 'running') return;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail(`container ${id} never reached running`);
  }

  async kill(id: string): Promise<void> {
    await execFileP('runc', this.runcArgs('kill', '--all', id, 'KILL')).catch(() => undefined);
  }

  /** `runc delete -f`; afterwards runc no longer knows the container and its cgroup is gone. */
  async delete(id: string): Promise<void> {
    await execFileP('runc', this.runcArgs('delete', '-f', id)).catch(() => undefined);
    assert.equal(await this.state(id), undefined, `runc still knows ${id}`);
    const left = (await listCgroups(this.prefix)).filter((c) => c.endsWith(`${this.prefix}/${id}`) || c.includes(`${this.prefix}/${id}/`));
    assert.deepEqual(left, [], `cgroups of ${id} left behind`);
    this.ids.delete(id);
  }

  /** Deletes every container, checks no cgroup below the prefix is left, then removes the prefix and temp dir. */
  async cleanup(): Promise<void> {
    for (const id of [...this.ids]) await this.delete(id);
    const children = (await listCgroups(this.prefix)).filter((c) => !c.endsWith(`:${this.prefix}`));
    await removeCgroupTree(this.prefix).catch(() => undefined);
    const left = await listCgroups(this.prefix);
    await fs.rm(this.dir, { recursive: true, force: true });
    assert.deepEqual(children, [], 'container cgroups left behind');
    assert.deepEqual(left, [], 'cgroup prefix left behind');
  }
}
