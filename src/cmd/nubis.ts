/** The one entry point of Nubis. Wiring happens here; nothing else calls process.exit. */
import { RealHost } from '../host/real-host.js';
import { runCli } from '../cli/main.js';

const argv = process.argv.slice(2);
// server.js brings the API server and the store: loaded only when the command can be `server`.
const server = argv.includes('server') ? await import('./server.js') : undefined;
const serverArgs = server?.serverArgv(argv);
process.exitCode = server && serverArgs ? await server.runServerCommand(serverArgs) : await runCli(argv, new RealHost());
