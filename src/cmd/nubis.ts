/** The one entry point of Nubis. Wiring happens here; nothing else calls process.exit. */
import { RealHost } from '../host/real-host.js';
import { runCli } from '../cli/main.js';
import { runServerCommand, serverArgv } from './server.js';

const argv = process.argv.slice(2);
const server = serverArgv(argv);
process.exitCode = server ? await runServerCommand(server) : await runCli(argv, new RealHost());
