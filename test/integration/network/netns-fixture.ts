import { spawn, spawnSync, type ChildProcess, type StdioOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Network namespaces, links and processes made by one test, all removed by `cleanup()`. Tests send traffic
 * only to addresses inside these namespaces.
 */
export class NetnsFixture {
  readonly tag = randomBytes(3).toString('hex');
  readonly namespaces: string[] = [];
  readonly children: ChildProcess[] = [];
  readonly tmpDirs: string[] = [];

  constructor() {
    for (const tool of ['ip', 'nsenter', 'unshare', 'nft', 'busybox', 'getent', 'iptables-legacy-restore']) {
      if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) throw new Error(`${tool} is required (apt-get install iproute2 util-linux nftables busybox-static libc-bin iptables)`);
    }
  }

  /** Creates a namespace named nubis-test-<tag>-<suffix> with loopback up; returns its name. */
  netns(suffix: string): string {
    const name = `nubis-test-${this.tag}-${suffix}`;
    sh('ip', ['netns', 'add', name]);
    this.namespaces.push(name);
    sh('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    return name;
  }

  path(name: string): string {
    return `/run/netns/${name}`;
  }

  /** Runs a command inside a namespace and returns its stdout; throws with stderr on failure. */
  exec(ns: string, cmd: string, args: string[], input?: string): string {
    return sh('ip', ['netns', 'exec', ns, cmd, ...args], input);
  }

  /** Like exec, but returns the exit code instead of throwing. */
  try(ns: string, cmd: string, args: string[]): { code: number; stdout: string; stderr: string } {
    const r = spawnSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', timeout: 10_000 });
    return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
  }

  /** Joins two namespaces with a veth pair and gives each end an address (a.b.c.d/n). */
  wire(nsA: string, addrA: string, nsB: string, addrB: string): void {
    const a = `tv${this.tag}${this.namespaces.length}a`;
    const b = `tv${this.tag}${this.namespaces.length}b`;
    sh('ip', ['-n', nsA, 'link', 'add', a, 'type', 'veth', 'peer', 'name', b, 'netns', nsB]);
    sh('ip', ['-n', nsA, 'addr', 'add', addrA, 'dev', a]);
    sh('ip', ['-n', nsB, 'addr', 'add', addrB, 'dev', b]);
    sh('ip', ['-n', nsA, 'link', 'set', a, 'up']);
    sh('ip', ['-n', nsB, 'link', 'set', b, 'up']);
  }

  /** Starts a long-running process (a pod sandbox: `unshare -n sleep`), killed on cleanup. */
  start(cmd: string, args: string[], stdio: StdioOptions = 'ignore'): ChildProcess {
    const child = spawn(cmd, args, { stdio });
    this.children.push(child);
    return child;
  }

  /** A sandbox process in a fresh network namespace, like the agent's pod sandbox. */
  async sandbox(): Promise<{ pid: number; netnsPath: string }> {
    const child = this.start('unshare', ['-n', '--', 'sleep', '300']);
    const pid = child.pid!;
    // unshare execs sleep in place; wait until the namespace differs from ours.
    const ours = await fs.readlink('/proc/self/ns/net');
    for (let i = 0; i < 100; i++) {
      const theirs = await fs.readlink(`/proc/${pid}/ns/net`).catch(() => ours);
      if (theirs !== ours) return { pid, netnsPath: `/proc/${pid}/ns/net` };
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error('sandbox did not get its own network namespace');
  }

  /**
   * Starts a TCP server inside a namespace that greets every connection with "<name> <peer address>" and
   * closes it, or, when `persistent`, keeps it open and echoes each line back prefixed with its name.
   * Resolves once it listens.
   */
  async echoServer(netnsPath: string, port: number, name: string, persistent = false): Promise<ChildProcess> {
    const greet = `${JSON.stringify(name)} + ' ' + s.remoteAddress.replace('::ffff:', '') + '\\n'`;
    const handler = persistent
      ? `(s) => { s.write(${greet}); s.on('data', (d) => s.write(${JSON.stringify(name)} + ' ' + d)); s.on('end', () => s.end()); }`
      : `(s) => s.end(${greet})`;
    const script = `require('net').createServer(${handler}).listen(${port}, '0.0.0.0', () => console.log('listening'))`;
    const child = spawn('nsenter', [`--net=${netnsPath}`, '--', process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.children.push(child);
    await new Promise<void>((resolve, reject) => {
      child.stdout!.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`echo server ${name} exited (${code})`)));
    });
    return child;
  }

  /**
   * Opens a long-lived connection from inside a namespace (busybox nc); `say` sends a line and resolves
   * with the next line the server sends.
   */
  connect(netnsPath: string, ip: string, port: number): { say(line: string): Promise<string>; greeting: Promise<string>; close(): void } {
    const child = spawn('nsenter', [`--net=${netnsPath}`, '--', 'busybox', 'nc', ip, String(port)], { stdio: ['pipe', 'pipe', 'ignore'] });
    this.children.push(child);
    const lines: string[] = [];
    const waiting: ((l: string) => void)[] = [];
    let buf = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      buf += d;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        const w = waiting.shift();
        if (w) w(line);
        else lines.push(line);
      }
    });
    const next = () =>
      new Promise<string>((resolve, reject) => {
        const l = lines.shift();
        if (l !== undefined) return resolve(l);
        const timer = setTimeout(() => reject(new Error('no answer on the connection')), 3000);
        waiting.push((line) => (clearTimeout(timer), resolve(line)));
      });
    return {
      greeting: next(),
      say: (line) => (child.stdin!.write(line + '\n'), next()),
      close: () => child.kill('SIGKILL'),
    };
  }

  /** Connects from inside a namespace and returns what the server said ('' when nothing answered in time). */
  request(netnsPath: string, ip: string, port: number, timeoutS = 2): string {
    const r = spawnSync('nsenter', [`--net=${netnsPath}`, '--', 'busybox', 'nc', '-w', String(timeoutS), ip, String(port)], {
      encoding: 'utf8',
      input: '',
      timeout: (timeoutS + 3) * 1000,
    });
    return (r.stdout ?? '').trim();
  }

  async tmpDir(): Promise<string> {
    const d = await fs.mkdtemp(path.join(os.tmpdir(), 'nubis-net-'));
    this.tmpDirs.push(d);
    return d;
  }

  /** Kills processes, deletes namespaces (and so every link inside) and temp dirs; returns leftovers. */
  async cleanup(): Promise<string[]> {
    for (const c of this.children) if (c.exitCode === null) c.kill('SIGKILL');
    await Promise.all(this.children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
    for (const ns of this.namespaces) spawnSync('ip', ['netns', 'del', ns]);
    for (const d of this.tmpDirs) await fs.rm(d, { recursive: true, force: true });
    const left = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.includes(this.tag));
    const links = spawnSync('ip', ['-o', 'link'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.includes(this.tag));
    return [...left, ...links];
  }
}

export function sh(cmd: string, args: string[], input?: string): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input, timeout: 20_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}
