/**
 * Builds test images in memory: layer tars, configs, OCI or Docker v2.2 manifests (gzip or plain layers)
 * and indexes, and pushes them to a registry with the distribution API's monolithic uploads.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';

export const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export interface BuiltImage {
  /** Every blob (config and layers) by digest. */
  blobs: Map<string, Buffer>;
  manifest: Buffer;
  manifestDigest: string;
  mediaType: string;
  configDigest: string;
  diffIDs: string[];
  layerDigests: string[];
}

/** An uncompressed layer tar of `files` (path -> content), deterministic. */
export async function makeLayer(files: Record<string, string | Buffer>): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack as unknown as AsyncIterable<Buffer>) chunks.push(c);
  })();
  for (const [name, body] of Object.entries(files).sort(([a], [b]) => a.localeCompare(b))) {
    const buf = Buffer.isBuffer(body) ? body : Buffer.from(body);
    await new Promise<void>((res, rej) =>
      pack.entry({ name, size: buf.length, mode: 0o644, mtime: new Date(0), uid: 0, gid: 0 }, buf, (e) => (e ? rej(e) : res())),
    );
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

const MT = {
  oci: {
    manifest: 'application/vnd.oci.image.manifest.v1+json',
    config: 'application/vnd.oci.image.config.v1+json',
    layer: 'application/vnd.oci.image.layer.v1.tar',
    layerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
    index: 'application/vnd.oci.image.index.v1+json',
  },
  docker: {
    manifest: 'application/vnd.docker.distribution.manifest.v2+json',
    config: 'application/vnd.docker.container.image.v1+json',
    layer: 'application/vnd.docker.image.rootfs.diff.tar',
    layerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
    index: 'application/vnd.docker.distribution.manifest.list.v2+json',
  },
};

/** An image of the given uncompressed layers. */
export function makeImage(
  layers: Buffer[],
  o: { format?: 'oci' | 'docker'; gzip?: boolean; arch?: string; cmd?: string[]; created?: string } = {},
): BuiltImage {
  const mt = MT[o.format ?? 'oci'];
  const blobs = new Map<string, Buffer>();
  const diffIDs = layers.map((l) => sha(l));
  const stored = layers.map((l) => (o.gzip ? gzipSync(l, { level: 1 }) : l));
  for (const s of stored) blobs.set(sha(s), s);
  const config = Buffer.from(
    JSON.stringify({
      architecture: o.arch ?? 'amd64',
      os: 'linux',
      created: o.created ?? '2024-05-01T00:00:00Z',
      config: { Cmd: o.cmd ?? ['sh'], Env: ['PATH=/bin'] },
      rootfs: { type: 'layers', diff_ids: diffIDs },
    }),
  );
  const configDigest = sha(config);
  blobs.set(configDigest, config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: mt.manifest,
      config: { mediaType: mt.config, digest: configDigest, size: config.length },
      layers: stored.map((s) => ({ mediaType: o.gzip ? mt.layerGzip : mt.layer, digest: sha(s), size: s.length })),
    }),
  );
  return {
    blobs,
    manifest,
    manifestDigest: sha(manifest),
    mediaType: mt.manifest,
    configDigest,
    diffIDs,
    layerDigests: stored.map((s) => sha(s)),
  };
}

/** An index (or Docker manifest list) over images for several platforms. */
export function makeIndex(entries: { image: BuiltImage; os: string; arch: string; variant?: string }[], format: 'oci' | 'docker' = 'oci') {
  const data = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MT[format].index,
      manifests: entries.map((e) => ({
        mediaType: e.image.mediaType,
        digest: e.image.manifestDigest,
        size: e.image.manifest.length,
        platform: { os: e.os, architecture: e.arch, ...(e.variant ? { variant: e.variant } : {}) },
      })),
    }),
  );
  return { data, digest: sha(data), mediaType: MT[format].index };
}

async function expectStatus(res: Response, want: number[], what: string): Promise<void> {
  if (!want.includes(res.status)) throw new Error(`${what}: registry answered ${res.status}: ${await res.text()}`);
}

/** Pushes a blob (skipping one the registry has). */
export async function pushBlob(base: string, repo: string, data: Buffer, headers: Record<string, string> = {}): Promise<void> {
  const digest = sha(data);
  const head = await fetch(`${base}/v2/${repo}/blobs/${digest}`, { method: 'HEAD', headers });
  if (head.status === 200) return;
  const start = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers });
  await expectStatus(start, [202], `start upload of ${digest}`);
  const loc = new URL(start.headers.get('location') ?? '', base);
  loc.searchParams.set('digest', digest);
  const put = await fetch(loc, {
    method: 'PUT',
    headers: { ...headers, 'content-type': 'application/octet-stream', 'content-length': String(data.length) },
    body: new Uint8Array(data),
  });
  await expectStatus(put, [201], `upload ${digest}`);
}

export async function pushManifest(base: string, repo: string, ref: string, data: Buffer, mediaType: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}/v2/${repo}/manifests/${ref}`, {
    method: 'PUT',
    headers: { ...headers, 'content-type': mediaType },
    body: new Uint8Array(data),
  });
  await expectStatus(res, [201], `push manifest ${repo}:${ref}`);
}

/** Pushes all blobs and the manifest of `image` as repo:tag. */
export async function pushImage(base: string, repo: string, tag: string, image: BuiltImage): Promise<void> {
  for (const b of image.blobs.values()) await pushBlob(base, repo, b);
  await pushManifest(base, repo, tag, image.manifest, image.mediaType);
}
