/**
 * The contracts between the parts of image/: the image store (content, references, pull, import/export)
 * and the snapshot store (safe unpacking, overlay roots). runtime/ uses only what is declared here.
 */
import type { Readable } from 'node:stream';

/** OCI image config (application/vnd.oci.image.config.v1+json), the parts Nubis reads. */
export interface ImageConfig {
  architecture?: string;
  os?: string;
  created?: string;
  config?: {
    User?: string;
    Env?: string[];
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    WorkingDir?: string;
    Labels?: Record<string, string> | null;
    StopSignal?: string;
    ExposedPorts?: Record<string, object>;
    Volumes?: Record<string, object>;
  };
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: { created?: string; created_by?: string; empty_layer?: boolean; comment?: string }[];
}

/** One layer of an image: the blob as stored (maybe compressed) and the digest of its uncompressed tar. */
export interface LayerRef {
  digest: string;
  mediaType: string;
  size: number;
  diffID: string;
}

/** A resolved, locally stored image. */
export interface ImageRecord {
  /** Normalized reference, e.g. docker.io/library/busybox:latest, or busybox:latest for the built-in. */
  name: string;
  /** Digest of the (platform-specific) manifest. */
  digest: string;
  configDigest: string;
  config: ImageConfig;
  layers: LayerRef[];
  /** Sum of the layer blobs' sizes. */
  size: number;
}

/** What the snapshot store needs from the content store. */
export interface BlobSource {
  /** A stream of the blob's bytes, verified against its digest as it is read (errors at the end if not). */
  openBlob(digest: string): Readable;
}

/** Unpacked, read-only layer snapshots and the overlay roots built from them. */
export interface SnapshotStore {
  /**
   * Makes sure every layer of `image` is unpacked (each once, keyed by chain ID) and returns the snapshot
   * directories to use as overlay lowerdirs, topmost layer first.
   */
  prepare(image: ImageRecord, blobs: BlobSource, signal?: AbortSignal): Promise<string[]>;
  /** Chain IDs of all snapshots on disk. */
  list(): Promise<string[]>;
  /** Removes snapshots whose chain ID is not in `keep`; returns the removed chain IDs. */
  prune(keep: Set<string>): Promise<string[]>;
}
