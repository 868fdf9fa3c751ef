/**
 * The image facade the runtime and the CLI use: resolve a reference to a stored image (making the
 * built-in busybox on demand), prepare its overlay lowerdirs, pull, import, export, list, remove, prune.
 * All state lives under <data>/images (content store and refs) and <data>/snapshots.
 */
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { conflict, isNubisError, notFound } from '../lib/errors.js';
import { logger } from '../lib/log.js';
import type { Host } from '../host/host.js';
import type { ArchiveFormat, ExportItem, ImportResult } from './archive.js';
import { buildBuiltinBusybox, DEFAULT_BUSYBOX } from './builtin-busybox.js';
import { chainIds } from './chain-id.js';
import { ImageStore } from './image-store.js';
import { OverlaySnapshotStore } from './snapshots.js';
import {
  BUILTIN_BUSYBOX_REF,
  familiarName,
  isBuiltinBusybox,
  normalizeName,
  parseReference,
  splitName,
} from './reference.js';
import type { PullOptions, PullResult } from './pull.js';
import type { BlobSource, ImageRecord, SnapshotStore } from './types.js';

const log = logger('image');

export interface ImagesOptions {
  /** The snapshot store that unpacks layers (default: overlay snapshots under <data>/snapshots). */
  snapshots?: SnapshotStore;
  /** Manifest digests of images that containers use: never collected, and not removed without force. */
  inUse?: () => Promise<string[]>;
  /** The static busybox binary the built-in image is made from (default /bin/busybox). */
  busybox?: string;
}

/** One row of `image ls`. */
export interface ImageSummary {
  name: string;
  repository: string;
  tag: string;
  /** The image ID: the config digest. */
  id: string;
  digest: string;
  created?: string;
  size: number;
}

export interface PruneResult {
  removedBlobs: string[];
  reclaimedBytes: number;
  removedSnapshots: string[];
}

export interface RemoveResult {
  untagged: string[];
  pruned: PruneResult;
}

export class Images {
  readonly store: ImageStore;
  readonly snapshots: SnapshotStore;

  constructor(
    readonly dataDir: string,
    readonly host: Host,
    private readonly opts: ImagesOptions = {},
  ) {
    this.store = new ImageStore(path.join(dataDir, 'images'));
    this.snapshots = opts.snapshots ?? new OverlaySnapshotStore(path.join(dataDir, 'snapshots'), host);
  }

  /** The content store, as the snapshot store reads it. */
  get blobs() {
    return this.store.content;
  }

  /**
   * The stored image `ref` names: a name (normalized: `foo` is docker.io/library/foo:latest; bare
   * `busybox` is the built-in), a manifest digest, or an image ID (prefix). NotFound says how to pull it.
   */
  async resolve(ref: string): Promise<ImageRecord> {
    const input = ref.trim();
    if (isBuiltinBusybox(input)) return this.builtinBusybox();
    let normalized: string | undefined;
    try {
      normalized = normalizeName(input);
    } catch (err) {
      if (!/^(?:sha256:)?[a-f0-9]{4,64}$/.test(input)) throw err;
    }
    const found = await this.store.find(input, normalized);
    if (found) return found.image;
    throw notFound(this.notFoundMessage(input, normalized));
  }

  private notFoundMessage(input: string, normalized?: string): string {
    if (!normalized) return `image "${input}" not found locally`;
    const parsed = parseReference(input);
    const short = familiarName(`${parsed.registry}/${parsed.repository}`);
    const shown = `${short}${parsed.tag ? `:${parsed.tag}` : ''}${parsed.digest ? `@${parsed.digest}` : ''}`;
    return `image "${shown}" not found locally: pull it with "nubis ctr image pull ${input}"`;
  }

  /** The built-in busybox image, made from the host's busybox the first time it is asked for. */
  async builtinBusybox(): Promise<ImageRecord> {
    const existing = await this.store.getRef(BUILTIN_BUSYBOX_REF);
    if (existing) {
      try {
        return await this.store.record(BUILTIN_BUSYBOX_REF, existing.digest);
      } catch (err) {
        if (!isNubisError(err)) throw err; // a blob went missing or is corrupt: make it again
      }
    }
    return this.store.locked(async () => {
      const again = await this.store.getRef(BUILTIN_BUSYBOX_REF);
      if (again && (await this.store.record(BUILTIN_BUSYBOX_REF, again.digest).catch(() => undefined))) {
        return this.store.record(BUILTIN_BUSYBOX_REF, again.digest);
      }
      const digest = await buildBuiltinBusybox(this.store.content, this.host, this.opts.busybox ?? DEFAULT_BUSYBOX);
      await this.store.setRef(BUILTIN_BUSYBOX_REF, digest);
      return this.store.record(BUILTIN_BUSYBOX_REF, digest);
    });
  }

  /** Resolves `ref` and unpacks its layers; lowerDirs are topmost first, ready for an overlay mount. */
  async prepareRootfs(ref: string, signal?: AbortSignal): Promise<{ image: ImageRecord; lowerDirs: string[] }> {
    return this.store.withLease(async () => {
      const image = await this.resolve(ref);
      const lowerDirs = await this.snapshots.prepare(image, this.store.content, signal);
      return { image, lowerDirs };
    });
  }

  /** Every stored ref, newest image first. The built-in busybox is always among them. */
  async list(): Promise<ImageSummary[]> {
    await this.builtinBusybox();
    const out: ImageSummary[] = [];
    for (const ref of await this.store.listRefs()) {
      const image = await this.store.record(ref.name, ref.digest).catch((err) => {
        if (isNubisError(err)) return undefined; // a broken ref is skipped, not fatal to listing
        throw err;
      });
      if (!image) continue;
      const { repository, tag } = splitName(ref.name);
      const short = familiarName(repository);
      out.push({
        name: ref.name,
        // a registry busybox shows its full name, so it is not mistaken for the built-in one
        repository: short === 'busybox' && ref.name !== BUILTIN_BUSYBOX_REF ? repository : short,
        tag,
        id: image.configDigest,
        digest: image.digest,
        ...(image.config.created ? { created: image.config.created } : {}),
        size: image.size,
      });
    }
    return out.sort((a, b) => (b.created ?? '').localeCompare(a.created ?? '') || a.name.localeCompare(b.name));
  }

  /**
   * Removes images: a name untags just that name; an image ID or digest removes every name of that image
   * (several names need `force`). An image a container uses needs `force`. Unreferenced blobs and
   * snapshots are then collected.
   */
  async remove(refs: string[], opts: { force?: boolean } = {}): Promise<RemoveResult> {
    const untagged: string[] = [];
    await this.store.locked(async () => {
      const inUse = new Set(this.opts.inUse ? await this.opts.inUse() : []);
      for (const input of refs) {
        const trimmed = input.trim();
        const normalized = isBuiltinBusybox(trimmed) ? BUILTIN_BUSYBOX_REF : safeNormalize(trimmed);
        const found = await this.store.find(trimmed, normalized);
        if (!found) throw notFound(`image "${input}" not found`);
        const byName = found.ref.name === normalized || found.ref.name === trimmed;
        const names = byName ? [found.ref] : await this.store.refsOfImage(found.image.configDigest);
        if (!byName && names.length > 1 && !opts.force) {
          throw conflict(
            `image ${input} has ${names.length} names (${names.map((n) => n.name).join(', ')}): remove them by name or use --force`,
          );
        }
        if (inUse.has(found.image.digest) && !opts.force) {
          const others = (await this.store.listRefs()).filter((r) => r.digest === found.image.digest && !names.some((n) => n.name === r.name));
          if (others.length === 0) {
            throw conflict(`image ${input} is used by a container: remove the container first or use --force`);
          }
        }
        for (const n of names) {
          if (await this.store.deleteRef(n.name)) untagged.push(n.name);
        }
      }
    });
    return { untagged, pruned: await this.prune() };
  }

  /** Collects blobs no image reaches and snapshots no image (or container) uses. */
  async prune(): Promise<PruneResult> {
    return this.store.locked(async () => {
      const inUse = this.opts.inUse ? await this.opts.inUse() : [];
      const keepBlobs = new Set<string>();
      for (const d of inUse) await this.store.reachable(d, keepBlobs);
      const gc = await this.store.gc(keepBlobs);
      const keep = new Set<string>();
      const manifests = new Set([...(await this.store.listRefs()).map((r) => r.digest), ...inUse]);
      let complete = true;
      for (const digest of manifests) {
        const image = await this.store.record(digest, digest).catch(() => undefined);
        if (image) for (const id of chainIds(image.layers.map((l) => l.diffID))) keep.add(id);
        else complete = false;
      }
      // Without every image's layer list a snapshot in use could look unused, and a pull or prepare under
      // way unpacks snapshots no ref names yet: keep them all in both cases.
      let removedSnapshots: string[] = [];
      if (!complete) log.warn('some images could not be read: snapshots were not pruned');
      else if ((await this.store.activeLeaseStart()) !== undefined) log.info('a pull is under way: snapshots were not pruned');
      else removedSnapshots = await this.snapshots.prune(keep);
      return { ...gc, removedSnapshots };
    });
  }

  /**
   * Pulls `ref` from its registry and, with a snapshot store, unpacks its layers while they arrive.
   * An interrupted pull continues where it stopped.
   */
  async pull(ref: string, opts: Omit<PullOptions, 'unpack'> & { unpack?: boolean } = {}): Promise<PullResult> {
    const snapshots = this.snapshots;
    if (opts.unpack !== false && snapshots instanceof OverlaySnapshotStore) snapshots.warm();
    const unpack =
      opts.unpack !== false
        ? (image: ImageRecord, blobs: BlobSource, signal?: AbortSignal) => snapshots.prepare(image, blobs, signal)
        : undefined;
    // The registry client (http, https, tls) and the archive code load only when used: a container's
    // start needs neither.
    const { pullImage } = await import('./pull.js');
    return pullImage(this.store, ref, { ...opts, unpack });
  }

  /**
   * Writes an archive of the images `refs` name to `out`: `docker save` format by default, or an OCI
   * image layout. A name exports under that name; an ID or digest under every name of the image.
   */
  async export(refs: string[], out: Writable, format: ArchiveFormat = 'docker'): Promise<void> {
    const items: ExportItem[] = [];
    for (const input of refs) {
      const image = await this.resolve(input);
      const names = isBuiltinBusybox(input.trim())
        ? [BUILTIN_BUSYBOX_REF]
        : image.name === safeNormalize(input.trim())
          ? [image.name]
          : (await this.store.refsOfImage(image.configDigest)).map((r) => r.name);
      const same = items.find((i) => i.image.digest === image.digest);
      if (same) same.names.push(...names.filter((n) => !same.names.includes(n)));
      else items.push({ image, names });
    }
    const { exportImages } = await import('./archive.js');
    await this.store.withLease(() => exportImages(this.store, items, out, format));
  }

  /** Imports a docker-save or OCI archive (gzip or not); `tag` names a single untagged image. */
  async import(src: Readable, opts: { tag?: string; signal?: AbortSignal } = {}): Promise<ImportResult> {
    const { importArchive } = await import('./archive.js');
    return importArchive(this.store, src, opts);
  }

  /** A verified stream of a stored blob. */
  openBlob(digest: string): Readable {
    return this.store.content.openBlob(digest);
  }
}

function safeNormalize(input: string): string | undefined {
  try {
    return normalizeName(input);
  } catch {
    return undefined;
  }
}
