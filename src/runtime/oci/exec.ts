/**
 * The process spec of an exec: the container's own process (user, env, cwd, capabilities, rlimits,
 * no_new_privs, as written in config.json) with the new command, terminal and overrides.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Host } from '../../host/host.js';
import { internal } from '../../lib/errors.js';
import type { ExecRequest } from '../driver.js';
import type { ContainerPaths } from './container-store.js';
import type { OciRuntime } from './runc.js';
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

/** Runs an exec through the OCI runtime with the request's stdio; resolves with its exit code. */
export async function runExec(host: Host, rt: OciRuntime, id: string, paths: ContainerPaths, req: ExecRequest): Promise<number> {
  const processSpec = await execProcessSpec(paths, req);
  const file = path.join(paths.dir, `exec-${randomBytes(6).toString('hex')}.json`);
  await fs.writeFile(file, JSON.stringify(processSpec));
  try {
    // runc gives an exec a terminal only from its own controlling terminal; a caller with pipes (the
    // agent serving `kubectl exec -it`) gets one from `script`, which runs runc on a fresh pty.
    const argv = [rt.binary, ...rt.execArgs(id, file, Boolean(req.tty))];
    const viaScript = Boolean(req.tty) && req.stdio?.includes('pipe');
    // runc sizes the container's terminal from its own: script's pty takes the client's size first.
    const sized = req.size ? `stty rows ${Math.trunc(req.size.rows)} cols ${Math.trunc(req.size.columns)} 2>/dev/null; exec ` : 'exec ';
    const [cmd, ...args] = viaScript ? ['script', '-qfec', sized + argv.map(shellQuote).join(' '), '/dev/null'] : argv;
    const child = host.spawn(cmd!, args, { stdio: req.stdio ?? ['inherit', 'inherit', 'inherit'] });
    req.onStart?.({
      stdin: (child.stdio[0] as NodeJS.WritableStream | null) ?? null,
      stdout: (child.stdio[1] as NodeJS.ReadableStream | null) ?? null,
      stderr: (child.stdio[2] as NodeJS.ReadableStream | null) ?? null,
      kill: (sig: NodeJS.Signals = 'SIGKILL') => {
        try {
          process.kill(child.pid, sig);
        } catch {
          // already gone
        }
      },
    });
    return await child.exited;
  } finally {
    await fs.rm(file, { force: true });
  }
}

function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
