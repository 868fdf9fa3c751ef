/**
 * Image archives: export to the `docker save` format (the default; `docker load` and `podman load` take
 * it) or to an OCI image-layout tarball, and import of either (detected from the content, gzip or not).
 *
 * docker save: manifest.json ([{Config, RepoTags, Layers}]), repositories, <config hex>.json and
 * <diffID hex>/layer.tar (uncompressed). OCI layout: oci-layout, index.json (ref names in the
 * org.opencontainers.image.ref.name and io.containerd.image.name annotations) and blobs/sha256/<hex>.
 */
import { createHash } from 'node:crypto';
import { promises as fs, createReadStream, createWriteStream } from 'node:fs';
import path from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { invalid, isNubisError } from '../lib/errors.js';
import { DigestCounter } from './content-store.js';
import type { ImageStore } from './image-store.js';
import { MediaType, parseManifest, selectPlatform, type Manifest } from './manifest.js';
import { formatReference, isDigest, parseReference, splitName } from './reference.js';
import type { ImageConfig, ImageRecord } from './types.js';
import { decompress } from './unpack.js';

export type ArchiveFormat = 'docker' | 'oci';

/** An image to export and the names it goes under. */
export interface ExportItem {
  image: ImageRecord;
  names: string[];
}

/**
 * The name an archive carries for a stored ref: fully qualified (docker.io/library/busybox:latest), so
 * podman load keeps the registry instead of guessing localhost/; docker load takes it as well.
 */
export function archiveName(name: string): string | undefined {
  if (name.includes('@')) return undefined;
  return formatReference(parseReference(name));
}

type Pack = ReturnType<typeof tar.pack>;

function addEntry(pack: Pack, name: string, body: Buffer | Readable, size: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const header = { name, size, mode: 0o644, mtime: new Date(0), uid: 0, gid: 0, type: 'file' as const };
    if (Buffer.isBuffer(body)) {
      pack.entry(header, body, (err) => (err ? reject(err) : resolve()));
      return;
    }
    const entry = pack.entry(header, (err) => (err ? reject(err) : resolve()));
    body.on('error', (err) => {
      entry.destroy(err);
      reject(err);
    });
    body.pipe(entry as unknown as Writable);
  });
}

/** Writes the uncompressed tar of a layer to `file` and returns its size and digest. */
async function uncompressedTo(store: ImageStore, layer: ImageRecord['layers'][number], file: string): Promise<{ size: number; digest: string }> {
  const counter = new DigestCounter();
  await pipeline(Readable.from(decompress(store.content.openBlob(layer.digest), layer.mediaType)), counter, createWriteStream(file));
  return { size: counter.size, digest: counter.digest() };
}

/** Adds one layer to a docker archive as uncompressed <diffID hex>/layer.tar. */
async function addDockerLayer(store: ImageStore, pack: Pack, layer: ImageRecord['layers'][number], tmpDir: string): Promise<string> {
  const name = `${layer.diffID.slice(7)}/layer.tar`;
  if (layer.digest === layer.diffID) {
    await addEntry(pack, name, store.content.openBlob(layer.digest), layer.size);
    return name;
  }
  const tmp = path.join(tmpDir, `export-${layer.diffID.slice(7)}-${process.pid}.tar`);
  try {
    const got = await uncompressedTo(store, layer, tmp);
    if (got.digest !== layer.diffID) throw invalid(`layer ${layer.digest} uncompresses to ${got.digest}, not its diffID ${layer.diffID}`);
    await addEntry(pack, name, createReadStream(tmp), got.size);
  } finally {
    await fs.rm(tmp, { force: true });
  }
  return name;
}

/** Streams an archive of `items` into `out`. */
export async function exportImages(store: ImageStore, items: ExportItem[], out: Writable, format: ArchiveFormat = 'docker'): Promise<void> {
  const pack = tar.pack();
  const writing = pipeline(pack as unknown as Readable, out);
  try {
    if (format === 'oci') await writeOci(store, items, pack);
    else await writeDocker(store, items, pack);
    pack.finalize();
  } catch (err) {
    pack.destroy(err as Error);
    await writing.catch(() => undefined);
    throw err;
  }
  await writing;
}

async function writeDocker(store: ImageStore, items: ExportItem[], pack: Pack): Promise<void> {
  const written = new Set<string>();
  const manifest: { Config: string; RepoTags: string[] | null; Layers: string[] }[] = [];
  const repositories: Record<string, Record<string, string>> = {};
  await fs.mkdir(store.content.ingestDir, { recursive: true });
  for (const { image, names } of items) {
    const configName = `${image.configDigest.slice(7)}.json`;
    if (!written.has(configName)) {
      await addEntry(pack, configName, await store.content.readBlob(image.configDigest), await store.content.size(image.configDigest));
      written.add(configName);
    }
    const layers: string[] = [];
    for (const layer of image.layers) {
      const name = `${layer.diffID.slice(7)}/layer.tar`;
      if (!written.has(name)) await addDockerLayer(store, pack, layer, store.content.ingestDir);
      written.add(name);
      layers.push(name);
    }
    const tags = names.map(archiveName).filter((n): n is string => Boolean(n));
    manifest.push({ Config: configName, RepoTags: tags.length ? tags : null, Layers: layers });
    const top = image.layers[image.layers.length - 1]?.diffID.slice(7);
    for (const t of tags) {
      const { repository, tag } = splitName(t);
      if (top) (repositories[repository] ??= {})[tag] = top;
    }
  }
  await addEntry(pack, 'manifest.json', Buffer.from(JSON.stringify(manifest)), Buffer.byteLength(JSON.stringify(manifest)));
  const repos = Buffer.from(JSON.stringify(repositories));
  await addEntry(pack, 'repositories', repos, repos.length);
}

async function writeOci(store: ImageStore, items: ExportItem[], pack: Pack): Promise<void> {
  const written = new Set<string>();
  const blob = async (digest: string) => {
    if (written.has(digest)) return;
    written.add(digest);
    await addEntry(pack, `blobs/sha256/${digest.slice(7)}`, store.content.openBlob(digest), await store.content.size(digest));
  };
  await addEntry(pack, 'oci-layout', Buffer.from('{"imageLayoutVersion":"1.0.0"}'), 30);
  const manifests: object[] = [];
  for (const { image, names } of items) {
    const { mediaType } = await store.readManifest(image.digest);
    await blob(image.configDigest);
    for (const l of image.layers) await blob(l.digest);
    await blob(image.digest);
    const desc = {
      mediaType,
      digest: image.digest,
      size: await store.content.size(image.digest),
      platform: { os: image.config.os ?? 'linux', architecture: image.config.architecture ?? 'amd64' },
    };
    const tagged = names.filter((n) => !n.includes('@'));
    if (tagged.length === 0) manifests.push(desc);
    for (const n of tagged) {
      const full = archiveName(n) as string;
      manifests.push({ ...desc, annotations: { 'io.containerd.image.name': full, 'org.opencontainers.image.ref.name': splitName(n).tag } });
    }
  }
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests }));
  await addEntry(pack, 'index.json', index, index.length);
}

/** What an import stored. */
export interface ImportResult {
  /** Ref names set, e.g. docker.io/library/foo:latest, or <none>@sha256:… for untagged images. */
  names: string[];
  images: ImageRecord[];
}

const SMALL = 1 << 20;

/** The files of an archive: small ones in memory, the rest stored as blobs (digest and size). */
interface ArchiveFiles {
  small: Map<string, Buffer>;
  large: Map<string, { digest: string; size: number }>;
}

async function readArchive(store: ImageStore, src: Readable, signal?: AbortSignal): Promise<ArchiveFiles> {
  const files: ArchiveFiles = { small: new Map(), large: new Map() };
  const extract = tar.extract();
  const feeding = pipeline(Readable.from(decompress(src, 'archive')), extract as unknown as Writable, { signal });
  feeding.catch(() => undefined);
  try {
    for await (const entry of extract) {
      const name = path.posix.normalize(entry.header.name).replace(/^(\.\/|\/)+/, '');
      if (entry.header.type !== 'file' || name.startsWith('..')) {
        entry.resume();
        continue;
      }
      if (entry.header.size <= SMALL) {
        const chunks: Buffer[] = [];
        for await (const c of entry) chunks.push(c as Buffer);
        files.small.set(name, Buffer.concat(chunks));
      } else {
        files.large.set(name, await store.content.putStream(entry as unknown as Readable, signal));
      }
    }
    await feeding;
  } catch (err) {
    if (isNubisError(err)) throw err;
    throw invalid(`not a valid image archive: ${(err as Error).message}`, err);
  }
  return files;
}

/** Stores the archive file `name` as a blob; returns digest and size. */
async function storeFile(store: ImageStore, files: ArchiveFiles, name: string): Promise<{ digest: string; size: number }> {
  const big = files.large.get(name);
  if (big) return big;
  const data = files.small.get(name);
  if (!data) throw invalid(`the archive has no file ${name}`);
  return { digest: await store.content.putBlob(data), size: data.length };
}

function jsonOf<T>(files: ArchiveFiles, name: string): T {
  const data = files.small.get(name);
  if (!data) throw invalid(`the archive has no ${name}`);
  try {
    return JSON.parse(data.toString('utf8')) as T;
  } catch (err) {
    throw invalid(`${name} in the archive is not valid JSON`, err);
  }
}

/** The uncompressed digest of a stored layer blob, and whether it was gzip. */
async function diffIdOf(store: ImageStore, digest: string): Promise<{ diffID: string; gzip: boolean }> {
  const head = await new Promise<Buffer>((resolve, reject) => {
    const s = createReadStream(store.content.blobPath(digest), { start: 0, end: 1 });
    const parts: Buffer[] = [];
    s.on('data', (c) => parts.push(c as Buffer)).on('end', () => resolve(Buffer.concat(parts))).on('error', reject);
  });
  if (!(head[0] === 0x1f && head[1] === 0x8b)) return { diffID: digest, gzip: false };
  const hash = createHash('sha256');
  for await (const c of decompress(store.content.openBlob(digest), MediaType.ociLayerGzip)) hash.update(c);
  return { diffID: `sha256:${hash.digest('hex')}`, gzip: true };
}

async function importDocker(store: ImageStore, files: ArchiveFiles): Promise<{ digest: string; names: string[] }[]> {
  const entries = jsonOf<{ Config: string; RepoTags?: string[] | null; Layers: string[] }[]>(files, 'manifest.json');
  if (!Array.isArray(entries)) throw invalid('manifest.json in the archive is not a list');
  const out: { digest: string; names: string[] }[] = [];
  for (const e of entries) {
    const config = await storeFile(store, files, e.Config);
    const cfg = await store.content.readJsonBlob<ImageConfig>(config.digest);
    const layers: Manifest['layers'] = [];
    for (const [i, l] of e.Layers.entries()) {
      const blob = await storeFile(store, files, l);
      const { diffID, gzip } = await diffIdOf(store, blob.digest);
      if (cfg.rootfs?.diff_ids?.[i] !== diffID) {
        throw invalid(`layer ${l} of the archive has diffID ${diffID}, but its config says ${cfg.rootfs?.diff_ids?.[i] ?? 'nothing'}`);
      }
      layers.push({ mediaType: gzip ? MediaType.ociLayerGzip : MediaType.ociLayer, digest: blob.digest, size: blob.size });
    }
    const manifest: Manifest = {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: config.digest, size: config.size },
      layers,
    };
    out.push({ digest: await store.content.putBlob(JSON.stringify(manifest)), names: e.RepoTags ?? [] });
  }
  return out;
}

async function importOci(store: ImageStore, files: ArchiveFiles): Promise<{ digest: string; names: string[] }[]> {
  for (const [name, data] of files.small) {
    if (name.startsWith('blobs/sha256/')) await store.content.putBlob(data, `sha256:${name.slice(13)}`);
  }
  for (const [name, got] of files.large) {
    if (name.startsWith('blobs/sha256/') && got.digest !== `sha256:${name.slice(13)}`) {
      throw invalid(`blob ${name} of the archive hashes to ${got.digest}`);
    }
  }
  const index = jsonOf<{ manifests?: { digest: string; mediaType: string; annotations?: Record<string, string> }[] }>(files, 'index.json');
  const out: { digest: string; names: string[] }[] = [];
  for (const d of index.manifests ?? []) {
    if (!isDigest(d.digest)) throw invalid(`index.json names a bad digest ${d.digest}`);
    const parsed = parseManifest(await store.content.readBlob(d.digest));
    const digest = parsed.kind === 'index' ? selectPlatform(parsed.index, 'archived image').digest : d.digest;
    const full = d.annotations?.['io.containerd.image.name'];
    const refName = d.annotations?.['org.opencontainers.image.ref.name'];
    const name = full ?? (refName && /[:/]/.test(refName) ? refName : undefined);
    out.push({ digest, names: name ? [name] : [] });
  }
  return out;
}

/**
 * Imports a docker-save or OCI-layout archive (gzip or not) from `src`: stores its blobs verified, and
 * sets a ref for every name in it (`tag` names a single untagged image).
 */
export async function importArchive(store: ImageStore, src: Readable, opts: { tag?: string; signal?: AbortSignal } = {}): Promise<ImportResult> {
  return store.withLease(async () => {
    const files = await readArchive(store, src, opts.signal);
    const isOci = files.small.has('index.json') && files.small.has('oci-layout');
    if (!isOci && !files.small.has('manifest.json')) {
      throw invalid('not an image archive: it has neither manifest.json (docker save) nor oci-layout and index.json (OCI)');
    }
    const found = isOci ? await importOci(store, files) : await importDocker(store, files);
    if (found.length === 0) throw invalid('the archive holds no images');
    if (opts.tag) {
      if (found.length !== 1) throw invalid(`--tag needs an archive of one image (this one has ${found.length})`);
      found[0]?.names.push(opts.tag);
    }
    const result: ImportResult = { names: [], images: [] };
    for (const f of found) {
      const image = await store.record(f.digest, f.digest); // checks config and layer list agree
      for (const l of image.layers) {
        if (!(await store.content.has(l.digest))) throw invalid(`the archive lacks layer ${l.digest}`);
      }
      const names = f.names.length ? [...new Set(f.names.map((n) => formatReference(parseReference(n))))] : [`<none>@${f.digest}`];
      await store.locked(async () => {
        for (const n of names) await store.setRef(n, f.digest);
      });
      result.names.push(...names);
      result.images.push({ ...image, name: names[0] as string });
    }
    return result;
  });
}
