/**
 * Test fixtures for unpacking: layers built in memory (tar-stream's pack), and a BlobSource and image
 * record around them. Used by unit and integration tests only.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { pack, type Header } from 'tar-stream';
import { notFound } from '../lib/errors.js';
import { chainIds } from './chain-id.js';
import type { BlobSource, ImageRecord, LayerRef } from './types.js';

/** One tar entry to build: a tar-stream header plus an optional body. */
export type FixtureEntry = Partial<Header> & { name: string; body?: string | Buffer };

export const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A tar archive of `entries`, in order; directories default to 0755, files to 0644. */
export async function tarOf(entries: FixtureEntry[]): Promise<Buffer> {
  const p = pack();
  const out: Buffer[] = [];
  p.on('data', (b: unknown) => {
    out.push(b as Buffer);
  });
  const done = new Promise<void>((resolve, reject) => {
    p.on('end', resolve);
    p.on('error', reject);
  });
  for (const { body, ...h } of entries) {
    const type = h.type ?? 'file';
    const header = { mode: type === 'directory' ? 0o755 : 0o644, mtime: new Date(1_600_000_000_000), ...h, type };
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (body === undefined && type !== 'file') p.entry(header, cb);
      else p.entry(header, body ?? '', cb);
    });
  }
  p.finalize();
  await done;
  return Buffer.concat(out);
}

/** Blobs kept in memory, verified like the content store's. */
export class MemoryBlobs implements BlobSource {
  readonly blobs = new Map<string, Buffer>();
  opened: string[] = [];

  /** Stores a layer (gzipped unless `gzip` is false) and returns its LayerRef. */
  add(tar: Buffer, opts: { gzip?: boolean; diffID?: string } = {}): LayerRef {
    const blob = opts.gzip === false ? tar : gzipSync(tar);
    const digest = sha256(blob);
    this.blobs.set(digest, blob);
    const mediaType = `application/vnd.oci.image.layer.v1.tar${opts.gzip === false ? '' : '+gzip'}`;
    return { digest, mediaType, size: blob.length, diffID: opts.diffID ?? sha256(tar) };
  }

  openBlob(digest: string): Readable {
    this.opened.push(digest);
    const b = this.blobs.get(digest);
    if (!b) throw notFound(`blob ${digest} not found`);
    const chunks: Buffer[] = [];
    for (let i = 0; i < b.length; i += 7_000) chunks.push(b.subarray(i, i + 7_000));
    return Readable.from(chunks);
  }
}

/** An image record around `layers`. */
export function imageOf(layers: LayerRef[], name = 'test/image:latest'): ImageRecord {
  const diffIDs = layers.map((l) => l.diffID);
  return {
    name,
    digest: sha256(Buffer.from(chainIds(diffIDs).join(','))),
    configDigest: sha256(Buffer.from(name)),
    config: { rootfs: { type: 'layers', diff_ids: diffIDs } },
    layers,
    size: layers.reduce((n, l) => n + l.size, 0),
  };
}
