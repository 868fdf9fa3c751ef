/**
 * kubectl attach through the API server to the agent: output from the moment of attaching, stdin for
 * containers that keep one (closed after the first session with stdinOnce, kept for the next without),
 * clear refusals, and a detach that leaves the container running; and exec's terminal size from the start.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { AgentEnv, containerStatus, eventually } from './agent-harness.js';

let env: AgentEnv;
before(async () => {
  env = await AgentEnv.start();
});
after(async () => {
  await env?.close();
});

/** kubectl attach left running: its output so far, and a way to stop it (a detach). */
function attachInBackground(args: string[], input: string) {
  const child = spawn('kubectl', ['--kubeconfig', env.api.kubeconfig, 'attach', ...args], {
    env: { ...process.env, KUBECACHEDIR: path.join(env.dataDir, 'kubecache') },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  // Written, not ended: kubectl would close the container's stdin at the end of its own.
  child.stdin.write(input);
  return {
    output: () => out,
    errors: () => err,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

test('kubectl attach -i with stdinOnce: what is typed reaches the process, stdin then closes and the session ends with it', async () => {
  await env.createPod('once', {
    restartPolicy: 'Never',
    containers: [{ name: 'main', image: 'busybox', stdin: true, stdinOnce: true, command: ['sh', '-c', 'while read l; do echo "got $l"; done; echo bye'] }],
  });
  await env.waitRunning('once');
  const r = await env.kubectl(['attach', '-i', 'once'], { input: 'one\ntwo\n', timeoutMs: 30_000 });
  assert.match(r.stdout, /got one\ngot two\nbye\n/);
  const pod = await env.waitPod('once', 'the container to end after its stdin closed', (p) => containerStatus(p, 'main').state?.terminated !== undefined);
  assert.equal(containerStatus(pod, 'main').state?.terminated?.exitCode, 0);
});

test('without stdinOnce stdin stays open across sessions; a detach leaves the container running', async () => {
  await env.createPod('keep', { containers: [{ name: 'main', image: 'busybox', stdin: true, command: ['sh', '-c', 'while read l; do echo "got $l"; done'] }] });
  await env.waitRunning('keep');
  for (const word of ['first', 'second']) {
    const a = attachInBackground(['-i', 'keep'], `${word}\n`);
    await eventually(`"got ${word}" through attach`, async () => a.output().includes(`got ${word}`), 20_000).catch((e: Error) => assert.fail(`${e.message}: ${a.errors()}`));
    await a.stop();
  }
  const pod = await env.getPod('keep');
  assert.ok(containerStatus(pod, 'main').state?.running, 'still running after two detaches');
  assert.equal(containerStatus(pod, 'main').restartCount, 0);
  assert.equal((await env.kubectl(['logs', 'keep'])).stdout, 'got first\ngot second\n');
});

test('kubectl attach without -i shows output written after attaching, until the container ends', async () => {
  await env.createPod('talker', {
    restartPolicy: 'Never',
    containers: [{ name: 'main', image: 'busybox', command: ['sh', '-c', 'echo early; sleep 2; for i in 1 2 3; do echo "line $i"; echo "err $i" >&2; sleep 0.3; done'] }],
  });
  await env.waitRunning('talker');
  const r = await env.kubectl(['attach', 'talker'], { timeoutMs: 30_000 });
  assert.match(r.stdout, /line 1\nline 2\nline 3\n/);
  assert.doesNotMatch(r.stdout, /err/, 'stderr stays apart');
  assert.match(r.stderr, /err 1/);
});

test('attach refuses stdin to a container that keeps none, and containers that do not run', async () => {
  await env.createPod('nostdin', { containers: [{ name: 'main', image: 'busybox', command: ['sleep', '600'] }] });
  await env.waitRunning('nostdin');
  const r = await env.kubectl(['attach', '-i', 'nostdin'], { input: 'x\n', allowFail: true, timeoutMs: 30_000 });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /stdin/);
  const missing = await env.kubectl(['attach', 'nostdin', '-c', 'other'], { allowFail: true });
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /other/);
});

test('kubectl exec -it starts the terminal at the client\'s size (what runs first sees it)', async () => {
  await env.createPod('terminal', { containers: [{ name: 'main', image: 'busybox', command: ['sleep', '600'] }] });
  await env.waitRunning('terminal');
  const kubectl = `kubectl --kubeconfig ${env.api.kubeconfig} exec -it terminal -- stty size`;
  // script gives kubectl a terminal of 40x100 (asynchronously: the API server runs in this process).
  const { stdout } = await promisify(execFile)('script', ['-qec', `stty rows 40 cols 100; ${kubectl}`, '/dev/null'], { encoding: 'utf8', timeout: 30_000 });
  assert.match(stdout, /^40 100\r?$/m, JSON.stringify(stdout));
});
