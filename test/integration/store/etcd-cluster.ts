/**
 * Runs real etcd members (Debian's etcd-server) on 127.0.0.1 with random free ports and temp data dirs,
 * for the etcd store tests. Members can be SIGKILLed and restarted on the same data and ports.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

function etcdBinary(): string {
  try {
    return execFileSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('etcd is not installed: the etcd store tests need Debian package etcd-server (apt-get install etcd-server)');
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

interface Member {
  name: string;
  clientPort: number;
  peerPort: number;
  dataDir: string;
  proc?: ChildProcess;
  exited?: Promise<void>;
  log: string[];
}

export class EtcdCluster {
  private constructor(
    private readonly bin: string,
    readonly baseDir: string,
    private readonly members: Member[],
    private readonly token: string,
  ) {}

  /** Starts `size` members and waits until the cluster is healthy (has a leader). */
  static async start(size: number): Promise<EtcdCluster> {
    const bin = etcdBinary();
    const baseDir = await mkdtemp(path.join(os.tmpdir(), 'nubis-etcd-'));
    const members: Member[] = [];
    for (let i = 0; i < size; i++) {
      members.push({ name: `m${i}`, clientPort: await freePort(), peerPort: await freePort(), dataDir: path.join(baseDir, `m${i}`), log: [] });
    }
    const cluster = new EtcdCluster(bin, baseDir, members, `nubis-test-${process.pid}-${Date.now()}`);
    try {
      for (let i = 0; i < size; i++) cluster.launch(i);
      await cluster.waitHealthy();
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  /** host:port of every member's client endpoint. */
  get endpoints(): string[] {
    return this.members.map((m) => `127.0.0.1:${m.clientPort}`);
  }

  endpoint(i: number): string {
    return `127.0.0.1:${this.members[i]!.clientPort}`;
  }

  private launch(i: number): void {
    const m = this.members[i]!;
    const cluster = this.members.map((x) => `${x.name}=http://127.0.0.1:${x.peerPort}`).join(',');
    const proc = spawn(
      this.bin,
      [
        `--name=${m.name}`,
        `--data-dir=${m.dataDir}`,
        `--listen-client-urls=http://127.0.0.1:${m.clientPort}`,
        `--advertise-client-urls=http://127.0.0.1:${m.clientPort}`,
        `--listen-peer-urls=http://127.0.0.1:${m.peerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${m.peerPort}`,
        `--initial-cluster=${cluster}`,
        '--initial-cluster-state=new',
        `--initial-cluster-token=${this.token}`,
        '--logger=zap',
        '--log-outputs=stderr',
        '--log-level=warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    m.log = [];
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (chunk: string) => {
      m.log.push(chunk);
      if (m.log.length > 200) m.log.shift();
    });
    m.proc = proc;
    m.exited = new Promise((resolve) => proc.once('exit', () => resolve()));
  }

  /** Waits until every running member answers /health with a leader (a hang guard of `deadlineMs`). */
  async waitHealthy(deadlineMs = 30_000): Promise<void> {
    const deadline = Date.now() + deadlineMs;
    for (const m of this.members) {
      if (!m.proc || m.proc.exitCode !== null || m.proc.signalCode !== null) continue;
      for (;;) {
        try {
          const res = await fetch(`http://127.0.0.1:${m.clientPort}/health`, { signal: AbortSignal.timeout(2000) });
          const body = (await res.json()) as { health?: string };
          if (body.health === 'true') break;
        } catch {
          // not up yet
        }
        if (m.proc.exitCode !== null) throw new Error(`etcd ${m.name} exited: ${m.log.join('').slice(-2000)}`);
        if (Date.now() > deadline) throw new Error(`etcd ${m.name} did not become healthy: ${m.log.join('').slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /** Each running member's /health and status as its peers see them, and its latest log lines. */
  async diagnose(): Promise<string> {
    const lines: string[] = [];
    for (const m of this.members) {
      if (!m.proc) {
        lines.push(`${m.name}: killed`);
        continue;
      }
      let health: string;
      try {
        const res = await fetch(`http://127.0.0.1:${m.clientPort}/health`, { signal: AbortSignal.timeout(2000) });
        health = await res.text();
      } catch (err) {
        health = `no answer (${(err as Error).message})`;
      }
      lines.push(`${m.name}: health ${health}; log: ${m.log.join('').slice(-1500)}`);
    }
    return lines.join('\n');
  }

  /** SIGKILLs one member (no chance to flush anything) and waits for it to be gone. */
  async kill(i: number): Promise<void> {
    const m = this.members[i]!;
    m.proc?.kill('SIGKILL');
    await m.exited;
    m.proc = undefined;
  }

  /** Starts a killed member again on its data dir and ports. */
  async restart(i: number): Promise<void> {
    this.launch(i);
    await this.waitHealthy();
  }

  /** Stops every member and removes the data dirs. */
  async stop(): Promise<void> {
    for (const m of this.members) {
      if (m.proc && m.proc.exitCode === null && m.proc.signalCode === null) {
        m.proc.kill('SIGTERM');
        const t = setTimeout(() => m.proc?.kill('SIGKILL'), 5000);
        await m.exited;
        clearTimeout(t);
      }
      m.proc = undefined;
    }
    await rm(this.baseDir, { recursive: true, force: true });
  }
}
