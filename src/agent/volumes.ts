/**
 * A pod's volumes on this machine, under <data>/agent/pods/<uid>/volumes/<kind>/<name>:
 *  - emptyDir: a directory (medium Memory: a tmpfs, sizeLimit as its size);
 *  - hostPath: the host path itself, after the type check (DirectoryOrCreate, File, Socket ...);
 *  - configMap, secret, downwardAPI and projected (also ServiceAccount tokens): files projected from
 *    the objects (items, keys and modes), published atomically as the kubelet does: the files live in a `..<time>` dir, `..data` is a
 *    symlink to it swapped by rename, and each top-level name is a symlink through `..data`; so a running
 *    container sees an update all at once. Secrets (and projections holding one) live on a tmpfs.
 * Everything is removed with the pod: tmpfs mounts are unmounted before the directory goes.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Pod, Volume, KeyToPath } from '../api/core/v1/pod-types.js';
import { parseQuantity } from '../api/quantity.js';
import type { Host } from '../host/host.js';
import { errno, invalid } from '../lib/errors.js';
import { configMapValue, fieldPathValue, type DownwardContext, type ObjectSource } from './env.js';

/** One file of a projected volume. */
export interface ProjectedFile {
  /** Relative path inside the volume. */
  path: string;
  data: Buffer;
  mode: number;
}

/** A volume ready to mount: its host path and whether containers must see it read-only. */
export interface PreparedVolume {
  hostPath: string;
  readOnly: boolean;
}

function checkItemPath(p: string): string {
  const norm = path.posix.normalize(p);
  if (!p || path.posix.isAbsolute(p) || norm.split('/').includes('..') || norm === '.') throw invalid(`invalid item path "${p}": must be relative, without ".."`);
  return norm;
}

/**
 * The files a key/value source projects: every key, or only `items` (each key must exist unless the
 * source is optional, then missing keys are skipped), with the item's mode or the default mode.
 */
export function projectKeys(data: Map<string, Buffer>, items: KeyToPath[] | undefined, defaultMode: number, what: string, optional = false): ProjectedFile[] {
  if (!items || items.length === 0) return [...data].map(([k, v]) => ({ path: checkItemPath(k), data: v, mode: defaultMode }));
  const out: ProjectedFile[] = [];
  for (const it of items) {
    const v = data.get(it.key);
    if (v === undefined) {
      if (optional) continue;
      throw invalid(`configuration of ${what} has no key "${it.key}"`);
    }
    out.push({ path: checkItemPath(it.path), data: v, mode: it.mode ?? defaultMode });
  }
  return out;
}

async function sameContent(dir: string, files: ProjectedFile[]): Promise<boolean> {
  try {
    const target = await fs.readlink(path.join(dir, '..data'));
    const current = path.join(dir, target);
    const listed = await listFiles(current);
    if (listed.length !== files.length) return false;
    for (const f of files) {
      const p = path.join(current, f.path);
      const [data, st] = await Promise.all([fs.readFile(p), fs.stat(p)]);
      if (!data.equals(f.data) || (st.mode & 0o7777) !== f.mode) return false;
    }
    return true;
  } catch {
    return false;
  }
}

async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const rel = path.posix.join(prefix, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(path.join(dir, e.name), rel)));
    else out.push(rel);
  }
  return out;
}

/**
 * Publishes `files` in `dir` atomically (the ..data symlink swap); does nothing when the content is
 * already there. Returns whether anything changed.
 */
export async function writeProjection(dir: string, files: ProjectedFile[]): Promise<boolean> {
  await fs.mkdir(dir, { recursive: true, mode: 0o755 });
  if (await sameContent(dir, files)) return false;
  const stamp = `..${new Date().toISOString().replace(/[:.]/g, '_')}.${process.hrtime.bigint() % 1_000_000n}`;
  const fresh = path.join(dir, stamp);
  await fs.mkdir(fresh, { mode: 0o755 });
  for (const f of files) {
    const p = path.join(fresh, f.path);
    await fs.mkdir(path.dirname(p), { recursive: true, mode: 0o755 });
    await fs.writeFile(p, f.data);
    await fs.chmod(p, f.mode);
  }
  let old: string | undefined;
  try {
    old = await fs.readlink(path.join(dir, '..data'));
  } catch {
    // first projection
  }
  const tmpLink = path.join(dir, '..data_tmp');
  await fs.rm(tmpLink, { force: true });
  await fs.symlink(stamp, tmpLink);
  await fs.rename(tmpLink, path.join(dir, '..data'));
  const tops = new Set(files.map((f) => f.path.split('/')[0]!));
  for (const top of tops) {
    const link = path.join(dir, top);
    const want = path.join('..data', top);
    const have = await fs.readlink(link).catch(() => undefined);
    if (have !== want) {
      await fs.rm(link, { force: true, recursive: true });
      await fs.symlink(want, link);
    }
  }
  for (const e of await fs.readdir(dir)) {
    if (e === '..data' || e === stamp || tops.has(e)) continue;
    if (e.startsWith('..') || (await fs.lstat(path.join(dir, e))).isSymbolicLink()) await fs.rm(path.join(dir, e), { recursive: true, force: true });
  }
  if (old && old !== stamp) await fs.rm(path.join(dir, old), { recursive: true, force: true });
  return true;
}

const HOST_PATH_TYPES = ['', 'DirectoryOrCreate', 'Directory', 'FileOrCreate', 'File', 'Socket', 'CharDevice', 'BlockDevice'];

/**
 * Refuses a subPath that leads out of its volume through a symlink a container made there (the escape of
 * CVE-2017-1002101): the path, resolved now, must stay inside the volume. A subPath that does not exist
 * yet is left to the mount.
 */
export async function checkSubPaths(mounts: ReadonlyArray<{ name: string; subPath?: string }>, volumes: Map<string, PreparedVolume>): Promise<void> {
  for (const m of mounts) {
    const v = m.subPath ? volumes.get(m.name) : undefined;
    if (!v || !m.subPath) continue;
    const base = await fs.realpath(v.hostPath);
    const real = await fs.realpath(path.join(v.hostPath, m.subPath)).catch(() => undefined);
    if (real !== undefined && real !== base && !real.startsWith(`${base}/`)) throw invalid(`subPath "${m.subPath}" of volume "${m.name}" leads out of the volume`);
  }
}

/** Checks (and for the *OrCreate types makes) a hostPath volume's path. */
export async function checkHostPath(p: string, type = ''): Promise<void> {
  if (!path.isAbsolute(p)) throw invalid(`hostPath "${p}" must be absolute`);
  if (!HOST_PATH_TYPES.includes(type)) throw invalid(`unknown hostPath type "${type}"`);
  let st;
  try {
    st = await fs.stat(p);
  } catch (err) {
    if (errno(err) !== 'ENOENT') throw err;
    if (type === 'DirectoryOrCreate') return void (await fs.mkdir(p, { recursive: true, mode: 0o755 }));
    if (type === 'FileOrCreate') return void (await fs.writeFile(p, '', { mode: 0o644 }));
    if (type === '') return; // no check: the runtime creates nothing, so a bind of it fails later
    throw invalid(`hostPath type check failed: ${p} does not exist (type ${type})`);
  }
  const ok: Record<string, boolean> = {
    '': true,
    DirectoryOrCreate: st.isDirectory(),
    Directory: st.isDirectory(),
    FileOrCreate: st.isFile(),
    File: st.isFile(),
    Socket: st.isSocket(),
    CharDevice: st.isCharacterDevice(),
    BlockDevice: st.isBlockDevice(),
  };
  if (!ok[type]) throw invalid(`hostPath type check failed: ${p} is not a ${type}`);
}

/** A projected `serviceAccountToken` source. */
interface TokenSource {
  path: string;
  audience?: string;
  expirationSeconds?: number;
}

/**
 * The pods' ServiceAccount tokens, each asked for once and again when 80% of its life has passed (or
 * after 24 hours), as the kubelet refreshes them.
 */
export class PodTokens {
  private readonly tokens = new Map<string, { token: string; refreshAt: number }>();

  constructor(private readonly source: ObjectSource) {}

  async token(pod: Pod, volume: string, src: TokenSource): Promise<string> {
    const key = `${pod.metadata.uid}/${volume}/${src.path}`;
    const cached = this.tokens.get(key);
    if (cached && Date.now() < cached.refreshAt) return cached.token;
    const seconds = src.expirationSeconds ?? 3600;
    const { token, expirationTimestamp } = await this.source.serviceAccountToken(pod, { audience: src.audience || undefined, expirationSeconds: seconds });
    const now = Date.now();
    const life = Math.max(0, Date.parse(expirationTimestamp) - now);
    this.tokens.set(key, { token, refreshAt: now + Math.min(life * 0.8, 24 * 3600_000) });
    return token;
  }

  /** Forgets the tokens of a pod that is gone. */
  forget(uid: string): void {
    for (const k of this.tokens.keys()) if (k.startsWith(`${uid}/`)) this.tokens.delete(k);
  }
}

/** The volumes of pods on this machine. */
export class PodVolumes {
  private readonly tokens: PodTokens;

  constructor(
    private readonly root: string,
    private readonly host: Host,
    private readonly source: ObjectSource,
  ) {
    this.tokens = new PodTokens(source);
  }

  podDir(uid: string): string {
    return path.join(this.root, uid);
  }

  private volumeDir(uid: string, kind: string, name: string): string {
    return path.join(this.podDir(uid), 'volumes', kind, name);
  }

  /** Makes (or refreshes) every volume of `pod`; returns each one's host path by volume name. */
  async setUp(pod: Pod, ctx: DownwardContext): Promise<Map<string, PreparedVolume>> {
    const uid = pod.metadata.uid!;
    const out = new Map<string, PreparedVolume>();
    const mounted = new Set(await this.host.mounts());
    for (const v of pod.spec.volumes ?? []) out.set(v.name, await this.setUpOne(pod, uid, v, ctx, mounted));
    return out;
  }

  private async ensureTmpfs(dir: string, mounted: Set<string>, sizeBytes?: number): Promise<void> {
    await fs.mkdir(dir, { recursive: true, mode: 0o755 });
    if (mounted.has(dir)) return;
    const opts = ['mode=0755', ...(sizeBytes ? [`size=${Math.max(4096, Math.floor(sizeBytes))}`] : [])];
    await this.host.run('mount', ['-t', 'tmpfs', '-o', opts.join(','), 'tmpfs', dir]);
    mounted.add(dir);
  }

  private async setUpOne(pod: Pod, uid: string, v: Volume, ctx: DownwardContext, mounted: Set<string>): Promise<PreparedVolume> {
    if (v.hostPath) {
      await checkHostPath(v.hostPath.path, v.hostPath.type ?? '');
      return { hostPath: v.hostPath.path, readOnly: false };
    }
    if (v.emptyDir) {
      const dir = this.volumeDir(uid, 'empty-dir', v.name);
      if (v.emptyDir.medium === 'Memory') await this.ensureTmpfs(dir, mounted, parseQuantity(v.emptyDir.sizeLimit));
      else await fs.mkdir(dir, { recursive: true, mode: 0o777 });
      await fs.chmod(dir, 0o777);
      return { hostPath: dir, readOnly: false };
    }
    const projected = await this.projectedFiles(pod, v, ctx);
    if (!projected) throw invalid(`volume "${v.name}": unsupported volume type (supported: emptyDir, hostPath, configMap, secret, downwardAPI, projected)`);
    const dir = this.volumeDir(uid, projected.secret ? 'secret' : 'projected', v.name);
    if (projected.secret) await this.ensureTmpfs(dir, mounted);
    await writeProjection(dir, projected.files);
    return { hostPath: dir, readOnly: true };
  }

  /** The files of a configMap, secret, downwardAPI or projected volume; undefined for other kinds. */
  private async projectedFiles(pod: Pod, v: Volume, ctx: DownwardContext): Promise<{ files: ProjectedFile[]; secret: boolean } | undefined> {
    if (v.configMap) return { files: await this.configMapFiles(pod, v.configMap, v.configMap.defaultMode ?? 0o644), secret: false };
    if (v.secret) return { files: await this.secretFiles(pod, v.secret, v.secret.defaultMode ?? 0o644), secret: true };
    if (v.downwardAPI) return { files: downwardFiles(pod, v.downwardAPI.items as DownwardItem[] | undefined, v.downwardAPI.defaultMode ?? 0o644, ctx), secret: false };
    if (v.projected) {
      const mode = v.projected.defaultMode ?? 0o644;
      const files: ProjectedFile[] = [];
      let secret = false;
      for (const s of v.projected.sources ?? []) {
        if (s.configMap) files.push(...(await this.configMapFiles(pod, s.configMap as ConfigMapSource, mode)));
        else if (s.secret) {
          secret = true;
          files.push(...(await this.secretFiles(pod, { ...(s.secret as ConfigMapSource), secretName: (s.secret as ConfigMapSource).name }, mode)));
        } else if (s.downwardAPI) files.push(...downwardFiles(pod, (s.downwardAPI as { items?: DownwardItem[] }).items, mode, ctx));
        else if (s.serviceAccountToken) {
          secret = true;
          const t = s.serviceAccountToken as TokenSource;
          files.push({ path: checkItemPath(t.path), data: Buffer.from(await this.tokens.token(pod, v.name, t)), mode });
        } else throw invalid(`volume "${v.name}": unsupported projected source ${Object.keys(s).join(', ')}`);
      }
      return { files, secret };
    }
    return undefined;
  }

  private async configMapFiles(pod: Pod, src: ConfigMapSource, defaultMode: number): Promise<ProjectedFile[]> {
    const ns = pod.metadata.namespace ?? 'default';
    const cm = await this.source.configMap(ns, src.name ?? '');
    if (!cm) {
      if (src.optional) return [];
      throw invalid(`configmap "${src.name}" not found`);
    }
    const data = new Map<string, Buffer>();
    for (const k of Object.keys(cm.data ?? {})) data.set(k, Buffer.from(configMapValue(cm, k)!));
    for (const [k, b] of Object.entries(cm.binaryData ?? {})) data.set(k, Buffer.from(b, 'base64'));
    return projectKeys(data, src.items, src.mode ?? defaultMode, `ConfigMap ${ns}/${src.name}`, src.optional);
  }

  private async secretFiles(pod: Pod, src: ConfigMapSource & { secretName?: string }, defaultMode: number): Promise<ProjectedFile[]> {
    const ns = pod.metadata.namespace ?? 'default';
    const name = src.secretName ?? '';
    const s = await this.source.secret(ns, name);
    if (!s) {
      if (src.optional) return [];
      throw invalid(`secret "${name}" not found`);
    }
    const data = new Map(Object.entries(s.data ?? {}).map(([k, b]) => [k, Buffer.from(b, 'base64')] as const));
    return projectKeys(data, src.items, src.mode ?? defaultMode, `Secret ${ns}/${name}`, src.optional);
  }

  /** Unmounts every tmpfs of the pod and removes its directory. */
  async tearDown(uid: string): Promise<void> {
    this.tokens.forget(uid);
    const dir = this.podDir(uid);
    const mounts = (await this.host.mounts()).filter((m) => m.startsWith(dir + '/')).sort((a, b) => b.length - a.length);
    for (const m of mounts) await this.host.unmount(m);
    await fs.rm(dir, { recursive: true, force: true });
  }

  /** Pod uids that have a directory here (for clean-up of pods that are gone). */
  async podUids(): Promise<string[]> {
    try {
      return await fs.readdir(this.root);
    } catch (err) {
      if (errno(err) === 'ENOENT') return [];
      throw err;
    }
  }
}

interface ConfigMapSource {
  name?: string;
  items?: KeyToPath[];
  optional?: boolean;
  defaultMode?: number;
  mode?: number;
}

interface DownwardItem {
  path: string;
  fieldRef?: { fieldPath: string };
  resourceFieldRef?: unknown;
  mode?: number;
}

function downwardFiles(pod: Pod, items: DownwardItem[] | undefined, defaultMode: number, ctx: DownwardContext): ProjectedFile[] {
  const out: ProjectedFile[] = [];
  for (const it of items ?? []) {
    if (!it.fieldRef) throw invalid(`downwardAPI item "${it.path}": only fieldRef is supported`);
    out.push({ path: checkItemPath(it.path), data: Buffer.from(fieldPathValue(pod, it.fieldRef.fieldPath, ctx)), mode: it.mode ?? defaultMode });
  }
  return out;
}
