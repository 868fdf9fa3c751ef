/**
 * The built-in `busybox` image, made offline from the host's statically linked busybox (Debian's
 * busybox-static, /bin/busybox): one uncompressed layer holding /bin/busybox, every applet from
 * `busybox --list-full` as a symlink to it, /etc/passwd and /etc/group (root, nobody), /root, and /tmp
 * (1777). Every byte is deterministic (fixed times, owners, order), so the same binary always yields the
 * same digests.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import tar from 'tar-stream';
import { errno, unavailable } from '../lib/errors.js';
import type { Host } from '../host/host.js';
import type { ContentStore } from './content-store.js';
import { MediaType, type Manifest } from './manifest.js';
import type { ImageConfig } from './types.js';

export const DEFAULT_BUSYBOX = '/bin/busybox';
/** The fixed time stamped on every entry and on the config. */
export const BUILTIN_TIME = new Date('2024-01-01T00:00:00Z');

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n';
const GROUP = 'root:x:0:\nnobody:x:65534:\n';
const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** True if an ELF binary asks for a program interpreter (i.e. is dynamically linked). */
export function isDynamicElf(bin: Buffer): boolean {
  if (bin.length < 64 || bin.readUInt32BE(0) !== 0x7f454c46 || bin[4] !== 2 || bin[5] !== 1) return false;
  const phoff = Number(bin.readBigUInt64LE(0x20));
  const phentsize = bin.readUInt16LE(0x36);
  const phnum = bin.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    const off = phoff + i * phentsize;
    if (off + 4 > bin.length) break;
    if (bin.readUInt32LE(off) === 3) return true;
  }
  return false;
}

/** The tar entries of the layer, in order. */
export function busyboxEntries(applets: string[]): { header: Partial<tar.Header> & { name: string }; body?: 'busybox' | string }[] {
  const base = { uid: 0, gid: 0, uname: 'root', gname: 'root', mtime: BUILTIN_TIME };
  const links = [...new Set(applets.map((a) => a.replace(/^\/+/, '')).filter((a) => a && a !== 'bin/busybox' && !a.includes('..')))].sort();
  const dirs = new Set(['bin', 'dev', 'etc', 'proc', 'root', 'sbin', 'sys', 'tmp', 'usr', 'usr/bin', 'usr/sbin', 'var']);
  for (const l of links) for (let d = path.posix.dirname(l); d !== '.'; d = path.posix.dirname(d)) dirs.add(d);
  const mode = (d: string) => (d === 'tmp' ? 0o1777 : d === 'root' ? 0o700 : 0o755);
  const out: { header: Partial<tar.Header> & { name: string }; body?: string }[] = [...dirs]
    .sort()
    .map((d) => ({ header: { ...base, name: `${d}/`, type: 'directory' as const, mode: mode(d) } }));
  out.push({ header: { ...base, name: 'bin/busybox', type: 'file', mode: 0o755 }, body: 'busybox' });
  out.push({ header: { ...base, name: 'etc/group', type: 'file', mode: 0o644 }, body: GROUP });
  out.push({ header: { ...base, name: 'etc/passwd', type: 'file', mode: 0o644 }, body: PASSWD });
  for (const l of links) out.push({ header: { ...base, name: l, type: 'symlink', linkname: '/bin/busybox', mode: 0o777 } });
  return out;
}

function packLayer(bin: Buffer, applets: string[]): AsyncIterable<Buffer> {
  const pack = tar.pack();
  void (async () => {
    try {
      for (const e of busyboxEntries(applets)) {
        const body = e.body === 'busybox' ? bin : e.body !== undefined ? Buffer.from(e.body) : undefined;
        await new Promise<void>((resolve, reject) => {
          const cb = (err?: Error | null) => (err ? reject(err) : resolve());
          if (body) pack.entry({ ...e.header, size: body.length }, body, cb);
          else pack.entry(e.header, cb);
        });
      }
      pack.finalize();
    } catch (err) {
      pack.destroy(err as Error);
    }
  })();
  return pack as unknown as AsyncIterable<Buffer>;
}

/**
 * Builds the image into `content` and returns its manifest digest. Fails with Unavailable when the host
 * has no static busybox.
 */
export async function buildBuiltinBusybox(content: ContentStore, host: Host, busybox = DEFAULT_BUSYBOX): Promise<string> {
  let bin: Buffer;
  try {
    bin = await fs.readFile(busybox);
  } catch (err) {
    if (errno(err) === 'ENOENT') {
      throw unavailable(`the built-in busybox image needs ${busybox}: install Debian's busybox-static`, err);
    }
    throw err;
  }
  if (isDynamicElf(bin)) {
    throw unavailable(`${busybox} is dynamically linked: the built-in busybox image needs Debian's busybox-static`);
  }
  const list = await host.run(busybox, ['--list-full'], { timeoutMs: 10_000 });
  const applets = list.stdout.split('\n').map((s) => s.trim()).filter(Boolean);
  const version = (await host.run(busybox, ['--help'], { allowFailure: true, timeoutMs: 10_000 })).stdout.split('\n')[0] ?? '';

  const layer = await content.putStream(packLayer(bin, applets));
  const config: ImageConfig = {
    architecture: 'amd64',
    os: 'linux',
    created: BUILTIN_TIME.toISOString(),
    config: { Env: [PATH_ENV], Cmd: ['sh'] },
    rootfs: { type: 'layers', diff_ids: [layer.digest] },
    history: [
      {
        created: BUILTIN_TIME.toISOString(),
        created_by: `nubis built-in: ${busybox} with ${applets.length} applets`,
        comment: version.trim(),
      },
    ],
  };
  const configData = Buffer.from(JSON.stringify(config));
  const configDigest = await content.putBlob(configData);
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: configDigest, size: configData.length },
    layers: [{ mediaType: MediaType.ociLayer, digest: layer.digest, size: layer.size }],
    annotations: { 'org.opencontainers.image.ref.name': 'latest', 'dev.nubis.builtin': 'busybox' },
  };
  return content.putBlob(JSON.stringify(manifest));
}
