import assert from 'node:assert/strict';
import { mkdtempSync, promises as fs, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import zlib from 'node:zlib';
import { FakeHost } from '../../host/fake-host.js';
import { compareReleases, findGuestKernel, parseBzImage } from './guest-kernel.js';

/** A minimal bzImage: boot header 2.15, one setup sector, a payload compressed with gzip plus the 4-byte size. */
function fakeBzImage(release: string, elf: Buffer): Buffer {
  const payload = Buffer.concat([zlib.gzipSync(elf), Buffer.alloc(4)]);
  payload.writeUInt32LE(elf.length, payload.length - 4);
  const setup = Buffer.alloc(1024);
  setup[0x1f1] = 1;
  setup.write('HdrS', 0x202, 'latin1');
  setup.writeUInt16LE(0x20f, 0x206);
  setup.writeUInt16LE(0x300 - 0x200, 0x20e);
  setup.write(`${release} (builder@example) #1 SMP\0`, 0x300, 'latin1');
  setup.writeUInt32LE(16, 0x248);
  setup.writeUInt32LE(payload.length, 0x24c);
  return Buffer.concat([setup, Buffer.alloc(16), payload]);
}

describe('guest kernel', () => {
  it('reads the release and the payload from the boot header', () => {
    const info = parseBzImage(fakeBzImage('6.1.0-9-amd64', Buffer.from('\x7fELF-body')));
    assert.equal(info.release, '6.1.0-9-amd64');
    assert.equal(info.format, 'gzip');
    assert.equal(info.payloadOffset, 1024 + 16);
    assert.throws(() => parseBzImage(Buffer.alloc(4096)), /HdrS/);
  });

  it('sorts releases by their numbers', () => {
    assert.deepEqual(['6.1.9-amd64', '6.1.10-amd64', '5.10.0-amd64'].sort(compareReleases), ['5.10.0-amd64', '6.1.9-amd64', '6.1.10-amd64']);
  });

  it('extracts the newest kernel once, caches it by release, size and mtime, and says what to install', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'nubis-guest-kernel-'));
    try {
      const boot = path.join(dir, 'boot');
      const cacheDir = path.join(dir, 'cache');
      const host = new FakeHost();
      await fs.mkdir(boot);
      await assert.rejects(findGuestKernel({ cacheDir, host, bootDir: boot }), /install Debian's linux-image-amd64/);
      for (const r of ['6.1.0-9-amd64', '6.1.0-10-amd64']) {
        await fs.writeFile(path.join(boot, `vmlinuz-${r}`), fakeBzImage(r, Buffer.from(`\x7fELF ${r}`)));
        await fs.mkdir(path.join(dir, 'modules', r), { recursive: true });
        await fs.writeFile(path.join(dir, 'modules', r, 'modules.dep'), '');
      }
      const k = await findGuestKernel({ cacheDir, host, bootDir: boot, modulesRoot: path.join(dir, 'modules') });
      assert.equal(k.version, '6.1.0-10-amd64');
      assert.equal(k.modulesDir, path.join(dir, 'modules', '6.1.0-10-amd64'));
      assert.equal(await fs.readFile(k.vmlinux, 'utf8'), '\x7fELF 6.1.0-10-amd64');
      const again = await findGuestKernel({ cacheDir, host, bootDir: boot, modulesRoot: path.join(dir, 'modules') });
      assert.equal(again.vmlinux, k.vmlinux);
      assert.deepEqual(await fs.readdir(cacheDir), [path.basename(k.vmlinux)]);
      await fs.writeFile(path.join(boot, 'vmlinuz-6.1.0-10-amd64'), fakeBzImage('6.1.0-10-amd64', Buffer.from('not an ELF')));
      await assert.rejects(findGuestKernel({ cacheDir, host, bootDir: boot, modulesRoot: path.join(dir, 'modules') }), /did not decompress to an ELF/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
