/**
 * Manifests and indexes of the OCI image spec and their Docker v2.2 twins: media types, parsing with
 * validation, and choosing the linux/amd64 entry of an index or manifest list.
 */
import { invalid, notFound } from '../lib/errors.js';
import { isDigest } from './reference.js';

export const MediaType = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerLayerForeignGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
} as const;

/** Every manifest and index type Nubis understands, for an Accept header. */
export const ACCEPT_MANIFESTS = [
  MediaType.ociIndex,
  MediaType.ociManifest,
  MediaType.dockerList,
  MediaType.dockerManifest,
].join(', ');

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { architecture: string; os: string; variant?: string; 'os.version'?: string };
  annotations?: Record<string, string>;
  urls?: string[];
}

export interface Manifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface Index {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

export type ParsedManifest = { kind: 'manifest'; mediaType: string; manifest: Manifest } | { kind: 'index'; mediaType: string; index: Index };

export function isIndexType(mediaType: string): boolean {
  return mediaType === MediaType.ociIndex || mediaType === MediaType.dockerList;
}

export function isManifestType(mediaType: string): boolean {
  return mediaType === MediaType.ociManifest || mediaType === MediaType.dockerManifest;
}

/** Compression of a layer blob, from its media type. */
export function layerCompression(mediaType: string): 'gzip' | 'none' | 'zstd' {
  if (mediaType.endsWith('+gzip') || mediaType.endsWith('.tar.gzip')) return 'gzip';
  if (mediaType.endsWith('+zstd')) return 'zstd';
  if (mediaType.endsWith('.tar') || mediaType.endsWith('diff.tar')) return 'none';
  throw invalid(`unsupported layer media type ${mediaType}`);
}

function checkDescriptor(d: unknown, what: string): Descriptor {
  const x = d as Partial<Descriptor> | null;
  if (!x || typeof x !== 'object' || typeof x.mediaType !== 'string' || typeof x.digest !== 'string' || typeof x.size !== 'number') {
    throw invalid(`${what} is not a valid descriptor`);
  }
  if (!isDigest(x.digest)) throw invalid(`${what} has an unsupported digest ${x.digest}`);
  if (!Number.isSafeInteger(x.size) || x.size < 0) throw invalid(`${what} has a bad size`);
  return x as Descriptor;
}

/**
 * Parses a manifest or index; `contentType` (from the registry) wins over the `mediaType` field, and
 * without either the shape decides.
 */
export function parseManifest(data: Buffer | string, contentType?: string): ParsedManifest {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(data.toString()) as Record<string, unknown>;
  } catch (err) {
    throw invalid('manifest is not valid JSON', err);
  }
  if (!doc || typeof doc !== 'object') throw invalid('manifest is not a JSON object');
  const ct = contentType?.split(';')[0]?.trim();
  let mediaType = typeof doc.mediaType === 'string' ? doc.mediaType : ct && ct !== 'application/json' ? ct : undefined;
  if (!mediaType) mediaType = Array.isArray(doc.manifests) ? MediaType.ociIndex : MediaType.ociManifest;
  if (doc.schemaVersion !== 2) throw invalid(`unsupported manifest schemaVersion ${String(doc.schemaVersion)} (only 2)`);
  if (isIndexType(mediaType)) {
    if (!Array.isArray(doc.manifests)) throw invalid('image index has no manifests list');
    doc.manifests.forEach((m, i) => checkDescriptor(m, `index entry ${i}`));
    return { kind: 'index', mediaType, index: doc as unknown as Index };
  }
  if (isManifestType(mediaType)) {
    checkDescriptor(doc.config, 'manifest config');
    if (!Array.isArray(doc.layers)) throw invalid('manifest has no layers list');
    doc.layers.forEach((l, i) => checkDescriptor(l, `manifest layer ${i}`));
    return { kind: 'manifest', mediaType, manifest: doc as unknown as Manifest };
  }
  throw invalid(`unsupported manifest media type ${mediaType}`);
}

/** The platform Nubis runs. */
export const HOST_PLATFORM = { os: 'linux', architecture: 'amd64' } as const;

/** The index entry for linux/amd64 (a plain one before a variant); NotFound lists what there is. */
export function selectPlatform(index: Index, what = 'image'): Descriptor {
  const candidates = index.manifests.filter(
    (m) =>
      isManifestType(m.mediaType) &&
      m.platform?.os === HOST_PLATFORM.os &&
      m.platform.architecture === HOST_PLATFORM.architecture,
  );
  candidates.sort((a, b) => Number(Boolean(a.platform?.variant)) - Number(Boolean(b.platform?.variant)));
  const found = candidates[0];
  if (found) return found;
  const have = index.manifests
    .map((m) => (m.platform ? `${m.platform.os}/${m.platform.architecture}${m.platform.variant ? `/${m.platform.variant}` : ''}` : 'unknown'))
    .join(', ');
  throw notFound(`${what} has no ${HOST_PLATFORM.os}/${HOST_PLATFORM.architecture} variant (it has: ${have || 'none'})`);
}
