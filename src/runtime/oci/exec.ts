/**
 * The process spec of an exec: the container's own process (user, env, cwd, capabilities, rlimits,
 * no_new_privs, as written in config.json) with the new command, terminal and overrides.
 */
import { promises as fs } from 'node:fs';
import { internal } from '../../lib/errors.js';
import type { ExecRequest } from '../driver.js';
import type { ContainerPaths } from './container-store.js';
import type { OciProcess, OciSpec } from './spec.js';
import { resolveUser } from './user.js';

export async function execProcessSpec(paths: ContainerPaths, req: ExecRequest): Promise<OciProcess> {
  let spec: OciSpec;
  try {
    spec = JSON.parse(await fs.readFile(paths.config, 'utf8')) as OciSpec;
  } catch (err) {
    throw internal('cannot read the container spec', err);
  }
  const env = new Map<string, string>();
  for (const e of [...spec.process.env, ...(req.env ?? [])]) {
    const eq = e.indexOf('=');
    if (eq > 0) env.set(e.slice(0, eq), e.slice(eq + 1));
  }
  if (req.tty && !env.has('TERM')) env.set('TERM', 'xterm');
  let user = spec.process.user;
  if (req.user !== undefined) {
    const u = await resolveUser(paths.rootfs, req.user);
    user = { uid: u.uid, gid: u.gid, additionalGids: u.additionalGids };
  }
  return {
    ...spec.process,
    terminal: Boolean(req.tty),
    args: req.command,
    env: [...env].map(([k, v]) => `${k}=${v}`),
    cwd: req.workdir ?? spec.process.cwd,
    user,
  };
}
