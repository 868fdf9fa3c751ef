/**
 * `nubis up`: a whole cloud on this machine in one process — API server on SQLite, the elected
 * scheduler and controllers, and an agent for this node — with `<data-dir>/admin.kubeconfig` written so
 * that `nubis get pods` and kubectl work at once. `-d` runs it in the background (log in
 * `<data-dir>/up.log`) and returns once the node is registered; `nubis down` stops it. Pods outlive
 * the process: the next `nubis up` on the same data dir adopts them.
 *
 * `<data-dir>/up.pid` holds the pid of a running `nubis up` once it is ready, and is removed at exit.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CommanderError } from 'commander';
import { resolveDataDir } from '../lib/data-dir.js';
import { invalid, timeout } from '../lib/errors.js';
import { writeFileAtomic } from '../lib/files.js';
import { setLogLevel } from '../lib/log.js';
import type { RestClient } from '../client/rest-client.js';
import { joinAsNode, nodeClient, startNodeAgent, withAgentFlags, type AgentFlags } from './agent.js';
import { joinTokenFile, serverCaFile } from './join.js';
import { aborted, closeWithin, clusterNetwork, controlPlaneTiming, daemonProgram, SHUTDOWN_GRACE_MS, stopSignal, withControlPlaneFlags } from './process-flags.js';
import { failed } from './server.js';
import { startServerProcess } from './server-process.js';

export const upPidFile = (dataDir: string) => path.join(dataDir, 'up.pid');
export const upLogFile = (dataDir: string) => path.join(dataDir, 'up.log');

/** The pid of the `nubis up` running on this data dir, if one is. */
export function runningUp(dataDir: string): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(upPidFile(dataDir), 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes('up') ? pid : undefined; // a reused pid is not ours
  } catch {
    return undefined;
  }
}

interface UpFlags extends AgentFlags {
  port: string;
  agentPort: string;
  apiListen: string;
  detach?: boolean;
}

export async function runUpCommand(argv: string[]): Promise<number> {
  const program = withControlPlaneFlags(
    withAgentFlags(daemonProgram('nubis up', 'run a whole Nubis cloud on this machine: API server (SQLite), scheduler, controllers and agent'), '--agent-port')
      .option('--api-port <port>', 'the API server\'s HTTPS port (0: any free port)', '6443')
      .option('--api-listen <address>', 'where the API server listens', '0.0.0.0')
      .option('-d, --detach', 'run in the background (log in <data-dir>/up.log) and return once the node is ready'),
  );
  try {
    program.parse(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 125;
    throw err;
  }
  const f = program.opts<UpFlags & { apiPort: string }>();
  setLogLevel(f.logLevel);
  const dataDir = resolveDataDir(f.dataDir);
  const running = runningUp(dataDir);
  if (running) {
    if (f.detach) {
      process.stdout.write(`nubis up is already running on ${dataDir} (pid ${running})\n`);
      return 0;
    }
    process.stderr.write(`nubis: nubis up is already running on ${dataDir} (pid ${running}); stop it with \`nubis down\`\n`);
    return 125;
  }
  if (f.detach) return detach(dataDir, argv.filter((a) => a !== '-d' && a !== '--detach'));
  const signal = stopSignal();
  try {
    const apiPort = Number(f.apiPort);
    if (!Number.isInteger(apiPort) || apiPort < 0 || apiPort > 65535) throw invalid(`invalid --api-port "${f.apiPort}"`);
    const nodeName = f.nodeName ?? os.hostname().toLowerCase();
    const timing = controlPlaneTiming(program.opts());
    const network = clusterNetwork(program.opts());
    const server = await startServerProcess({ dataDir, store: { backend: 'sqlite', dataDir }, listen: f.apiListen, port: apiPort, timing, network }, signal);
    let nodeApi: RestClient | undefined;
    try {
      // The node agent is a node like any other: its own certificate, the Node authorizer's limits.
      await joinAsNode(dataDir, nodeName, { server: server.api.url, ca: await readFile(serverCaFile(dataDir), 'utf8'), token: server.joinToken });
      nodeApi = await nodeClient(dataDir, nodeName, signal);
      const agent = await startNodeAgent(nodeApi, dataDir, { ...f, port: f.agentPort }, nodeName, signal);
      await writeFileAtomic(upPidFile(dataDir), `${process.pid}\n`);
      process.stdout.write(
        `nubis up: ready: node ${nodeName}, API on ${server.api.url}\n` +
          `nubis up: kubeconfig ${server.api.kubeconfig} (nubis get nodes, kubectl --kubeconfig ${server.api.kubeconfig} get nodes)\n` +
          `nubis up: join more machines with: nubis agent --server ${server.joinUrl} --token $(cat ${joinTokenFile(dataDir)}) --ca-cert-hash ${server.caHash}\n`,
      );
      await aborted(signal);
      await agent.done;
    } finally {
      nodeApi?.close();
      if (!(await closeWithin(() => server.close()))) process.stderr.write(`nubis up: the server did not stop within ${SHUTDOWN_GRACE_MS / 1000} s; exiting anyway\n`);
      await removePidFile(dataDir);
    }
    process.stdout.write('nubis up: stopped (pods keep running; `nubis up` again adopts them)\n');
    return 0;
  } catch (err) {
    return failed(err, 'up');
  }
}

async function removePidFile(dataDir: string): Promise<void> {
  const pid = (await readFile(upPidFile(dataDir), 'utf8').catch(() => '')).trim();
  if (pid === String(process.pid)) await rm(upPidFile(dataDir), { force: true });
}

/** Starts `nubis up` in the background and waits until it is ready (or has failed). */
async function detach(dataDir: string, args: string[]): Promise<number> {
  const { mkdirSync } = await import('node:fs');
  mkdirSync(dataDir, { recursive: true });
  const log = upLogFile(dataDir);
  const fd = openSync(log, 'a');
  // A young generation of 1 MiB semi-spaces keeps a long-running Nubis ~30 MiB smaller (bench/up-memory.ts);
  // V8 reads it only from the command line, and the fresh process costs nothing extra here.
  const v8Flags = process.execArgv.some((a) => a.startsWith('--max-semi-space-size')) ? [] : ['--max-semi-space-size=1'];
  const child = spawn(process.execPath, [...process.execArgv, ...v8Flags, process.argv[1]!, 'up', ...args], { detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  let exited: number | null | undefined;
  child.on('exit', (code) => (exited = code ?? 1));
  const deadline = Date.now() + 120_000;
  while (runningUp(dataDir) !== child.pid) {
    if (exited !== undefined) {
      const tail = readFileSync(log, 'utf8').split('\n').slice(-15).join('\n');
      process.stderr.write(`nubis: nubis up failed to start (exit ${exited}); the end of ${log}:\n${tail}\n`);
      return 125;
    }
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      return failed(timeout(`nubis up did not become ready within 2 minutes; see ${log}`), 'up');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.unref();
  process.stdout.write(`nubis up: running in the background (pid ${child.pid}); log ${log}; kubeconfig ${path.join(dataDir, 'admin.kubeconfig')}; stop it with \`nubis down\`\n`);
  return 0;
}

/** `nubis down`: stops a background `nubis up` (pods keep running unless --delete-pods… is a later addition). */
export async function runDownCommand(argv: string[]): Promise<number> {
  const program = daemonProgram('nubis down', 'stop the `nubis up` running on this data dir (its pods keep running)').option('--timeout <seconds>', 'how long to wait for it to stop', '60');
  try {
    program.parse(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 125;
    throw err;
  }
  const f = program.opts<{ dataDir?: string; timeout: string }>();
  const dataDir = resolveDataDir(f.dataDir);
  const pid = runningUp(dataDir);
  if (!pid) {
    process.stdout.write(`nubis up is not running on ${dataDir}\n`);
    return 0;
  }
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + Number(f.timeout) * 1000;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      process.stdout.write(`nubis up (pid ${pid}) stopped\n`);
      return 0;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  process.stderr.write(`nubis: nubis up (pid ${pid}) did not stop within ${f.timeout} s\n`);
  return 125;
}
