/** The one entry point of Nubis. Wiring happens here; nothing else calls process.exit. */
import { RealHost } from '../host/real-host.js';
import { runCli } from '../cli/main.js';
import { trace } from '../runtime/oci/trace.js';

trace('entry modules loaded');

/** Runs one command; resolves with the process exit code. */
async function main(argv: string[]): Promise<number> {
  // server.js brings the API server and the store: loaded only when the command can be `server`.
  if (argv.includes('server')) {
    const server = await import('./server.js');
    const serverArgs = server.serverArgv(argv);
    if (serverArgs) return server.runServerCommand(serverArgs);
  }
  return runCli(argv, new RealHost());
}

// No top-level await: the shipped bundle is CommonJS (see scripts/build.mjs).
void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
