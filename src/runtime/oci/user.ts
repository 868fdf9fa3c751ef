/**
 * Resolving a container's --user ("uid", "uid:gid", "name", "name:group", …) against the image's own
 * /etc/passwd and /etc/group, with Docker's rules: a numeric uid needs no passwd entry (gid 0 then), a name
 * must exist; supplementary groups come from /etc/group when no group was given explicitly.
 *
 * The rootfs is untrusted: its /etc/passwd may be a symlink aimed at the host's files, a FIFO, or huge.
 * Paths are resolved with every symlink kept inside the rootfs, and only small regular files are read.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { errno, internal, invalid } from '../../lib/errors.js';

/** Who the container's first process runs as. */
export interface ResolvedUser {
  uid: number;
  gid: number;
  /** Supplementary groups, the primary gid first (as containerd and Docker pass them). */
  additionalGids: number[];
  /** Home directory from passwd ("/" when unknown): becomes HOME unless the env sets it. */
  home: string;
  /** The passwd name when the user was found there. */
  name?: string;
}

const MAX_SYMLINKS = 40;
const MAX_ID = 2 ** 31 - 1;
const MAX_DB_BYTES = 4 * 1024 * 1024;

/**
 * The host path of `p` (absolute, as seen inside the container) under `root`, following symlinks as the
 * container would: ".." and absolute link targets never leave `root`. Missing components are allowed.
 */
export async function resolveInRoot(root: string, p: string): Promise<string> {
  const pending = p.split('/').filter((c) => c !== '' && c !== '.');
  const done: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const comp = pending.shift()!;
    if (comp === '..') {
      done.pop();
      continue;
    }
    const host = path.join(root, ...done, comp);
    let st;
    try {
      st = await fs.lstat(host);
    } catch (err) {
      if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') {
        // Nothing below exists, so no more symlinks: finish lexically.
        done.push(comp);
        for (const rest of pending) {
          if (rest === '..') done.pop();
          else done.push(rest);
        }
        break;
      }
      throw internal(`cannot inspect ${host}`, err);
    }
    if (!st.isSymbolicLink()) {
      done.push(comp);
      continue;
    }
    if (++links > MAX_SYMLINKS) throw invalid(`too many symlinks resolving ${p} in the image`);
    const target = await fs.readlink(host);
    if (target.startsWith('/')) done.length = 0;
    pending.unshift(...target.split('/').filter((c) => c !== '' && c !== '.'));
  }
  return path.join(root, ...done);
}

/** Reads a small regular file inside the rootfs; undefined when it does not exist. */
export async function readFileInRoot(root: string, p: string): Promise<string | undefined> {
  const host = await resolveInRoot(root, p);
  let st;
  try {
    st = await fs.stat(host);
  } catch (err) {
    if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') return undefined;
    throw internal(`cannot read ${p} in the image`, err);
  }
  if (!st.isFile()) throw invalid(`${p} in the image is not a regular file`);
  if (st.size > MAX_DB_BYTES) throw invalid(`${p} in the image is too large (${st.size} bytes)`);
  return fs.readFile(host, 'utf8');
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

function parseId(text: string): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return n <= MAX_ID ? n : undefined;
}

function parseDb<T>(text: string | undefined, minFields: number, make: (f: string[]) => T | undefined): T[] {
  const out: T[] = [];
  for (const line of (text ?? '').split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const fields = line.split(':');
    if (fields.length < minFields) continue;
    const entry = make(fields);
    if (entry) out.push(entry);
  }
  return out;
}

/** Parses /etc/passwd text; malformed lines are skipped as libc does. */
export function parsePasswd(text: string | undefined): PasswdEntry[] {
  return parseDb(text, 7, (f) => {
    const uid = parseId(f[2]!);
    const gid = parseId(f[3]!);
    return uid === undefined || gid === undefined ? undefined : { name: f[0]!, uid, gid, home: f[5] || '/' };
  });
}

/** Parses /etc/group text; malformed lines are skipped. */
export function parseGroup(text: string | undefined): GroupEntry[] {
  return parseDb(text, 4, (f) => {
    const gid = parseId(f[2]!);
    const members = f[3]!.split(',').map((m) => m.trim()).filter(Boolean);
    return gid === undefined ? undefined : { name: f[0]!, gid, members };
  });
}

/**
 * Resolves `spec` ("" or undefined means root) inside `rootfs`. Fails with Invalid for a name that is not
 * in the image's /etc/passwd, a group name not in /etc/group, or an id out of range.
 */
export async function resolveUser(rootfs: string, spec: string | undefined): Promise<ResolvedUser> {
  const text = (spec ?? '').trim();
  const colon = text.indexOf(':');
  const userArg = colon < 0 ? text : text.slice(0, colon);
  const groupArg = colon < 0 ? '' : text.slice(colon + 1);
  if (colon >= 0 && (userArg === '' || groupArg === '')) throw invalid(`invalid user "${text}": expected user[:group]`);

  const passwd = parsePasswd(await readFileInRoot(rootfs, '/etc/passwd'));
  const wantedUid = userArg === '' ? 0 : parseId(userArg);
  if (userArg !== '' && /^\d+$/.test(userArg) && wantedUid === undefined) throw invalid(`user id ${userArg} is out of range`);

  let entry: PasswdEntry | undefined;
  if (wantedUid !== undefined) {
    entry = passwd.find((e) => e.uid === wantedUid);
  } else {
    entry = passwd.find((e) => e.name === userArg);
    if (!entry) throw invalid(`user "${userArg}" not found in the image's /etc/passwd`);
  }
  const uid = wantedUid ?? entry!.uid;
  let gid = entry?.gid ?? 0;
  const home = entry?.home ?? '/';

  let supplementary: number[] = [];
  if (groupArg !== '' || entry) {
    const groups = parseGroup(await readFileInRoot(rootfs, '/etc/group'));
    if (groupArg !== '') {
      const numeric = parseId(groupArg);
      if (/^\d+$/.test(groupArg) && numeric === undefined) throw invalid(`group id ${groupArg} is out of range`);
      if (numeric !== undefined) gid = numeric;
      else {
        const g = groups.find((x) => x.name === groupArg);
        if (!g) throw invalid(`group "${groupArg}" not found in the image's /etc/group`);
        gid = g.gid;
      }
    } else {
      supplementary = groups.filter((g) => g.members.includes(entry!.name)).map((g) => g.gid);
    }
  }
  const additionalGids = [...new Set([gid, ...supplementary])];
  return { uid, gid, additionalGids, home, ...(entry ? { name: entry.name } : {}) };
}
