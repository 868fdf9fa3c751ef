/** The one entry point of Nubis. Wiring happens here; nothing else calls process.exit. */
import { RealHost } from '../host/real-host.js';
import { runCli } from '../cli/main.js';
import { trace } from '../lib/trace.js';

trace('entry modules loaded');

const DAEMONS = ['up', 'down', 'server', 'agent'];

/** Runs one command; resolves with the process exit code. */
async function main(argv: string[]): Promise<number> {
  // daemons.js brings the API server, store, controllers and agent: loaded only when the command can be one.
  if (argv.some((a) => DAEMONS.includes(a))) {
    const daemons = await import('./daemons.js');
    const d = daemons.daemonArgv(argv);
    if (d) {
      const code = await daemons.runDaemon(d.command, d.args);
      // Long-running commands stop their loops, but a library may keep a handle open: exit explicitly.
      if (d.command !== 'down') process.exit(code);
      return code;
    }
  }
  return runCli(argv, new RealHost());
}

// No top-level await: the shipped bundle is CommonJS (see scripts/build.mjs).
void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
