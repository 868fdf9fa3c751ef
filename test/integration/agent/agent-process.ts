/**
 * The agent as a process of its own (what `nubis agent` will be), for measuring it: connects with a
 * kubeconfig, starts the agent and prints `ready <port>`; SIGTERM stops it (pods keep running).
 *   agent-process <kubeconfig> <node-name> <data-dir>
 */
import v8 from 'node:v8';
import { connect } from '../../../src/client/connect.js';
import { RealHost } from '../../../src/host/real-host.js';
import { startAgent } from '../../../src/agent/index.js';

const [kubeconfig, nodeName, dataDir] = process.argv.slice(2);
if (process.env.AGENT_V8_FLAGS) v8.setFlagsFromString(process.env.AGENT_V8_FLAGS);
const abort = new AbortController();
process.on('SIGTERM', () => abort.abort());
// SIGUSR2 prints where the memory is (heap, external, array buffers) on stderr.
process.on('SIGUSR2', () => {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) gc();
  process.stderr.write(`agent memory${gc ? ' after gc' : ''}: ${JSON.stringify(process.memoryUsage())}\n`);
});
const { client } = await connect({ flag: kubeconfig! });
const agent = await startAgent({
  client,
  nodeName: nodeName!,
  dataDir: dataDir!,
  host: new RealHost(),
  port: 0,
  timing: { exitPollMs: 1000, statusIntervalMs: 10_000, leaseIntervalMs: 5_000 },
  signal: abort.signal,
});
process.stdout.write(`ready ${agent.port}\n`);
await agent.done;
client.close();
