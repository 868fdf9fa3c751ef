/**
 * Pulls an image from an OCI distribution registry into the image store: resolves an index or manifest
 * list to linux/amd64, fetches config and layers (several at once, each resumable from an earlier
 * interrupted pull), optionally unpacks layers as soon as they arrive, and then sets the ref.
 */
import { setMaxListeners } from 'node:events';
import { invalid } from '../lib/errors.js';
import type { ImageStore } from './image-store.js';
import { parseManifest, selectPlatform } from './manifest.js';
import { silentProgress, type PullProgress } from './pull-progress.js';
import { formatReference, parseReference } from './reference.js';
import { RegistryClient, type Credentials } from './registry-client.js';
import { BlobProgress, followingBlobs } from './blob-follower.js';
import type { BlobSource, ImageConfig, ImageRecord } from './types.js';

export interface PullOptions {
  insecureRegistries?: string[];
  credentials?: Credentials;
  signal?: AbortSignal;
  /** Layers fetched at once (default 4). */
  concurrency?: number;
  progress?: PullProgress;
  /**
   * Unpacks the image; it runs while layers are still arriving, and each blob it opens becomes
   * readable as soon as that blob is stored.
   */
  unpack?: (image: ImageRecord, blobs: BlobSource, signal?: AbortSignal) => Promise<unknown>;
}

export interface PullResult {
  /** The stored ref name, e.g. 127.0.0.1:5000/app:v1. */
  name: string;
  image: ImageRecord;
  /** Digest of the index or manifest list the image was chosen from, if any. */
  indexDigest?: string;
  /** Bytes fetched from the registry for blobs (not counting those already stored). */
  fetchedBytes: number;
}

/** Runs `fn` over `items`, at most `limit` at once; stops starting new ones after a failure. */
async function forEachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const errors: unknown[] = [];
  const worker = async () => {
    while (!failed && next < items.length) {
      const item = items[next++] as T;
      try {
        await fn(item);
      } catch (err) {
        failed = true;
        errors.push(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (errors.length) throw errors[0];
}

export async function pullImage(store: ImageStore, input: string, opts: PullOptions = {}): Promise<PullResult> {
  const ref = parseReference(input);
  const name = formatReference(ref);
  const progress = opts.progress ?? silentProgress;
  const abort = new AbortController();
  // every layer's request, ingest and unpack listens to it
  setMaxListeners(100, abort.signal);
  const onAbort = () => abort.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const client = new RegistryClient(ref.registry, {
    insecureRegistries: opts.insecureRegistries,
    credentials: opts.credentials,
    signal: abort.signal,
  });
  try {
    return await store.withLease(async () => {
      const top = await client.manifest(ref.repository, ref.digest ?? (ref.tag as string));
      let parsed = parseManifest(top.data, top.contentType);
      await store.content.putBlob(top.data, top.digest);
      let manifestDigest = top.digest;
      let indexDigest: string | undefined;
      if (parsed.kind === 'index') {
        indexDigest = top.digest;
        const chosen = selectPlatform(parsed.index, name);
        const m = await client.manifest(ref.repository, chosen.digest);
        parsed = parseManifest(m.data, m.contentType || chosen.mediaType);
        if (parsed.kind !== 'manifest') throw invalid(`${name}: the linux/amd64 entry of the index is not an image manifest`);
        await store.content.putBlob(m.data, m.digest);
        manifestDigest = m.digest;
      }
      const manifest = parsed.manifest;
      let fetchedBytes = 0;
      const blobs = new Map<string, BlobProgress>();
      const fetchBlob = async (digest: string, size: number, label: string) => {
        progress.add(digest, size, label);
        const follow = blobs.get(digest);
        try {
          const existed = await store.content.touch(digest);
          if (!existed) {
            fetchedBytes += await store.content.ingest(digest, (offset) => client.blob(ref.repository, digest, offset), {
              size,
              signal: abort.signal,
              onProgress: (b) => progress.update(digest, b),
              onWriting: (file) => follow?.writing(file),
              onWritten: (bytes) => follow?.wrote(bytes),
            });
          }
          progress.done(digest, existed ? 'exists' : 'done');
          follow?.finish();
        } catch (err) {
          follow?.finish(err);
          throw err;
        }
      };

      await fetchBlob(manifest.config.digest, manifest.config.size, 'config');
      const config = await store.content.readJsonBlob<ImageConfig>(manifest.config.digest);
      if (config.os && config.os !== 'linux') throw invalid(`${name} is an image for ${config.os}, not linux`);
      const image = await store.record(name, manifestDigest);

      const layers = [...new Map(manifest.layers.map((l) => [l.digest, l])).values()];
      if (opts.unpack) for (const l of layers) blobs.set(l.digest, new BlobProgress());
      const unpacking = opts.unpack?.(image, followingBlobs(store.content, (d) => blobs.get(d)), abort.signal);
      unpacking?.catch(() => abort.abort());
      try {
        await forEachLimited(layers, opts.concurrency ?? 4, (l) => fetchBlob(l.digest, l.size, 'layer'));
      } catch (err) {
        abort.abort();
        for (const b of blobs.values()) if (!b.finished) b.finish(err);
        await unpacking?.catch(() => undefined);
        throw err;
      }
      await unpacking;
      await store.locked(() => store.setRef(name, manifestDigest, indexDigest));
      return { name, image, ...(indexDigest ? { indexDigest } : {}), fetchedBytes };
    });
  } finally {
    client.close();
    opts.signal?.removeEventListener('abort', onAbort);
    progress.close();
  }
}
