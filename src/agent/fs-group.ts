/**
 * fsGroup on a pod's emptyDir volumes, as the kubelet sets volume ownership: the directory and what is in
 * it become group-owned by fsGroup (its host id inside a pod's user namespace), group read-write, and
 * directories setgid, so what the containers create there keeps the group. It is applied when the
 * volume's root does not have it yet (a fresh volume): fsGroupChangePolicy Always and OnRootMismatch act
 * alike here, since nothing but the pod's containers writes into an emptyDir.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Pod } from '../api/core/v1/pod-types.js';
import type { IdMapping } from '../runtime/driver.js';
import type { PreparedVolume } from './volumes.js';

async function setOwnership(p: string, gid: number): Promise<void> {
  const st = await fs.lstat(p);
  if (st.isSymbolicLink()) return;
  await fs.lchown(p, -1, gid);
  const dir = st.isDirectory();
  const mode = (st.mode & 0o7777) | 0o060 | (dir ? 0o2010 : 0);
  if (mode !== (st.mode & 0o7777)) await fs.chmod(p, mode);
  if (dir) for (const e of await fs.readdir(p)) await setOwnership(path.join(p, e), gid);
}

/** Makes the pod's emptyDir volumes group-owned by its fsGroup (nothing without one). */
export async function applyFsGroup(pod: Pod, volumes: Map<string, PreparedVolume>, idMapping?: IdMapping): Promise<void> {
  const fsGroup = pod.spec.securityContext?.fsGroup;
  if (fsGroup === undefined) return;
  const gid = (pod.spec.hostUsers === false ? (idMapping?.hostId ?? 0) : 0) + fsGroup;
  for (const v of pod.spec.volumes ?? []) {
    const dir = v.emptyDir ? volumes.get(v.name)?.hostPath : undefined;
    if (!dir) continue;
    const st = await fs.stat(dir);
    if (st.gid !== gid || (st.mode & 0o2000) === 0) await setOwnership(dir, gid);
  }
}
