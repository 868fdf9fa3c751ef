/**
 * The long-running commands — `up`, `down`, `server`, `agent` — in one module that the CLI entry loads
 * only when one of them is asked for (a bundle of its own: the API server, store, controllers and agent
 * cost the other CLI verbs nothing).
 */
import { commandArgv, DAEMON_COMMANDS, type DaemonCommand } from './process-flags.js';

export { DAEMON_COMMANDS };

/** `[global options] <up|down|server|agent> …` split, or undefined for any other command. */
export function daemonArgv(argv: string[]): { command: DaemonCommand; args: string[] } | undefined {
  return commandArgv(argv, DAEMON_COMMANDS);
}

/** Runs one long-running command; resolves with the exit code. */
export async function runDaemon(command: DaemonCommand, args: string[]): Promise<number> {
  switch (command) {
    case 'server':
      return (await import('./server.js')).runServerCommand(args);
    case 'agent':
      return (await import('./agent.js')).runAgentCommand(args);
    case 'up':
      return (await import('./up.js')).runUpCommand(args);
    case 'down':
      return (await import('./up.js')).runDownCommand(args);
  }
}
