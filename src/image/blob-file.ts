/**
 * Blobs as files on disk, for readers that run in another thread (see unpack-pool.ts): where the bytes
 * are, whether the reader must verify them, and, for a blob still being downloaded, how far the file
 * holds it.
 */
import type { BlobSource } from './types.js';

/** How far a growing file holds its blob. */
export interface BlobGrowth {
  /** Bytes from the start of the blob that are in the file. */
  readonly written: number;
  /** True once the download ended: verified and complete unless `error` is set. */
  readonly finished: boolean;
  readonly error?: unknown;
  /** Calls `fn` after every change until the returned function is called. */
  watch(fn: () => void): () => void;
}

export interface BlobFile {
  /** The file holding the blob's bytes. */
  path: string;
  /** Where the bytes are if `path` is gone (a finished download moved it into the store). */
  fallback?: string;
  /** The digest the reader must check the bytes against (unset when the writer verifies them). */
  verify?: string;
  /** For a blob still being written: how far the file holds it. Unset for a complete file. */
  growth?: BlobGrowth;
}

/** A BlobSource that can also say where a blob's bytes are on disk. */
export interface FileBlobSource extends BlobSource {
  blobFile(digest: string): Promise<BlobFile>;
}

export function hasBlobFiles(source: BlobSource): source is FileBlobSource {
  return typeof (source as Partial<FileBlobSource>).blobFile === 'function';
}
