/**
 * Overlay snapshots: each layer unpacked once into <root>/<chain hex>/fs, keyed by its chain ID as
 * containerd does, and used read-only as an overlay lowerdir.
 *
 * A layer is unpacked into <root>/tmp-<pid>-<random>/ and renamed into place only when it is complete
 * and its diffID checked, so a failure of any kind (hostile entry, bad digest, full disk, abort) leaves
 * no partial snapshot; the temp dir is removed on every failure path, and temp dirs of processes that
 * died are removed by the next prepare or prune. A lock per chain ID keeps two processes from unpacking
 * the same layer twice; if a snapshot appears anyway, the late one is discarded.
 *
 * Overlay takes its options in one page (4096 bytes), so lowerdirs are handed out as short symlinks
 * <root>/l/<16 hex> -> ../<chain hex>/fs (as Docker's overlay2 does): about 60 bytes a layer, room for
 * well over 40 layers. An image too deep even for that fails with a clear Invalid error.
 *
 * Not done: snapshots are not fsynced before they are committed (neither does Podman by default).
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { errno, invalid, conflict, NubisError, internal } from '../lib/errors.js';
import { withLock } from '../lib/lock.js';
import type { Host } from '../host/host.js';
import { chainIds } from './chain-id.js';
import type { BlobSource, ImageRecord, LayerRef, SnapshotStore } from './types.js';
import { hasBlobFiles } from './blob-file.js';
import { unpackLayer } from './unpack.js';
import { sharedUnpackPool, type UnpackPool } from './unpack-pool.js';

const HEX = /^[0-9a-f]{64}$/;
const TMP = /^tmp-(\d+)-[0-9a-f]+$/;
const SHORT = 16;
/** Room for lowerdir= in the one-page mount options, leaving the rest for upperdir/workdir. */
const LOWERDIR_LIMIT = 3000;
const UNPACK_LOCK_WAIT_MS = 30 * 60_000;
const PARALLEL_LAYERS = 8;

/** What a snapshot records about itself, beside its tree. */
export interface SnapshotMeta {
  chainID: string;
  diffID: string;
  digest: string;
  entries: number;
  bytes: number;
  unpackedAt: string;
}

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errno(err) === 'EPERM';
  }
}

function hexOf(chainID: string): string {
  const hex = chainID.startsWith('sha256:') ? chainID.slice(7) : chainID;
  if (!HEX.test(hex)) throw invalid(`bad chain ID ${JSON.stringify(chainID)}`);
  return hex;
}

export class OverlaySnapshotStore implements SnapshotStore {
  constructor(
    private readonly root: string,
    private readonly host: Host,
    /** Unpacks layers whose blobs are files (content store, downloads) on worker threads. */
    private readonly pool: UnpackPool = sharedUnpackPool(),
  ) {}

  /** Starts an unpack thread ahead of time (a pull calls this before it fetches the manifest). */
  warm(): void {
    this.pool.warm();
  }

  /** The unpacked tree of a snapshot (whether or not it exists). */
  treeOf(chainID: string): string {
    return path.join(this.root, hexOf(chainID), 'fs');
  }

  /** The short lowerdir path handed out for a snapshot. */
  lowerdirOf(chainID: string): string {
    return path.join(this.root, 'l', hexOf(chainID).slice(0, SHORT));
  }

  async prepare(image: ImageRecord, blobs: BlobSource, signal?: AbortSignal): Promise<string[]> {
    const chain = chainIds(image.layers.map((l) => l.diffID));
    const lowerdirs = chain.map((c) => this.lowerdirOf(c)).reverse();
    const optionBytes = lowerdirs.reduce((n, d) => n + d.length + 1, 'lowerdir='.length);
    if (optionBytes > LOWERDIR_LIMIT) {
      throw invalid(
        `image ${image.name} has ${chain.length} layers: too many for one overlay mount ` +
          `(lowerdir option of ${optionBytes} bytes, limit ${LOWERDIR_LIMIT})`,
      );
    }
    await fs.mkdir(path.join(this.root, 'l'), { recursive: true });
    await fs.mkdir(path.join(this.root, 'locks'), { recursive: true });
    await this.removeStaleTemps();
    // Layers are independent (each snapshot holds only its own layer), so they unpack at once: during a
    // pull each follows its own download, on the unpack threads. The first failure stops the rest.
    const stop = new AbortController();
    const both = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
    let failure: unknown;
    let next = 0;
    const worker = async () => {
      while (next < image.layers.length && failure === undefined) {
        const i = next++;
        try {
          both.throwIfAborted();
          await this.ensure(chain[i]!, image.layers[i]!, blobs, `layer ${i + 1}/${image.layers.length}`, both);
        } catch (err) {
          if (failure === undefined) failure = err;
          stop.abort(err);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL_LAYERS, image.layers.length) }, worker));
    if (failure !== undefined) throw failure;
    return lowerdirs;
  }

  async list(): Promise<string[]> {
    const out: string[] = [];
    for (const name of await this.names()) if (HEX.test(name)) out.push(`sha256:${name}`);
    return out.sort();
  }

  async prune(keep: Set<string>): Promise<string[]> {
    const removed: string[] = [];
    for (const chainID of await this.list()) {
      if (keep.has(chainID)) continue;
      await fs.mkdir(path.join(this.root, 'locks'), { recursive: true });
      await withLock(this.lockOf(chainID), async () => {
        const dir = path.join(this.root, hexOf(chainID));
        const grave = this.tempName();
        try {
          await fs.rename(dir, grave); // gone at once; the slow removal cannot leave a half snapshot
        } catch (err) {
          if (errno(err) === 'ENOENT') return;
          throw err;
        }
        await fs.rm(this.lowerdirOf(chainID), { force: true });
        await fs.rm(grave, { recursive: true, force: true });
        removed.push(chainID);
      });
    }
    await this.removeStaleTemps();
    return removed;
  }

  private async ensure(chainID: string, layer: LayerRef, blobs: BlobSource, label: string, signal: AbortSignal) {
    label = `${label} (${layer.digest.slice(0, 19)})`;
    if (!(await this.has(chainID))) {
      await withLock(
        this.lockOf(chainID),
        async () => {
          if (!(await this.has(chainID))) await this.unpack(chainID, layer, blobs, label, signal);
        },
        UNPACK_LOCK_WAIT_MS,
      );
    }
    await this.ensureLink(chainID);
  }

  private async has(chainID: string): Promise<boolean> {
    try {
      return (await fs.lstat(this.treeOf(chainID))).isDirectory();
    } catch (err) {
      if (errno(err) === 'ENOENT') return false;
      throw err;
    }
  }

  private lockOf(chainID: string): string {
    return path.join(this.root, 'locks', `${hexOf(chainID)}.lock`);
  }

  private tempName(): string {
    return path.join(this.root, `tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  }

  private async names(): Promise<string[]> {
    try {
      return await fs.readdir(this.root);
    } catch (err) {
      if (errno(err) === 'ENOENT') return [];
      throw err;
    }
  }

  private async unpack(chainID: string, layer: LayerRef, blobs: BlobSource, label: string, signal?: AbortSignal) {
    const tmp = this.tempName();
    const tree = path.join(tmp, 'fs');
    try {
      await fs.mkdir(tree, { recursive: true, mode: 0o755 });
      const opts = { host: this.host, diffID: layer.diffID, ...(signal ? { signal } : {}) };
      const r = hasBlobFiles(blobs)
        ? await this.pool.unpack(await blobs.blobFile(layer.digest), layer.mediaType, tree, opts)
        : await unpackLayer(blobs.openBlob(layer.digest), layer.mediaType, tree, opts);
      const meta: SnapshotMeta = {
        chainID,
        diffID: r.diffID,
        digest: layer.digest,
        entries: r.entries,
        bytes: r.bytes,
        unpackedAt: new Date().toISOString(),
      };
      await fs.writeFile(path.join(tmp, 'meta.json'), JSON.stringify(meta) + '\n');
      try {
        await fs.rename(tmp, path.join(this.root, hexOf(chainID)));
      } catch (err) {
        if (errno(err) !== 'ENOTEMPTY' && errno(err) !== 'EEXIST') throw err;
        await fs.rm(tmp, { recursive: true, force: true }); // someone else committed it first
      }
    } catch (err) {
      await fs.rm(tmp, { recursive: true, force: true });
      throw wrap(err, label);
    }
  }

  private async ensureLink(chainID: string): Promise<void> {
    const link = this.lowerdirOf(chainID);
    const target = path.join('..', hexOf(chainID), 'fs');
    for (;;) {
      try {
        const now = await fs.readlink(link);
        if (now === target) return;
        throw conflict(`snapshot link ${link} points to ${now}, not ${target}: chain ID prefix collision`);
      } catch (err) {
        if (errno(err) !== 'ENOENT') throw err;
      }
      try {
        await fs.symlink(target, link);
        return;
      } catch (err) {
        if (errno(err) !== 'EEXIST') throw err;
      }
    }
  }

  /** Removes temp dirs whose process died (a crash mid-unpack or mid-prune). */
  private async removeStaleTemps(): Promise<void> {
    for (const name of await this.names()) {
      const m = TMP.exec(name);
      if (m && !alive(Number(m[1]))) await fs.rm(path.join(this.root, name), { recursive: true, force: true });
    }
  }
}

function wrap(err: unknown, label: string): unknown {
  if (err instanceof NubisError) return new NubisError(err.code, `${label}: ${err.message}`, { cause: err });
  if ((err as Error)?.name === 'AbortError') return err;
  return internal(`${label}: ${(err as Error)?.message ?? String(err)}`, err);
}
