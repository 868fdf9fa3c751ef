/**
 * VM templates with real QEMU: a template is made once per size and reused; clones resume from it in
 * their own namespaces, each with its own identity and randomness (the agent's boot id is drawn after the
 * host's entropy reseeded the guest's generator), the template's memory file is never written by them,
 * and a state that does not load fails the launch with nothing left running.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RealHost } from '../../../src/host/real-host.js';
import { guestAssets, type GuestAssets } from '../../../src/runtime/microvm/guest-assets.js';
import { connectUnix, GuestClient } from '../../../src/runtime/microvm/guest-client.js';
import { killMicrovm, launchMicrovm, microvmPaths, microvmState, type LaunchSpec } from '../../../src/runtime/microvm/microvm-process.js';
import { POD_TAP } from '../../../src/runtime/microvm/pod-nic.js';
import { TEMPLATE_MAC, templatesEnabled, VmTemplates, type VmTemplate } from '../../../src/runtime/microvm/vm-templates.js';
import { requireMicrovmHost } from './microvm-host.js';

const SIZE = { memoryMiB: 128, cpus: 1 };

async function sha256(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

describe('micro-VM templates', { timeout: 300_000 }, () => {
  const host = new RealHost();
  let dir: string;
  let assets: GuestAssets;
  let templates: VmTemplates;
  let template: VmTemplate;
  const vms: string[] = [];

  before(async () => {
    requireMicrovmHost();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'nubis-templates-'));
    // The machine's cache holds the kernel and initramfs; templates go to a cache of this test's own.
    const shared = await guestAssets(host, process.env.NUBIS_MICROVM_CACHE ?? '/var/cache/nubis/microvm');
    assets = { ...shared, cacheDir: path.join(dir, 'cache') };
    templates = new VmTemplates(host, async () => assets);
  });

  after(async () => {
    for (const vm of vms) await killMicrovm(vm).catch(() => {});
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  function cloneSpec(t: VmTemplate, share: string, stateFile = t.stateFile): LaunchSpec {
    return {
      accel: assets.accel.accel,
      ...SIZE,
      kernel: assets.kernel.vmlinux,
      initrd: assets.initrd,
      cmdline: assets.cmdline,
      share: { kind: '9p', tag: 'nubis', path: share },
      net: { tap: POD_TAP, mac: TEMPLATE_MAC },
      netns: 'own',
      memoryFile: { path: t.memoryFile, shared: false },
      resumeFrom: stateFile,
    };
  }

  async function clone(name: string, stateFile?: string): Promise<string> {
    const vm = path.join(dir, name);
    vms.push(vm);
    await fs.mkdir(path.join(dir, `${name}-share`), { recursive: true });
    await launchMicrovm(host, vm, cloneSpec(template, path.join(dir, `${name}-share`), stateFile));
    return vm;
  }

  it('is made once per size and guest assets, and then reused', async () => {
    const t = await templates.get(SIZE);
    assert.ok(t, 'a template was made');
    template = t;
    const meta = JSON.parse(await fs.readFile(path.join(t.dir, 'meta.json'), 'utf8')) as { size: typeof SIZE; createdAt: string; bootMs: number };
    assert.deepEqual(meta.size, SIZE);
    assert.ok((await fs.stat(t.stateFile)).size < 1024 * 1024, 'the state leaves the RAM out');
    assert.equal((await fs.stat(t.memoryFile)).size, SIZE.memoryMiB * 1024 * 1024);
    const again = await templates.get(SIZE);
    assert.equal(again?.dir, t.dir);
    const meta2 = JSON.parse(await fs.readFile(path.join(t.dir, 'meta.json'), 'utf8')) as { createdAt: string };
    assert.equal(meta2.createdAt, meta.createdAt, 'not made again');
    assert.deepEqual((await fs.readdir(path.dirname(t.dir))).filter((n) => n.startsWith('.build-')), [], 'no build directory left');
    const other = await templates.get({ memoryMiB: 160, cpus: 1 });
    assert.notEqual(other?.key, t.key, 'another size, another template');
  });

  it('clones resume with their own identity, mount their share, and never write the template', async () => {
    const before = await sha256(template.memoryFile);
    const ids: string[] = [];
    for (const name of ['a', 'b']) {
      const vm = await clone(name);
      await fs.writeFile(path.join(dir, `${name}-share`, 'hello'), name);
      const client = await GuestClient.open({ connect: connectUnix(microvmPaths(vm).agentSocket), requestTimeoutMs: 30_000, heartbeatIntervalMs: 0 });
      try {
        await client.mountShare('nubis', '/run/nubis');
        await client.mountShare('nubis', '/run/nubis'); // again: nothing to do
        ids.push(client.hello!.bootId);
        assert.ok(Math.abs(client.hello!.timeMs - Date.now()) < 5000, "the guest's clock was set from the host's");
        await client.network({ mac: '02:aa:bb:cc:dd:0' + ids.length, hostname: name });
      } finally {
        client.close();
      }
    }
    assert.notEqual(ids[0], ids[1], 'each clone drew its own boot id from its reseeded generator');
    for (const vm of vms) await killMicrovm(vm);
    assert.equal(await sha256(template.memoryFile), before, 'the clones wrote their own copies of the pages only');
  });

  it('a state that does not load fails the launch and leaves no QEMU running', async () => {
    const bad = path.join(dir, 'bad-state');
    await fs.writeFile(bad, 'not a migration stream');
    await assert.rejects(clone('c', bad), /did not resume from/);
    assert.equal(await microvmState(path.join(dir, 'c')), 'stopped');
  });

  it('can be turned off', () => {
    assert.equal(templatesEnabled({}), true);
    assert.equal(templatesEnabled({ NUBIS_MICROVM_TEMPLATES: 'off' }), false);
  });
});
