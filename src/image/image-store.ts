/**
 * Image references on top of the content store: one small JSON file per ref name under <root>/refs/,
 * written atomically, each naming a manifest digest (and the index it came from, if any). Resolving a ref
 * reads and verifies the manifest and config blobs and yields an ImageRecord. Garbage collection removes
 * every blob no ref reaches.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { errno, invalid, isNubisError, notFound } from '../lib/errors.js';
import { readJson, writeJsonAtomic } from '../lib/files.js';
import { withLock } from '../lib/lock.js';
import { ContentStore } from './content-store.js';
import { isManifestType, parseManifest, type Manifest } from './manifest.js';
import type { ImageConfig, ImageRecord, LayerRef } from './types.js';

/** What a ref file holds. */
export interface RefEntry {
  /** Stored ref name: docker.io/library/foo:latest, 127.0.0.1:5000/x@sha256:…, or busybox:latest. */
  name: string;
  /** Digest of the linux/amd64 manifest. */
  digest: string;
  /** Digest of the index or manifest list the manifest was chosen from, if any (kept from gc). */
  indexDigest?: string;
  /** When the ref was set (ISO 8601). */
  updated: string;
}

export interface GcResult {
  removedBlobs: string[];
  reclaimedBytes: number;
}

function refFileName(name: string): string {
  return `${encodeURIComponent(name)}.json`;
}

export class ImageStore {
  readonly content: ContentStore;
  readonly refsDir: string;
  private readonly lockFile: string;

  constructor(readonly root: string) {
    this.content = new ContentStore(root);
    this.refsDir = path.join(root, 'refs');
    this.lockFile = path.join(root, 'store.lock');
  }

  /** Runs `fn` holding the store-wide lock that ref changes and gc take. */
  async locked<T>(fn: () => Promise<T>): Promise<T> {
    await fs.mkdir(this.root, { recursive: true });
    return withLock(this.lockFile, fn, 120_000);
  }

  async getRef(name: string): Promise<RefEntry | undefined> {
    return readJson<RefEntry>(path.join(this.refsDir, refFileName(name)));
  }

  /** Points `name` at a manifest that must already be in the content store. */
  async setRef(name: string, digest: string, indexDigest?: string): Promise<RefEntry> {
    if (!(await this.content.has(digest))) throw notFound(`manifest ${digest} is not in the content store`);
    const entry: RefEntry = { name, digest, ...(indexDigest ? { indexDigest } : {}), updated: new Date().toISOString() };
    await fs.mkdir(this.refsDir, { recursive: true });
    await writeJsonAtomic(path.join(this.refsDir, refFileName(name)), entry);
    return entry;
  }

  /** Removes a ref; false if there was none. */
  async deleteRef(name: string): Promise<boolean> {
    try {
      await fs.unlink(path.join(this.refsDir, refFileName(name)));
      return true;
    } catch (err) {
      if (errno(err) === 'ENOENT') return false;
      throw err;
    }
  }

  async listRefs(): Promise<RefEntry[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.refsDir);
    } catch (err) {
      if (errno(err) === 'ENOENT') return [];
      throw err;
    }
    const out: RefEntry[] = [];
    for (const n of names.filter((x) => x.endsWith('.json') && !x.startsWith('.')).sort()) {
      const e = await readJson<RefEntry>(path.join(this.refsDir, n));
      if (e) out.push(e);
    }
    return out;
  }

  async readManifest(digest: string): Promise<{ mediaType: string; manifest: Manifest }> {
    const parsed = parseManifest(await this.content.readBlob(digest));
    if (parsed.kind !== 'manifest') throw invalid(`${digest} is an index, not an image manifest`);
    return parsed;
  }

  /** Builds the ImageRecord of a stored manifest (verifying manifest and config). */
  async record(name: string, digest: string): Promise<ImageRecord> {
    const { manifest } = await this.readManifest(digest);
    const config = await this.content.readJsonBlob<ImageConfig>(manifest.config.digest);
    const diffIDs = config.rootfs?.diff_ids;
    if (!Array.isArray(diffIDs) || diffIDs.length !== manifest.layers.length) {
      throw invalid(
        `image ${name}: config lists ${diffIDs?.length ?? 0} layer diff IDs but the manifest has ${manifest.layers.length} layers`,
      );
    }
    const layers: LayerRef[] = manifest.layers.map((l, i) => ({
      digest: l.digest,
      mediaType: l.mediaType,
      size: l.size,
      diffID: diffIDs[i] as string,
    }));
    return {
      name,
      digest,
      configDigest: manifest.config.digest,
      config,
      layers,
      size: layers.reduce((s, l) => s + l.size, 0),
    };
  }

  /**
   * Finds a stored image by ref name, manifest digest, or (a prefix of at least 4 hex digits of) the image
   * ID, i.e. the config digest. Undefined if none; Invalid if a prefix matches several images.
   */
  async find(nameOrId: string, normalized?: string): Promise<{ ref: RefEntry; image: ImageRecord } | undefined> {
    const byName = (normalized && (await this.getRef(normalized))) || (await this.getRef(nameOrId));
    if (byName) return { ref: byName, image: await this.record(byName.name, byName.digest) };
    const idPrefix = /^(?:sha256:)?([a-f0-9]{4,64})$/.exec(nameOrId)?.[1];
    if (!idPrefix) return undefined;
    const matches = new Map<string, { ref: RefEntry; image: ImageRecord }>();
    for (const ref of await this.listRefs()) {
      const image = await this.record(ref.name, ref.digest).catch((err) => {
        if (isNubisError(err)) return undefined;
        throw err;
      });
      if (!image) continue;
      const ids = [image.configDigest.slice(7), image.digest.slice(7)];
      if (ids.some((id) => id.startsWith(idPrefix)) && !matches.has(image.configDigest)) {
        matches.set(image.configDigest, { ref, image });
      }
    }
    if (matches.size > 1) throw invalid(`image ID prefix "${nameOrId}" is ambiguous: it matches ${matches.size} images`);
    return [...matches.values()][0];
  }

  /** All refs pointing at the image with this config digest (image ID). */
  async refsOfImage(configDigest: string): Promise<RefEntry[]> {
    const out: RefEntry[] = [];
    for (const ref of await this.listRefs()) {
      const m = await this.readManifest(ref.digest).catch(() => undefined);
      if (m?.manifest.config.digest === configDigest) out.push(ref);
    }
    return out;
  }

  /** Blobs reachable from a manifest or index digest (the digest itself included). */
  async reachable(digest: string, into = new Set<string>()): Promise<Set<string>> {
    into.add(digest);
    const data = await this.content.readBlob(digest).catch(() => undefined);
    if (!data) return into;
    const parsed = (() => {
      try {
        return parseManifest(data);
      } catch {
        return undefined;
      }
    })();
    if (parsed?.kind === 'manifest') {
      into.add(parsed.manifest.config.digest);
      for (const l of parsed.manifest.layers) into.add(l.digest);
    } else if (parsed?.kind === 'index') {
      for (const m of parsed.index.manifests) {
        if (isManifestType(m.mediaType) && (await this.content.has(m.digest))) await this.reachable(m.digest, into);
      }
    }
    return into;
  }

  /**
   * Runs `fn` (a pull or an import) under a lease: while a live lease exists, gc keeps every blob written
   * after the lease began, so blobs not yet reachable from a ref are not collected under the writer.
   */
  async withLease<T>(fn: () => Promise<T>): Promise<T> {
    const dir = path.join(this.root, 'leases');
    await fs.mkdir(dir, { recursive: true });
    const file = path.join(dir, `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`);
    await fs.writeFile(file, JSON.stringify({ pid: process.pid, started: Date.now() - 1000 }));
    try {
      return await fn();
    } finally {
      await fs.rm(file, { force: true });
    }
  }

  /** The start time of the oldest lease whose process lives (removing dead ones); undefined if none. */
  async activeLeaseStart(): Promise<number | undefined> {
    const dir = path.join(this.root, 'leases');
    let oldest: number | undefined;
    for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
      const lease = await readJson<{ pid: number; started: number }>(path.join(dir, name)).catch(() => undefined);
      if (!lease) continue;
      let alive = true;
      try {
        process.kill(lease.pid, 0);
      } catch (err) {
        alive = errno(err) === 'EPERM';
      }
      if (!alive) await fs.rm(path.join(dir, name), { force: true });
      else oldest = Math.min(oldest ?? Infinity, lease.started);
    }
    return oldest;
  }

  /**
   * Removes every blob no ref reaches and no digest in `keep` names (sparing blobs written under a live
   * lease), and stale ingest files. Call it holding locked().
   */
  async gc(keep: Iterable<string> = []): Promise<GcResult> {
    const live = new Set<string>(keep);
    const leaseStart = await this.activeLeaseStart();
    for (const ref of await this.listRefs()) {
      await this.reachable(ref.digest, live);
      if (ref.indexDigest) live.add(ref.indexDigest);
    }
    const result: GcResult = { removedBlobs: [], reclaimedBytes: 0 };
    for (const digest of await this.content.list()) {
      if (live.has(digest)) continue;
      if (leaseStart !== undefined) {
        const st = await fs.stat(this.content.blobPath(digest)).catch(() => undefined);
        if (!st || st.mtimeMs >= leaseStart) continue;
      }
      result.reclaimedBytes += await this.content.size(digest).catch(() => 0);
      await this.content.delete(digest);
      result.removedBlobs.push(digest);
    }
    if (leaseStart === undefined) await this.content.cleanIngest();
    return result;
  }
}
