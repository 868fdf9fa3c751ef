/**
 * `nubis server`: the API server alone (a later issue adds the scheduler, controllers and agent, and
 * `nubis up` for all in one). Wired here in cmd/, not in cli/: the CLI reaches servers only through
 * client/, while cmd/ is where processes are assembled (DESIGN.md layering).
 */
import { Command, CommanderError, Option } from 'commander';
import { ApiServer } from '../apiserver/api-server.js';
import { resolveDataDir } from '../lib/data-dir.js';
import { isNubisError, messageOf } from '../lib/errors.js';
import { setLogLevel, type Level } from '../lib/log.js';
import { openObjectStore } from '../store/open-store.js';

const GLOBAL_WITH_VALUE = new Set(['--data-dir', '--log-level']);

/** Splits `[global options] server [server options]`; undefined when the command is not `server`. */
export function serverArgv(argv: string[]): string[] | undefined {
  const globals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === 'server') return [...globals, ...argv.slice(i + 1)];
    if (GLOBAL_WITH_VALUE.has(a)) {
      globals.push(a, argv[i + 1] ?? '');
      i++;
    } else if ([...GLOBAL_WITH_VALUE].some((g) => a.startsWith(`${g}=`))) {
      globals.push(a);
    } else {
      return undefined;
    }
  }
  return undefined;
}

interface ServerFlags {
  dataDir?: string;
  logLevel: Level;
  etcd: string[];
  etcdPrefix?: string;
  listen: string;
  port: string;
  advertiseAddress?: string;
}

/** Runs the API server until SIGINT/SIGTERM; returns the exit code. */
export async function runServerCommand(argv: string[]): Promise<number> {
  const program = new Command('nubis server')
    .description('run the Nubis API server (HTTPS, Kubernetes REST conventions) over SQLite or etcd')
    .option('--data-dir <dir>', 'where all state lives (env NUBIS_DATA_DIR, default /var/lib/nubis)')
    .option('--log-level <level>', 'debug, info, warn or error', 'info')
    .addOption(new Option('--etcd <url...>', 'etcd endpoints (repeat or comma-separate); without it the store is SQLite in the data dir').default([]))
    .option('--etcd-prefix <prefix>', 'key prefix in etcd (several Nubis clusters on one etcd)')
    .option('--listen <address>', 'address to listen on', '0.0.0.0')
    .option('--port <port>', 'HTTPS port (0: any free port)', '6443')
    .option('--advertise-address <address>', 'the address other machines reach this server at (added to the certificate)')
    .exitOverride();
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
  let store;
  let server: ApiServer | undefined;
  try {
    store = openObjectStore(endpoints.length > 0 ? { backend: 'etcd', endpoints, prefix: flags.etcdPrefix } : { backend: 'sqlite', dataDir });
    server = await ApiServer.start({ dataDir, store, listen: flags.listen, port, advertiseAddress: flags.advertiseAddress });
    process.stdout.write(`nubis server: serving on ${server.url} (port ${server.port}); kubeconfig ${server.kubeconfig}\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    return 0;
  } catch (err) {
    process.stderr.write(`nubis: ${isNubisError(err) ? err.message : `server failed: ${messageOf(err)}`}\n`);
    if (process.env.NUBIS_DEBUG) process.stderr.write(`${(err as Error).stack ?? ''}\n`);
    return 125;
  } finally {
    await server?.close().catch(() => {});
    await store?.close().catch(() => {});
  }
}
