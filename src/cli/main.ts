import { Command, CommanderError } from 'commander';
import { resolveDataDir } from '../lib/data-dir.js';
import { isNubisError, messageOf } from '../lib/errors.js';
import { setLogLevel, type Level } from '../lib/log.js';
import type { Host } from '../host/host.js';
import type { CliContext } from './context.js';
import { registerContainerCommands } from './commands/ctr-container.js';
import { registerImageCommands } from './commands/ctr-image.js';
import { registerKubeCommands } from './commands/kube-commands.js';
import { registerPodCommands } from './commands/kube-pod-commands.js';
import { registerRolloutCommands } from './commands/kube-rollout.js';
import { registerTenancyCommands } from './commands/tenancy-commands.js';

/** Builds the whole command tree. Every command group is wired here, explicitly. */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command('nubis')
    .description('Nubis: a cloud operating system — containers, VMs and a Kubernetes-compatible API')
    .version('0.1.0')
    .option('--data-dir <dir>', 'where all state lives (env NUBIS_DATA_DIR, default /var/lib/nubis)')
    .option('--log-level <level>', 'debug, info, warn or error', 'warn')
    .enablePositionalOptions()
    .showHelpAfterError()
    .exitOverride();
  program.hook('preAction', () => setLogLevel(program.opts<{ logLevel: Level }>().logLevel));
  ctx.dataDir = () => resolveDataDir(program.opts<{ dataDir?: string }>().dataDir);

  const ctr = program
    .command('ctr')
    .description('the node runtime: images and containers on this machine')
    .enablePositionalOptions();
  registerImageCommands(ctr, ctx);
  registerContainerCommands(ctr, ctx);
  registerKubeCommands(program, ctx);
  registerRolloutCommands(program, ctx);
  registerPodCommands(program, ctx);
  registerTenancyCommands(program, ctx);
  return program;
}

/** Runs the CLI and returns the process exit code; prints one-line errors. */
export async function runCli(argv: string[], host: Host): Promise<number> {
  const ctx: CliContext = { dataDir: () => resolveDataDir(), host, stdout: process.stdout, stderr: process.stderr };
  const program = buildProgram(ctx);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ctx.exitCode ?? 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 125;
    if (isNubisError(err)) {
      process.stderr.write(`nubis: ${err.message}\n`);
      return 125;
    }
    process.stderr.write(`nubis: internal error: ${messageOf(err)}\n`);
    if (process.env.NUBIS_DEBUG) process.stderr.write(`${(err as Error).stack ?? ''}\n`);
    return 125;
  }
}
