/**
 * The on-disk records of OCI containers. Everything a new process needs to find and control a container
 * lives under <data>/containers:
 *
 *   <data>/containers/<id>/            one dir per container (id: 64 hex characters)
 *     record.json                      what it was made from (ContainerRecord), written once at create
 *     bundle/config.json               the OCI runtime spec; bundle/ also holds conmon's attach socket,
 *                                      ctl and winsz fifos and the container pidfile
 *     bundle/rootfs/                   the overlay mount (lowerdirs from the image, upper/ and work/ below)
 *     upper/ work/                     the container's own writable layer
 *     ctr.log                          conmon's k8s-file log
 *     exits/<id>                       conmon's exit file: the exit code, written when the container ends
 *     oom                              written by conmon when the OOM killer struck
 *     conmon.pid                       the conmon that supervises the container
 *     started                          touched after `runc start`; its mtime is StartedAt
 *   <data>/containers/names/<name>     the name reservation (O_EXCL create), holds the id
 *   <data>/containers/.<id>.lock       serializes start/stop/remove of one container across processes
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { alreadyExists, errno, internal, invalid, isNubisError, notFound } from '../../lib/errors.js';
import { readJson } from '../../lib/files.js';
import type { WorkloadInfo, WorkloadSpec, WorkloadState } from '../driver.js';

/** What a container was made from; written once when it is created and never changed. */
export interface ContainerRecord {
  version: 1;
  id: string;
  name: string;
  /** ISO time of creation. */
  created: string;
  image: string;
  imageDigest: string;
  imageId: string;
  spec: WorkloadSpec;
  /** Absolute path of the OCI runtime binary (runc or crun) and its --root. */
  runtime: string;
  runtimeRoot: string;
  /** The argv of the main process. */
  command: string[];
  env: string[];
  workdir: string;
  user: string;
  stopSignal: string;
  tty: boolean;
  /** runc's cgroupsPath, e.g. /nubis/<id>. */
  cgroupsPath: string;
  lowerDirs: string[];
}

/** Paths of one container. */
export interface ContainerPaths {
  dir: string;
  record: string;
  bundle: string;
  config: string;
  rootfs: string;
  upper: string;
  work: string;
  log: string;
  exitDir: string;
  exitFile: string;
  oomFile: string;
  conmonPid: string;
  pidFile: string;
  started: string;
  attach: string;
  ctl: string;
  winsz: string;
  lock: string;
}

const ID_RE = /^[0-9a-f]{64}$/;
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;

/** A fresh container ID: 64 hex characters (the first 12 are shown). */
export function newContainerId(): string {
  return randomBytes(32).toString('hex');
}

export function shortId(id: string): string {
  return id.slice(0, 12);
}

export function checkName(name: string): string {
  if (!NAME_RE.test(name)) {
    throw invalid(`invalid container name "${name}": use letters, digits, '_', '.' and '-' (at most 128)`);
  }
  return name;
}

const ADJECTIVES = [
  'brave', 'calm', 'clever', 'eager', 'fancy', 'gentle', 'happy', 'jolly', 'keen', 'lucid', 'merry', 'nimble',
  'proud', 'quick', 'quiet', 'serene', 'sharp', 'steady', 'sunny', 'swift', 'tender', 'upbeat', 'vivid', 'witty',
];
const NOUNS = [
  'agnesi', 'babbage', 'bohr', 'curie', 'darwin', 'euler', 'faraday', 'gauss', 'hopper', 'hypatia', 'kepler',
  'lamarr', 'lovelace', 'maxwell', 'noether', 'pascal', 'planck', 'ramanujan', 'shannon', 'tesla', 'turing',
];

/** A random docker-like name such as "quiet_noether". */
export function randomName(): string {
  const pick = <T>(a: T[]): T => a[randomBytes(1)[0]! % a.length]!;
  return `${pick(ADJECTIVES)}_${pick(NOUNS)}`;
}

/** The containers of one data dir on disk. */
export class ContainerStore {
  readonly root: string;
  readonly namesDir: string;

  constructor(dataDir: string) {
    this.root = path.join(dataDir, 'containers');
    this.namesDir = path.join(this.root, 'names');
  }

  paths(id: string): ContainerPaths {
    const dir = path.join(this.root, id);
    const bundle = path.join(dir, 'bundle');
    const exitDir = path.join(dir, 'exits');
    return {
      dir,
      record: path.join(dir, 'record.json'),
      bundle,
      config: path.join(bundle, 'config.json'),
      rootfs: path.join(bundle, 'rootfs'),
      upper: path.join(dir, 'upper'),
      work: path.join(dir, 'work'),
      log: path.join(dir, 'ctr.log'),
      exitDir,
      exitFile: path.join(exitDir, id),
      oomFile: path.join(dir, 'oom'),
      conmonPid: path.join(dir, 'conmon.pid'),
      pidFile: path.join(bundle, 'pidfile'),
      started: path.join(dir, 'started'),
      attach: path.join(bundle, 'attach'),
      ctl: path.join(bundle, 'ctl'),
      winsz: path.join(bundle, 'winsz'),
      lock: path.join(this.root, `.${id}.lock`),
    };
  }

  /**
   * Reserves `name` for `id` atomically (O_EXCL), so two processes cannot take the same name. A name held
   * by a container whose dir is gone (a crash between steps) is taken over.
   */
  async reserveName(name: string, id: string): Promise<void> {
    await fs.mkdir(this.namesDir, { recursive: true });
    const file = path.join(this.namesDir, name);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await fs.writeFile(file, id, { flag: 'wx' });
        return;
      } catch (err) {
        if (errno(err) !== 'EEXIST') throw err;
        const holder = (await fs.readFile(file, 'utf8').catch(() => '')).trim();
        if (holder && ID_RE.test(holder) && (await dirExists(path.join(this.root, holder)))) break;
        await fs.rm(file, { force: true });
      }
    }
    throw alreadyExists(`the container name "${name}" is already in use: remove that container or pick another name`);
  }

  /** Frees `name` if `id` holds it. */
  /** Reserves `wanted` for `id`, or a random free name when none is wanted; resolves with the name. */
  async reserveFreeName(id: string, wanted: string | undefined): Promise<string> {
    if (wanted !== undefined) {
      await this.reserveName(wanted, id);
      return wanted;
    }
    for (let i = 0; ; i++) {
      const candidate = i < 5 ? randomName() : `${randomName()}_${randomBytes(2).toString('hex')}`;
      try {
        await this.reserveName(candidate, id);
        return candidate;
      } catch (err) {
        if (!isNubisError(err, 'AlreadyExists') || i > 8) throw err;
      }
    }
  }

  async releaseName(name: string, id: string): Promise<void> {
    const file = path.join(this.namesDir, name);
    const holder = (await fs.readFile(file, 'utf8').catch(() => '')).trim();
    if (holder === id) await fs.rm(file, { force: true });
  }

  async nameOwner(name: string): Promise<string | undefined> {
    const holder = (await fs.readFile(path.join(this.namesDir, name), 'utf8').catch(() => '')).trim();
    return ID_RE.test(holder) ? holder : undefined;
  }

  /** IDs of all containers on disk, complete or not. */
  async ids(): Promise<string[]> {
    try {
      return (await fs.readdir(this.root)).filter((e) => ID_RE.test(e));
    } catch (err) {
      if (errno(err) === 'ENOENT') return [];
      throw internal(`cannot list ${this.root}`, err);
    }
  }

  /** The record of `id`, or undefined when it does not exist (or is not complete yet). */
  async read(id: string): Promise<ContainerRecord | undefined> {
    try {
      return await readJson<ContainerRecord>(this.paths(id).record);
    } catch (err) {
      throw internal(`cannot read the record of container ${shortId(id)}`, err);
    }
  }

  /** Finds a container by full ID, name or unique ID prefix. */
  async resolve(ref: string): Promise<ContainerRecord> {
    if (ID_RE.test(ref)) {
      const rec = await this.read(ref);
      if (rec) return rec;
    }
    if (NAME_RE.test(ref)) {
      const owner = await this.nameOwner(ref);
      const rec = owner && (await this.read(owner));
      if (rec) return rec;
    }
    if (/^[0-9a-f]{1,63}$/.test(ref)) {
      const matches = (await this.ids()).filter((id) => id.startsWith(ref));
      if (matches.length > 1) throw invalid(`container ID prefix "${ref}" is ambiguous: give more characters`);
      const rec = matches[0] && (await this.read(matches[0]));
      if (rec) return rec;
    }
    throw notFound(`no such container: ${ref}`);
  }
}

async function dirExists(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** Manifest digests of the images that containers of `dataDir` use (they must not be removed). */
export async function imageDigestsInUse(dataDir: string): Promise<string[]> {
  const store = new ContainerStore(dataDir);
  const recs = await Promise.all((await store.ids()).map((id) => store.read(id).catch(() => undefined)));
  return [...new Set(recs.flatMap((r) => (r ? [r.imageDigest] : [])))];
}

/** Where a workload's log and root are, for its WorkloadInfo. */
export interface WorkloadFiles {
  log: string;
  rootfs: string;
  upper: string;
  work: string;
}

/** The WorkloadInfo of a record (the contract's view), for driver `driver`. */
export function recordInfo(driver: string, rec: ContainerRecord, state: WorkloadState, files: WorkloadFiles): WorkloadInfo {
  return {
    driver,
    id: rec.id,
    name: rec.name,
    image: rec.image,
    imageDigest: rec.imageDigest,
    command: rec.command,
    created: new Date(rec.created),
    spec: rec.spec,
    state,
    logPath: files.log,
    rootfs: { path: files.rootfs, lowerDirs: rec.lowerDirs, upperDir: files.upper, workDir: files.work },
    config: { env: rec.env, workdir: rec.workdir, user: rec.user, stopSignal: rec.stopSignal, tty: rec.tty },
  };
}

/** The fields every driver's record takes from the workload's id, name, spec and image. */
export function recordBase(id: string, name: string, spec: WorkloadSpec, image: { digest: string; configDigest: string }) {
  return {
    version: 1 as const,
    id,
    name,
    created: new Date().toISOString(),
    image: spec.image,
    imageDigest: image.digest,
    imageId: image.configDigest,
    spec: { ...spec, name },
  };
}
