/**
 * `nubis ctr run` and `nubis ctr exec`.
 *
 * run: create + start. With -d it prints the ID. In the foreground it streams the container's log (the
 * file conmon writes) until the exit file appears, forwarding SIGINT/SIGTERM/SIGHUP to the container, and
 * exits with the container's code. With -i and/or -t it attaches to conmon's attach socket before the start
 * instead, puts the local terminal in raw mode (restored after) and relays resizes; ctrl-p ctrl-q detaches
 * and leaves the container running. --rm removes the container after it exits: the CLI does it in the
 * foreground; for -d --rm conmon runs `nubis ctr rm` when the container exits. If the CLI dies while a
 * foreground --rm container runs, the container keeps running and stays listed after it exits.
 *
 * exec: `runc exec` in the foreground with the container's own process settings; with -t runc gives the
 * process a pty and puts our terminal in raw mode itself. The exit code is the process's.
 */
import type { Command } from 'commander';
import { invalid, isNubisError } from '../../lib/errors.js';
import type { WorkloadSpec } from '../../runtime/driver.js';
import type { RuntimeDriver } from '../../runtime/driver.js';
import { parseCpus, parseMemory } from '../../runtime/oci/spec.js';
import { trace } from '../../lib/trace.js';
import type { CliContext } from '../context.js';
import { containerDriver } from './container-driver.js';

interface RunFlags {
  detach?: boolean;
  rm?: boolean;
  interactive?: boolean;
  tty?: boolean;
  name?: string;
  env: string[];
  memory?: string;
  cpus?: string;
  pidsLimit?: string;
  readOnly?: boolean;
  user?: string;
  workdir?: string;
  entrypoint?: string;
  runtime?: string;
}

const collect = (v: string, acc: string[]) => [...acc, v];

function parsePids(text: string): number {
  const n = Number(text);
  if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(n)) throw invalid(`invalid --pids-limit "${text}": expected an integer`);
  return n;
}

/** The workload spec from run's flags; bad values fail here, before anything exists. */
export function runSpec(image: string, command: string[], f: RunFlags): WorkloadSpec {
  const pids = f.pidsLimit === undefined ? undefined : parsePids(f.pidsLimit);
  return {
    image,
    name: f.name,
    command: command.length > 0 ? command : undefined,
    entrypoint: f.entrypoint === undefined ? undefined : f.entrypoint === '' ? [] : [f.entrypoint],
    env: f.env.map((e) => (e.includes('=') ? e : `${e}=${process.env[e] ?? ''}`)),
    workdir: f.workdir,
    user: f.user,
    tty: Boolean(f.tty),
    stdin: Boolean(f.interactive),
    readOnlyRootfs: Boolean(f.readOnly),
    // In the foreground the CLI removes the container itself; only a detached one needs conmon's help.
    autoRemove: Boolean(f.rm && f.detach),
    resources: {
      memoryBytes: f.memory === undefined ? undefined : parseMemory(f.memory),
      cpus: f.cpus === undefined ? undefined : parseCpus(f.cpus),
      // Docker treats 0 and -1 as "unlimited".
      pidsLimit: pids === undefined || pids <= 0 ? undefined : pids,
    },
  };
}

export function registerRunCommand(ctr: Command, ctx: CliContext): void {
  ctr
    .command('run')
    .description('create and start a container')
    .argument('<image>', 'image reference (busybox is built in)')
    .argument('[command...]', 'command and arguments (default: the image\'s)')
    .option('-d, --detach', 'run in the background and print the container ID')
    .option('--rm', 'remove the container when it exits')
    .option('-i, --interactive', 'keep stdin open and connected')
    .option('-t, --tty', 'allocate a terminal')
    .option('--name <name>', 'container name (unique)')
    .option('-e, --env <KEY=VALUE>', 'set an environment variable (repeatable)', collect, [] as string[])
    .option('-m, --memory <size>', 'memory limit, e.g. 512m')
    .option('--cpus <n>', 'CPU limit, e.g. 1.5')
    .option('--pids-limit <n>', 'maximum number of processes')
    .option('--read-only', 'mount the root filesystem read-only')
    .option('-u, --user <user>', 'user[:group] or uid[:gid] inside the container')
    .option('-w, --workdir <dir>', 'working directory inside the container')
    .option('--entrypoint <cmd>', 'override the image\'s entrypoint')
    .option('--runtime <name>', 'runc (default), crun or a path to an OCI runtime; microvm: a micro-VM with its own kernel')
    .passThroughOptions()
    .action(async (image: string, command: string[], f: RunFlags) => {
      if (f.detach && f.interactive && !f.tty) throw invalid('-d cannot be combined with -i without -t');
      const spec = runSpec(image, command, f);
      const driver = await containerDriver(ctx, f.runtime);
      trace('driver modules loaded');
      const info = await driver.create(spec);
      if (f.detach) {
        await driver.start(info.id);
        ctx.stdout.write(`${info.id}\n`);
        return;
      }
      const code = f.interactive || f.tty ? await runAttached(ctx, driver, info.id, Boolean(f.tty)) : await runForeground(ctx, driver, info.id);
      if (code === undefined) return; // detached by the user
      if (f.rm) await driver.remove(info.id, { force: true }).catch(ignoreNotFound);
      trace('run done');
      ctx.exitCode = code;
    });

  ctr
    .command('exec')
    .description('run a command in a running container')
    .argument('<container>', 'container name or ID')
    .argument('<command...>', 'command and arguments')
    .option('-i, --interactive', 'connect stdin')
    .option('-t, --tty', 'allocate a terminal')
    .option('-e, --env <KEY=VALUE>', 'set an environment variable (repeatable)', collect, [] as string[])
    .option('-u, --user <user>', 'user[:group] or uid[:gid]')
    .option('-w, --workdir <dir>', 'working directory')
    .passThroughOptions()
    .action(async (ref: string, command: string[], f: { interactive?: boolean; tty?: boolean; env: string[]; user?: string; workdir?: string }) => {
      const driver = await containerDriver(ctx);
      ctx.exitCode = await driver.exec(ref, {
        command,
        tty: Boolean(f.tty),
        env: f.env,
        user: f.user,
        workdir: f.workdir,
        stdio: [f.interactive ? 0 : 'ignore', 1, 2],
      });
    });
}

function ignoreNotFound(err: unknown): void {
  if (!isNubisError(err, 'NotFound')) throw err;
}

/** Starts the container and streams its log until it exits; resolves with its exit code. */
async function runForeground(ctx: CliContext, driver: RuntimeDriver, id: string): Promise<number> {
  const forward = (sig: NodeJS.Signals) => void driver.kill(id, sig).catch(() => {});
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, forward);
  try {
    await driver.start(id);
    trace('started');
    for await (const e of driver.logs(id, { follow: true })) {
      const out = e.stream === 'stderr' ? ctx.stderr : ctx.stdout;
      out.write(e.partial ? e.text : `${e.text}\n`);
    }
    trace('log drained');
    const code = await driver.wait(id);
    trace('exit code read');
    return code;
  } finally {
    for (const s of signals) process.removeListener(s, forward);
  }
}

/** Attaches (before the start, so no output is lost), starts, relays until the end; undefined if detached. */
async function runAttached(ctx: CliContext, driver: RuntimeDriver, id: string, tty: boolean): Promise<number | undefined> {
  const stdin = process.stdin;
  const raw = tty && stdin.isTTY;
  const session = await driver.attach(id, { stdin, stdout: ctx.stdout, stderr: ctx.stderr });
  const out = process.stdout;
  const resize = () => out.isTTY && session.resize(out.rows, out.columns);
  if (raw) stdin.setRawMode(true);
  try {
    if (tty) {
      resize();
      out.on('resize', resize);
    }
    await driver.start(id);
    const end = await session.done;
    if (end === 'detached') {
      if (raw) stdin.setRawMode(false);
      ctx.stderr.write(`\ndetached from ${id.slice(0, 12)}: it keeps running\n`);
      return undefined;
    }
    return await driver.wait(id);
  } finally {
    out.removeListener('resize', resize);
    if (raw) stdin.setRawMode(false);
    stdin.pause();
    stdin.unref?.();
  }
}
