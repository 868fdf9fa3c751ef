/**
 * The micro-VM guest agent (src/runtime/microvm/guest/, C) run on the host: the test compiles it, makes a
 * busybox root, listens on a unix socket and starts the agent with `--channel` pointing at it, in its own
 * network, UTS and IPC namespaces (so its network setup and hostname touch nothing of the host) and with
 * cgroups off (this host's cgroup v2 tree has no controllers: limits, OOM and stats are for the guest).
 * Everything goes through GuestClient, as the node agent will use it.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Duplex, Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { GuestClient } from '../../../src/runtime/microvm/guest-client.js';
import { encodeFrame, FrameType, MAX_PAYLOAD, PROTOCOL_VERSION, type ExitEvent } from '../../../src/runtime/microvm/guest-protocol.js';
import { readLog } from '../../../src/runtime/oci/logs.js';
import type { LogEntry } from '../../../src/runtime/driver.js';
import { buildGuestAgent, eventually } from './microvm-host.js';


/** A root with /bin/busybox, every applet as a link to it, and root/nobody users. */
function makeBusyboxRoot(dir: string): void {
  const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p));
  if (!busybox) throw new Error('busybox is needed: apt-get install busybox-static');
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'tmp', 'root']) mkdirSync(path.join(dir, d), { recursive: true });
  copyFileSync(busybox, path.join(dir, 'bin/busybox'));
  execFileSync('chmod', ['755', path.join(dir, 'bin/busybox')]);
  const applets = execFileSync(busybox, ['--list-full'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const a of applets) if (a !== 'bin/busybox' && !existsSync(path.join(dir, a))) symlinkSync('/bin/busybox', path.join(dir, a));
  writeFileSync(path.join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
  writeFileSync(path.join(dir, 'etc/group'), 'root:x:0:\nnobody:x:65534:\n');
}

/** Collects a readable's text as it comes. */
function collect(r: Readable | null): { text: () => string; done: Promise<string> } {
  let text = '';
  r?.on('data', (b: Buffer) => (text += b.toString()));
  const done = new Promise<string>((resolve) => {
    if (!r) return resolve('');
    r.on('end', () => resolve(text));
    r.on('error', () => resolve(text));
  });
  return { text: () => text, done };
}

const ENV = ['PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/root'];
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('guest agent on the host', { timeout: 120_000 }, () => {
  let dir: string;
  let rootfs: string;
  let shared: string;
  let agent: ChildProcess;
  let agentExit: Promise<number | null>;
  let server: net.Server;
  const connections: Duplex[] = [];
  let client: GuestClient;
  const exits = new Map<string, ExitEvent>();
  const problems: { kind: string; id?: number; message: string }[] = [];
  const containerPids = new Set<number>();

  /** The connection the agent makes next. */
  const nextConnection = () => eventually(() => connections.shift(), 10_000, 'the guest agent to connect');

  const paths = (id: string) => ({ logPath: path.join(shared, `${id}.log`), exitPath: path.join(shared, `${id}.exit`) });

  async function run(id: string, argv: string[], extra: Record<string, unknown> = {}): Promise<number> {
    const { pid } = await client.create({ id, rootfs, argv, env: ENV, ...paths(id), ...extra });
    containerPids.add(pid);
    await client.start(id);
    return pid;
  }

  async function logOf(id: string): Promise<LogEntry[]> {
    const out: LogEntry[] = [];
    for await (const e of readLog(paths(id).logPath)) out.push(e);
    return out;
  }

  const exitOf = (id: string) => eventually(() => exits.get(id), 15_000, `container ${id} to exit`);

  async function execText(id: string, argv: string[], input?: string): Promise<{ out: string; err: string; code: number }> {
    const p = await client.exec({ id, argv, env: ENV, stdin: input !== undefined });
    const out = collect(p.stdout);
    const err = collect(p.stderr);
    if (input !== undefined) p.stdin!.end(input);
    const code = await p.exitCode;
    return { out: await out.done, err: await err.done, code };
  }

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'nubis-guest-agent-'));
    rootfs = path.join(dir, 'rootfs');
    shared = path.join(dir, 'shared');
    mkdirSync(shared);
    makeBusyboxRoot(rootfs);
    // NUBIS_GUEST_AGENT: a prebuilt agent (a sanitizer build, say) instead of compiling one.
    const bin = process.env.NUBIS_GUEST_AGENT ?? path.join(dir, 'nubis-guest-agent');
    if (!process.env.NUBIS_GUEST_AGENT) buildGuestAgent(bin);
    const sock = path.join(dir, 'channel.sock');
    server = net.createServer((s) => connections.push(s));
    await new Promise<void>((r) => server.listen(sock, r));
    agent = spawn('unshare', ['--net', '--uts', '--ipc', '--', bin, '--channel', sock, '--cgroup-root', ''], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    agentExit = new Promise((r) => agent.on('exit', (code) => r(code)));
    client = await GuestClient.open({ connect: nextConnection, heartbeatIntervalMs: 200, requestTimeoutMs: 15_000 });
    client.on('exit', (e: ExitEvent) => exits.set(e.id, e));
    client.on('problem', (p: { kind: string; id?: number; message: string }) => problems.push(p));
  });

  after(async () => {
    client?.close();
    if (agent && agent.exitCode === null) {
      agent.kill('SIGKILL');
      await agentExit;
    }
    for (const pid of containerPids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    server?.close();
    // The containers' mounts lived in their own namespaces: none may show on the host.
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
    assert.ok(!mounts.includes(dir), 'no mount of the test is left on the host');
    rmSync(dir, { recursive: true, force: true });
  });

  it('says hello with its boot id and a session', () => {
    assert.equal(client.hello?.version, PROTOCOL_VERSION);
    assert.match(client.hello!.bootId, /^[0-9a-f]{32}$/);
    assert.match(client.hello!.session, /^[0-9a-f]{32}$/);
    assert.equal(client.hello!.pid, agent.pid, 'unshare exec\'d the agent itself');
  });

  it('runs a container: both streams in a CRI log that readLog parses, exit code 3 in file and event', async () => {
    await run('c1', ['sh', '-c', 'echo out1; echo err1 >&2; printf partial; sleep 0.1; echo " line"; exit 3']);
    const ev = await exitOf('c1');
    assert.equal(ev.exitCode, 3);
    assert.equal(ev.oomKilled, false);
    assert.equal(readFileSync(paths('c1').exitPath, 'utf8'), '3');
    const log = await logOf('c1');
    // Each stream in its order (the two pipes are read as they come: their interleaving is not fixed).
    const lines = (stream: string) => log.filter((e) => e.stream === stream).map((e) => `${e.partial ? 'P' : 'F'} ${e.text}`);
    assert.deepEqual(lines('stdout'), ['F out1', 'P partial', 'F  line']);
    assert.deepEqual(lines('stderr'), ['F err1']);
    for (const e of log) {
      assert.match(e.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
      assert.ok(Math.abs(e.time.getTime() - Date.now()) < 60_000);
    }
    const st = await client.state('c1');
    assert.equal(st.status, 'exited');
    assert.equal(st.exitCode, 3);
    assert.ok(st.startedAtMs! <= st.finishedAtMs!);
    await client.remove('c1');
    await assert.rejects(client.state('c1'), /no container c1/);
  });

  it('cuts a line longer than a read into partial entries', async () => {
    await run('long-line', ['sh', '-c', 'head -c 100000 /dev/zero | tr "\\0" a; echo; echo next']);
    assert.equal((await exitOf('long-line')).exitCode, 0);
    const log = await logOf('long-line');
    const last = log.findIndex((e) => !e.partial);
    assert.ok(last > 0, 'at least one partial entry before the end of the line');
    assert.equal(log.slice(0, last + 1).map((e) => e.text).join(''), 'a'.repeat(100000));
    assert.ok(log.slice(0, last).every((e) => e.partial));
    assert.deepEqual(log.slice(last + 1).map((e) => [e.text, e.partial]), [['next', false]]);
    await client.remove('long-line');
  });

  it('fails create clearly for a missing program, and leaves nothing behind', async () => {
    await assert.rejects(
      client.create({ id: 'bad', rootfs, argv: ['no-such-program'], env: ENV, ...paths('bad') }),
      /not found in \$PATH/,
    );
    assert.ok(!(await client.list()).some((c) => c.id === 'bad'));
    await assert.rejects(client.create({ id: 'bad', rootfs, argv: ['prögram-☃'], env: ENV, ...paths('bad') }), /"prögram-☃" not found/);
  });

  it('stops a long-running container with SIGTERM, and SIGKILL kills one that ignores it', async () => {
    await run('term', ['sh', '-c', 'trap "echo got TERM; exit 143" TERM; echo ready; sleep 1000 & wait']);
    await eventually(async () => (await logOf('term')).some((e) => e.text === 'ready'), 10_000, 'ready');
    await client.kill('term', 'SIGTERM');
    assert.equal((await exitOf('term')).exitCode, 143);
    assert.ok((await logOf('term')).some((e) => e.text === 'got TERM'));

    // init of its PID namespace: without a handler SIGTERM does nothing, SIGKILL does
    await run('stubborn', ['sleep', '1000']);
    await client.kill('stubborn', 'SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await client.state('stubborn')).status, 'running');
    await client.kill('stubborn', 'SIGKILL');
    assert.equal((await exitOf('stubborn')).exitCode, 137);
    await client.remove('term');
    await client.remove('stubborn');
  });

  it('execs with pipes: stdin echoed back through cat, exit codes, a missing program', async () => {
    await run('long', ['sh', '-c', 'echo started; exec sleep 1000']);
    // 720 KB: more than the stdin window, so it flows only as the agent acknowledges what cat read
    const input = 'hello through cat\n'.repeat(40_000);
    const cat = await execText('long', ['cat'], input);
    assert.equal(cat.code, 0);
    assert.equal(cat.out.length, input.length);
    assert.ok(cat.out === input);
    const seven = await execText('long', ['sh', '-c', 'echo to-err >&2; exit 7']);
    assert.equal(seven.code, 7);
    assert.equal(seven.err, 'to-err\n');
    assert.equal(seven.out, '');
    await assert.rejects(client.exec({ id: 'long', argv: ['nope'], env: ENV }), /not found/);
    await assert.rejects(client.exec({ id: 'c-none', argv: ['true'] }), /no container/);
    // big output is not dropped
    const big = await execText('long', ['sh', '-c', 'i=0; while [ $i -lt 3000 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done']);
    assert.equal(big.out.split('\n').filter(Boolean).length, 3000);
  });

  it('execs with a terminal: isatty, its size, and a resize', async () => {
    const p = await client.exec({
      id: 'long',
      argv: ['sh', '-c', 'test -t 0 && echo IS-A-TTY; stty size; read x; stty size; tty'],
      env: ENV,
      tty: true,
      stdin: true,
      rows: 30,
      cols: 100,
    });
    assert.equal(p.stderr, null);
    const out = collect(p.stdout);
    await eventually(() => out.text().includes('30 100'), 10_000, 'the first stty size');
    await p.resize(40, 120);
    p.stdin!.write('go\n');
    assert.equal(await p.exitCode, 0);
    const text = await out.done;
    assert.match(text, /IS-A-TTY/);
    assert.match(text, /40 120/);
    assert.match(text, /\/dev\/pts\/\d+/);
  });

  it('runs a tty container whose log shows its terminal', async () => {
    await run('tty', ['sh', '-c', 'tty; stty size'], { tty: true, rows: 33, cols: 99 });
    assert.equal((await exitOf('tty')).exitCode, 0);
    const texts = (await logOf('tty')).map((e) => e.text.replace(/\r$/, ''));
    assert.ok(texts.includes('/dev/pts/0'), texts.join('|'));
    assert.ok(texts.includes('33 99'), texts.join('|'));
    await client.remove('tty');
  });

  it('attaches: live output and stdin of a container created with stdin open; detach leaves it running', async () => {
    const { pid } = await client.create({
      id: 'att',
      rootfs,
      env: ENV,
      ...paths('att'),
      stdin: true,
      argv: ['sh', '-c', 'read line; echo got:$line; i=0; while true; do echo tick$i; i=$((i+1)); sleep 0.05; done'],
    });
    containerPids.add(pid);
    const a = await client.attach('att', { stdin: true });
    const out = collect(a.stdout);
    await client.start('att');
    a.stdin!.write('hi there\n');
    await eventually(() => out.text().includes('got:hi there') && out.text().includes('tick3'), 10_000, 'attach output');
    await a.detach();
    assert.equal(await a.ended, 'detached');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await client.state('att')).status, 'running');
    const log = await logOf('att');
    assert.ok(log.some((e) => e.text === 'got:hi there'), 'the log has it too');
    // a second attach ends when the container exits
    const b = await client.attach('att');
    const bout = collect(b.stdout);
    await eventually(() => /tick\d+/.test(bout.text()), 5000, 'output on the second attach');
    await client.kill('att', 'SIGKILL');
    assert.equal(await b.ended, 'ended');
    await exitOf('att');
    await client.remove('att');
  });

  it('attaches to a tty container, with its stdin, and resizes its terminal', async () => {
    const { pid } = await client.create({
      id: 'tty-att',
      rootfs,
      env: ENV,
      ...paths('tty-att'),
      tty: true,
      stdin: true,
      rows: 20,
      cols: 70,
      argv: ['sh', '-c', 'stty size; read x; stty size; echo bye-$x'],
    });
    containerPids.add(pid);
    const a = await client.attach('tty-att', { stdin: true });
    assert.equal(await collect(a.stderr).done, '', 'a terminal has no stderr: it ends at once');
    const out = collect(a.stdout);
    await client.start('tty-att');
    await eventually(() => out.text().includes('20 70'), 10_000, 'the first size');
    await a.resize(50, 132);
    a.stdin!.write('now\r');
    assert.equal(await a.ended, 'ended');
    assert.match(out.text(), /50 132/);
    assert.match(out.text(), /bye-now/);
    assert.equal((await exitOf('tty-att')).exitCode, 0);
    await client.remove('tty-att');
  });

  it('isolates: the container sees only its own processes and its own mounts', async () => {
    const ps = await execText('long', ['sh', '-c', 'for p in /proc/[0-9]*; do echo ${p#/proc/}; done; cat /proc/1/cmdline | tr "\\0" " "']);
    assert.equal(ps.code, 0);
    const lines = ps.out.trim().split('\n');
    const cmdline = lines.pop()!;
    assert.equal(cmdline.trim(), 'sleep 1000', 'PID 1 is the container\'s process');
    const pids = lines.map(Number);
    assert.ok(pids.includes(1));
    assert.ok(pids.length <= 4, `only the container's processes: ${pids.join(' ')}`);
    assert.ok(pids.every((p) => p < 100), `pids of its own namespace: ${pids.join(' ')}`);

    const mi = await execText('long', ['cat', '/proc/self/mountinfo']);
    const points = mi.out.trim().split('\n').map((l) => l.split(' ')[4]!);
    const expected = new Set(['/', '/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys']);
    for (const must of expected) assert.ok(points.includes(must), `${must} is mounted`);
    const allowed = /^(\/|\/proc(\/.*)?|\/dev(\/(pts|shm|mqueue))?|\/sys(\/firmware)?)$/;
    for (const p of points) assert.match(p, allowed, `mount ${p} belongs to the container`);
    assert.ok(!mi.out.includes(shared), 'the shared directory is not mounted in');
    assert.ok(readFileSync('/proc/timer_list').length > 0);
    const masked = await execText('long', ['sh', '-c', 'wc -c < /proc/timer_list; ls /proc/acpi | wc -l; echo x > /proc/sys/kernel/hostname; echo $?']);
    const [timerList, acpi, written] = masked.out.split('\n').map((l) => l.trim());
    assert.equal(timerList, '0', '/proc/timer_list is masked');
    assert.equal(acpi, '0', '/proc/acpi is masked');
    assert.notEqual(written, '0', '/proc/sys is read-only');
  });

  it('applies mounts, user, groups, capabilities, no_new_privs, a read-only root and cwd', async () => {
    const data = path.join(shared, 'data');
    mkdirSync(data);
    writeFileSync(path.join(data, 'file'), 'from the host\n');
    await run('sec', ['sh', '-c', 'id; pwd; cat /data/file; touch /data/x 2>&1 || echo data-ro; touch /scratch/y && echo scratch-rw; touch /z 2>&1 || echo root-ro; grep -E "^(CapBnd|CapEff|CapAmb|NoNewPrivs)" /proc/self/status'], {
      uid: 65534,
      gid: 65534,
      groups: [5, 100],
      cwd: '/work/dir',
      readOnly: true,
      noNewPrivs: true,
      mounts: [
        { type: 'bind', source: data, destination: '/data', readOnly: true },
        { type: 'tmpfs', destination: '/scratch' },
      ],
      capabilities: { bounding: ['CAP_KILL', 'net_bind_service'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'], inheritable: ['CAP_KILL'], ambient: ['CAP_KILL'] },
    });
    assert.equal((await exitOf('sec')).exitCode, 0);
    const text = (await logOf('sec')).map((e) => e.text).join('\n');
    assert.match(text, /uid=65534\(nobody\) gid=65534\(nobody\) groups=5,100/);
    assert.match(text, /^\/work\/dir$/m);
    assert.match(text, /from the host/);
    assert.match(text, /data-ro/);
    assert.match(text, /scratch-rw/);
    assert.match(text, /root-ro/);
    // CAP_KILL is bit 5 (0x20), NET_BIND_SERVICE bit 10 (0x400)
    assert.match(text, /CapBnd:\s+0000000000000420/);
    assert.match(text, /CapEff:\s+0000000000000020/);
    assert.match(text, /CapAmb:\s+0000000000000020/);
    assert.match(text, /NoNewPrivs:\s+1/);
    await client.remove('sec');
  });

  it('answers malformed frames with errors and keeps serving', async () => {
    const sock = (client as unknown as { sock: Duplex }).sock;
    const errorFor = (id: number) => eventually(() => problems.find((p) => p.kind === 'guest-error' && p.id === id), 5000, `an error for frame ${id}`);
    problems.length = 0;
    sock.write(Buffer.from('garbage that is no frame at all'));
    sock.write(encodeFrame(FrameType.Request, 901, Buffer.from('{"op": "ping", oops}')));
    sock.write(encodeFrame(FrameType.Request, 902, Buffer.from('{"op":"teleport"}')));
    sock.write(encodeFrame(FrameType.Request, 903, Buffer.from('{"op":"create","id":5,"rootfs":"/","argv":["x"],"logPath":"/l","exitPath":"/e"}')));
    sock.write(encodeFrame(FrameType.Request, 904, Buffer.from('['.repeat(100) + ']'.repeat(100))));
    sock.write(encodeFrame(FrameType.Request, 905, Buffer.from('{"op":"ping","a":"\\ud800"}')));
    sock.write(encodeFrame(FrameType.Reply, 906, Buffer.from('{}')));
    sock.write(encodeFrame(FrameType.Request, 0, Buffer.from('{"op":"ping"}')));
    sock.write(encodeFrame(FrameType.Request, 907, Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])));
    sock.write(encodeFrame(FrameType.Request, 908, Buffer.from('{"op":"create","id":"../../etc","rootfs":"/","argv":["x"],"logPath":"/l","exitPath":"/e"}')));
    const big = Buffer.alloc(16);
    big.write('NGA1', 0, 'latin1');
    big.writeUInt8(FrameType.Request, 4);
    big.writeUInt32BE(909, 8);
    big.writeUInt32BE(MAX_PAYLOAD + 1, 12);
    sock.write(big);
    sock.write(Buffer.alloc(MAX_PAYLOAD + 1, 0x20));
    const answers = await Promise.all([901, 902, 903, 904, 905, 906, 907, 908, 909].map(errorFor));
    assert.match(answers[0]!.message, /malformed request/);
    assert.match(answers[1]!.message, /unknown op "teleport"/);
    assert.match(answers[2]!.message, /"id" must be a string/);
    assert.match(answers[3]!.message, /nested too deeply/);
    assert.match(answers[4]!.message, /surrogate/);
    assert.match(answers[5]!.message, /unexpected frame type 2/);
    assert.match(answers[6]!.message, /UTF-8/);
    assert.match(answers[7]!.message, /"id" must be/);
    assert.match(answers[8]!.message, /too large/);
    await eventually(() => problems.some((p) => p.id === 0 && /header/.test(p.message)), 5000, 'the bad header error');
    await eventually(() => problems.some((p) => p.id === 0 && /nonzero id/.test(p.message)), 5000, 'the id 0 error');
    assert.ok((await client.request('ping')).timeMs, 'still serving');
    assert.equal(agent.exitCode, null);
  });

  it('survives random frames and random request bodies', async () => {
    const sock = (client as unknown as { sock: Duplex }).sock;
    let seed = 12345;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    const value = (depth: number): unknown => {
      switch (rand(depth > 3 ? 5 : 7)) {
        case 0: return rand(2) === 0;
        case 1: return rand(1_000_000_000) - 500_000_000;
        case 2: return 'x'.repeat(rand(300)) + String.fromCharCode(rand(0x3000));
        case 3: return null;
        case 4: return 2 ** 60 + rand(10);
        case 5: return Array.from({ length: rand(5) }, () => value(depth + 1));
        default: return Object.fromEntries(Array.from({ length: rand(5) }, (_, i) => [`k${i}`, value(depth + 1)]));
      }
    };
    // Ops that act on nothing the test made (no create, network, shutdown or hello).
    const ops = ['ping', 'list', 'state', 'start', 'kill', 'remove', 'exec', 'attach', 'detach', 'resize', 'stats', 'bogus'];
    const fields = ['id', 'stream', 'signal', 'rows', 'cols', 'argv', 'env', 'stdin', 'tty', 'uid', 'groups', 'capabilities'];
    for (let i = 0; i < 300; i++) {
      const id = 10_000 + i;
      const kind = rand(4);
      if (kind === 0) {
        const body: Record<string, unknown> = { op: ops[rand(ops.length)] };
        for (let j = rand(5); j > 0; j--) body[fields[rand(fields.length)]!] = value(0);
        if (body.id === 'long') delete body.id;
        sock.write(encodeFrame(FrameType.Request, id, Buffer.from(JSON.stringify(body))));
      } else if (kind === 1) {
        const bytes = Buffer.from(Array.from({ length: rand(200) }, () => rand(256)));
        sock.write(encodeFrame(FrameType.Request, id, bytes));
      } else if (kind === 2) {
        const bytes = Buffer.from(Array.from({ length: rand(100) }, () => rand(256)));
        sock.write(encodeFrame(1 + rand(8), id, bytes, rand(2)));
      } else {
        sock.write(Buffer.from(Array.from({ length: rand(64) }, () => rand(256))));
      }
    }
    // garbage may have swallowed the start of a frame: the next sane header resynchronizes
    await eventually(async () => (await client.request('ping', {}, { timeoutMs: 1000 }).catch(() => undefined))?.timeMs, 10_000, 'a ping answered');
    assert.equal(agent.exitCode, null, 'the agent is alive');
    assert.equal((await client.state('long')).status, 'running');
  });

  it('sets up the guest network: loopback, address, MTU, default route, hostname', async () => {
    const ns = ['-t', String(agent.pid), '-n'];
    execFileSync('nsenter', [...ns, 'ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0-peer']);
    execFileSync('nsenter', [...ns, 'ip', 'link', 'set', 'eth0-peer', 'up']);
    await client.network({ interface: 'eth0', address: '10.77.0.2', prefixLength: 24, gateway: '10.77.0.1', mtu: 1400, hostname: 'pod-guest' });
    const addr = execFileSync('nsenter', [...ns, 'ip', '-4', 'addr', 'show', 'eth0'], { encoding: 'utf8' });
    assert.match(addr, /inet 10\.77\.0\.2\/24/);
    assert.match(addr, /mtu 1400/);
    assert.match(execFileSync('nsenter', [...ns, 'ip', 'link', 'show', 'lo'], { encoding: 'utf8' }), /UP/);
    assert.match(execFileSync('nsenter', [...ns, 'ip', 'route'], { encoding: 'utf8' }), /default via 10\.77\.0\.1 dev eth0/);
    assert.equal(execFileSync('nsenter', ['-t', String(agent.pid), '-u', 'hostname'], { encoding: 'utf8' }).trim(), 'pod-guest');
    assert.notEqual(os.hostname(), 'pod-guest');
    // the containers share it (the guest is the pod sandbox)
    assert.equal((await execText('long', ['hostname'])).out.trim(), 'pod-guest');
    await assert.rejects(client.network({ address: 'not-an-ip' }), /IPv4/);
  });

  it('reports stats (no cgroups here: guest memory only)', async () => {
    const s = await client.stats();
    assert.ok(s.guest.memoryTotalBytes > 0);
    assert.ok(s.containers.some((c) => c.id === 'long'));
    assert.equal(s.containers.find((c) => c.id === 'long')!.cpuUsageNs, undefined);
  });

  it('keeps containers across a host disconnect and answers a new hello', async () => {
    const before = (await client.list()).find((c) => c.id === 'long')!;
    assert.equal(before.status, 'running');
    const oldSession = client.hello!.session;
    const bootId = client.hello!.bootId;
    const hold = await client.exec({ id: 'long', argv: ['cat'], env: ENV, stdin: true });
    (client as unknown as { sock: Duplex }).sock.destroy();
    await assert.rejects(hold.exitCode, /closed|reconnecting/);
    await new Promise((r) => setTimeout(r, 300));
    const hello = await client.reconnect();
    assert.notEqual(hello.session, oldSession);
    assert.equal(hello.bootId, bootId);
    const now = (await client.list()).find((c) => c.id === 'long')!;
    assert.equal(now.status, 'running');
    assert.equal(now.pid, before.pid);
    // heartbeat events when asked for (a hello on a live session starts a new one)
    const beats: number[] = [];
    client.on('heartbeat', (e: { timeMs: number }) => beats.push(e.timeMs));
    await client.request('hello', { version: PROTOCOL_VERSION, heartbeatMs: 50 });
    await eventually(() => beats.length >= 3, 5000, 'heartbeat events');
    await client.request('hello', { version: PROTOCOL_VERSION });
    // entropy for the guest's pool: hex, bounded; the boot id stays what it was
    const again = (await client.request('hello', { version: PROTOCOL_VERSION, entropy: 'ab'.repeat(64) })) as { bootId: string };
    assert.equal(again.bootId, bootId);
    for (const entropy of ['abc', 'zz', 'ab'.repeat(65)]) {
      await assert.rejects(client.request('hello', { version: PROTOCOL_VERSION, entropy }), /entropy/, entropy);
    }
    // shares are mounted only by the guest's init (this agent runs on the host)
    await assert.rejects(client.mountShare('nubis', '/run/nubis'), /only by the guest's init/);
    await assert.rejects(client.mountShare('a b', '/run/nubis'), /tag of letters/);
    // the orphaned exec got end of file on stdin and went away
    await eventually(async () => !(await execText('long', ['ps'])).out.includes('cat'), 5000, 'the old exec to end');
    assert.equal((await execText('long', ['echo', 'again'])).out, 'again\n');
  });

  it('shuts down: every container gets SIGTERM, then SIGKILL, and the agent exits', async () => {
    await run('trap', ['sh', '-c', 'trap "exit 0" TERM; echo ready; sleep 1000 & wait']);
    await eventually(async () => (await logOf('trap')).some((e) => e.text === 'ready'), 10_000, 'the trap to be set');
    const pids = (await client.list()).filter((c) => c.status === 'running').map((c) => c.pid!);
    assert.ok(pids.length >= 2);
    const t0 = Date.now();
    await client.shutdown(1500);
    assert.equal(await agentExit, 0);
    assert.ok(Date.now() - t0 >= 1400, 'waited for the one that ignores SIGTERM');
    assert.equal(exits.get('trap')?.exitCode, 0);
    assert.equal(exits.get('long')?.exitCode, 137);
    for (const pid of pids) assert.ok(!alive(pid), `pid ${pid} is gone`);
  });
});
