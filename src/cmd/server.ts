/**
 * `nubis server`: the API server plus the scheduler and controllers, which run only while this server
 * leads (several servers may share one etcd). Prints the join command for agents. Wired here in cmd/,
 * not in cli/: the CLI reaches servers only through client/, while cmd/ is where processes are
 * assembled (DESIGN.md layering). `nubis server token create` adds a join token.
 */
import { CommanderError, Option } from 'commander';
import { resolveDataDir } from '../lib/data-dir.js';
import { isNubisError, messageOf } from '../lib/errors.js';
import { setLogLevel, type Level } from '../lib/log.js';
import { createJoinToken, joinTokenFile } from './join.js';
import { aborted, closeWithin, clusterNetwork, controlPlaneTiming, daemonProgram, parseDuration, SHUTDOWN_GRACE_MS, stopSignal, withControlPlaneFlags } from './process-flags.js';
import { startServerProcess } from './server-process.js';

interface ServerFlags {
  dataDir?: string;
  logLevel: Level;
  etcd: string[];
  etcdPrefix?: string;
  listen: string;
  port: string;
  advertiseAddress?: string;
  controllers: boolean;
}

/** Prints a failure the way the CLI does; the exit code. */
export function failed(err: unknown, what: string): number {
  process.stderr.write(`nubis: ${isNubisError(err) ? err.message : `${what} failed: ${messageOf(err)}`}\n`);
  if (process.env.NUBIS_DEBUG) process.stderr.write(`${(err as Error).stack ?? ''}\n`);
  return 125;
}

/** Runs the server until SIGINT/SIGTERM; returns the exit code. */
export async function runServerCommand(argv: string[]): Promise<number> {
  if (argv.includes('token')) return runTokenCommand(argv);
  const program = withControlPlaneFlags(
    daemonProgram('nubis server', 'run the Nubis API server (HTTPS, Kubernetes REST conventions) over SQLite or etcd, with the elected scheduler and controllers')
      .addOption(new Option('--etcd <url...>', 'etcd endpoints (repeat or comma-separate); without it the store is SQLite in the data dir').default([]))
      .option('--etcd-prefix <prefix>', 'key prefix in etcd (several Nubis clusters on one etcd)')
      .option('--listen <address>', 'address to listen on', '0.0.0.0')
      .option('--port <port>', 'HTTPS port (0: any free port)', '6443')
      .option('--advertise-address <address>', 'the address other machines reach this server at (added to the certificate)')
      .option('--no-controllers', 'serve the API only: no scheduler or controllers'),
  );
  try {
    program.parse(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 125;
    throw err;
  }
  const flags = program.opts<ServerFlags>();
  setLogLevel(flags.logLevel);
  const port = Number(flags.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`nubis: invalid --port "${flags.port}"\n`);
    return 125;
  }
  const dataDir = resolveDataDir(flags.dataDir);
  const endpoints = flags.etcd.flatMap((e) => e.split(',')).map((e) => e.trim()).filter(Boolean);
  const signal = stopSignal();
  try {
    const timing = controlPlaneTiming(program.opts());
    const network = clusterNetwork(program.opts());
    const server = await startServerProcess(
      {
        dataDir,
        store: endpoints.length > 0 ? { backend: 'etcd', endpoints, prefix: flags.etcdPrefix } : { backend: 'sqlite', dataDir },
        listen: flags.listen,
        port,
        advertiseAddress: flags.advertiseAddress,
        timing,
        controlPlane: flags.controllers,
        network,
      },
      signal,
    );
    let stopped = false;
    try {
      process.stdout.write(
        `nubis server: serving on ${server.api.url} (port ${server.api.port}); kubeconfig ${server.api.kubeconfig}\n` +
          `nubis server: join agents with: nubis agent --server ${server.joinUrl} --token $(cat ${joinTokenFile(dataDir)}) --ca-cert-hash ${server.caHash}\n`,
      );
      await aborted(signal);
    } finally {
      stopped = await closeWithin(() => server.close());
    }
    if (!stopped) {
      process.stderr.write(`nubis server: did not stop within ${SHUTDOWN_GRACE_MS / 1000} s; exiting anyway\n`);
      return 1;
    }
    process.stdout.write('nubis server: stopped\n');
    return 0;
  } catch (err) {
    return failed(err, 'server');
  }
}

/** `nubis server token create [--ttl D]`: prints a new join token (the server reads it within seconds). */
async function runTokenCommand(argv: string[]): Promise<number> {
  const program = daemonProgram('nubis server', 'manage the server');
  program
    .command('token')
    .description('join tokens for agents')
    .command('create')
    .description('create a join token and print it (shown once; stored hashed)')
    .option('--ttl <duration>', 'the token expires after this long', '24h')
    .option('--description <text>', 'a note kept with the token')
    .action(async (o: { ttl: string; description?: string }) => {
      const dataDir = resolveDataDir(program.opts<{ dataDir?: string }>().dataDir);
      const token = await createJoinToken(dataDir, { ttlMs: parseDuration(o.ttl, 'ttl'), description: o.description });
      process.stdout.write(`${token}\n`);
    });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 125;
    return failed(err, 'token create');
  }
}
