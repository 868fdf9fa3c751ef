/** The one entry point of Nubis. Wiring happens here; nothing else calls process.exit. */
import { RealHost } from '../host/real-host.js';
import { runCli } from '../cli/main.js';

const code = await runCli(process.argv.slice(2), new RealHost());
process.exitCode = code;
