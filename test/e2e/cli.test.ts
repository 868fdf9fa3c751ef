/**
 * The CLI and kubectl against a server and three agents (processes, SQLite): `nubis run --rm`, `run -it`
 * in tmux, logs/exec/scale/rollout/cordon/drain through kubectl 1.32 and nubis, and `top`.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { requireKubectl } from '../integration/apiserver/harness.js';
import { deployment, E2eCluster, eventually, NUBIS } from './cluster.js';

function tmux(args: string[]): string {
  return execFileSync('tmux', args, { encoding: 'utf8' });
}

describe('CLI and kubectl against a three-node cluster', () => {
  let c: E2eCluster;
  before(async () => {
    requireKubectl();
    c = await E2eCluster.start({ agents: 3 });
  });
  after(async () => c?.close());

  it('nubis run --rm prints the output, exits with the code and leaves no pod', async () => {
    const r = await c.nubis(['run', '--rm', 'busybox', 'echo', 'hi']);
    assert.equal(r.stdout, 'hi\n');
    const failed = await c.nubis(['run', '--rm', 'busybox', '--', 'sh', '-c', 'echo oops >&2; exit 3'], { allowFail: true });
    assert.equal(failed.code, 3);
    assert.match(failed.stdout + failed.stderr, /oops/);
    assert.deepEqual(await c.pods(), []);
  });

  it('nubis run -it gives a terminal (in tmux)', async () => {
    const session = `nubis-e2e-${process.pid}`;
    tmux(['new-session', '-d', '-s', session, '-x', '120', '-y', '30', `KUBECONFIG=${c.kubeconfig} ${NUBIS} run -it --rm --name tty-pod busybox sh; echo EXITED-$?; sleep 30`]);
    try {
      await eventually('a prompt', async () => /[#$] ?$/m.test(tmux(['capture-pane', '-p', '-t', session])), 60_000);
      tmux(['send-keys', '-t', session, 'echo $((6*7)) && [ -t 0 ] && echo is-a-tty', 'Enter']);
      await eventually('the answer', async () => /^42\s*$/m.test(tmux(['capture-pane', '-p', '-t', session])) && tmux(['capture-pane', '-p', '-t', session]).includes('is-a-tty'), 20_000);
      tmux(['send-keys', '-t', session, 'exit 5', 'Enter']);
      await eventually('the exit code', async () => tmux(['capture-pane', '-p', '-t', session]).includes('EXITED-5'), 30_000);
      await eventually('the pod to be removed', async () => (await c.pods()).length === 0, 30_000);
    } finally {
      execFileSync('tmux', ['kill-session', '-t', session], { stdio: 'ignore' });
    }
  });

  it('kubectl run -i --rm and kubectl run -it attach to the container (its input, output and terminal)', async () => {
    const r = await c.kubectl(['run', 'greeter', '--rm', '-i', '--restart=Never', '--image=busybox', '--', 'sh', '-c', 'read x; echo "hello $x"'], { input: 'you\n' });
    assert.match(r.stdout, /hello you/);
    await eventually('the pod to be removed', async () => !(await c.pods()).some((p) => p.metadata.name === 'greeter'), 30_000);
    const session = `nubis-e2e-kubectl-${process.pid}`;
    tmux(['new-session', '-d', '-s', session, '-x', '120', '-y', '30', `kubectl --kubeconfig ${c.kubeconfig} run tty --rm -it --restart=Never --image=busybox -- sh; echo EXITED; sleep 30`]);
    try {
      await eventually('a prompt', async () => /[#$] ?$/m.test(tmux(['capture-pane', '-p', '-t', session])), 60_000);
      tmux(['send-keys', '-t', session, 'echo $((6*7)) && [ -t 0 ] && echo is-a-tty && stty size', 'Enter']);
      await eventually('the answer, on a terminal of the pane\'s size', async () => {
        const pane = tmux(['capture-pane', '-p', '-t', session]);
        return /^42\s*$/m.test(pane) && pane.includes('is-a-tty') && /^30 120\s*$/m.test(pane);
      }, 20_000).catch((e: Error) => assert.fail(`${e.message}:\n${tmux(['capture-pane', '-p', '-t', session])}`));
      tmux(['send-keys', '-t', session, 'exit', 'Enter']);
      await eventually('kubectl to end', async () => tmux(['capture-pane', '-p', '-t', session]).includes('EXITED'), 30_000);
      await eventually('the pod to be removed', async () => !(await c.pods()).some((p) => p.metadata.name === 'tty'), 30_000);
    } finally {
      execFileSync('tmux', ['kill-session', '-t', session], { stdio: 'ignore' });
    }
  });

  it('kubectl and nubis: logs, exec, scale, rollout, top, cordon and drain', async () => {
    await c.kubectl(['apply', '-f', '-'], { input: deployment('web', 3) });
    await c.kubectl(['rollout', 'status', 'deployment/web', '--timeout=90s'], { timeoutMs: 100_000 });
    const pods = await c.readyPods('app=web');
    const pod = pods[0]!.metadata.name;

    assert.match((await c.kubectl(['logs', pod])).stdout, /^started /);
    assert.match((await c.nubis(['logs', 'deploy/web'])).stdout, /^started /);
    assert.equal((await c.kubectl(['exec', pod, '--', 'sh', '-c', 'echo $((2+3))'])).stdout, '5\n');
    assert.equal((await c.nubis(['exec', '-i', pod, '--', 'cat'], { input: 'through stdin' })).stdout, 'through stdin');
    assert.equal((await c.nubis(['exec', pod, '--', 'sh', '-c', 'exit 7'], { allowFail: true })).code, 7);

    await c.kubectl(['scale', 'deployment/web', '--replicas=5']);
    await eventually('5 replicas', async () => (await c.readyPods('app=web')).length === 5, 60_000);
    await c.nubis(['scale', 'deployment/web', '--replicas', '3']);
    await eventually('3 replicas', async () => (await c.readyPods('app=web')).length === 3 && (await c.pods('app=web')).length === 3, 60_000);

    await c.kubectl(['rollout', 'restart', 'deployment/web']);
    await c.kubectl(['rollout', 'status', 'deployment/web', '--timeout=90s'], { timeoutMs: 100_000 });
    assert.match((await c.kubectl(['rollout', 'history', 'deployment/web'])).stdout, /^2\s/m);
    await c.kubectl(['rollout', 'undo', 'deployment/web']);
    await c.nubis(['rollout', 'status', 'deployment/web', '--timeout', '90s'], { timeoutMs: 100_000 });
    assert.match((await c.nubis(['rollout', 'history', 'deployment/web'])).stdout, /^3\s/m);

    const topNodes = (await c.nubis(['top', 'nodes'])).stdout;
    for (const a of c.agents) assert.match(topNodes, new RegExp(`^${a.name}\\s+\\d+m\\s+\\d+%\\s+\\d+Mi\\s+\\d+%`, 'm'));
    const topPods = await eventually('pod figures', async () => {
      const out = (await c.nubis(['top', 'pods'], { allowFail: true })).stdout;
      return (out.match(/^web-\S+\s+\d+m\s+\d+Mi$/gm) ?? []).length === 3 ? out : undefined;
    }, 30_000);
    assert.match(topPods, /^NAME\s+CPU\(cores\)\s+MEMORY\(bytes\)/);

    // Drain one node with kubectl, another with nubis: the Deployment recreates the pods elsewhere.
    const [n0, n1, n2] = c.agents.map((a) => a.name);
    assert.match((await c.kubectl(['cordon', n0!])).stdout, new RegExp(`node/${n0} cordoned`));
    assert.match((await c.kubectl(['drain', n0!, '--ignore-daemonsets', '--timeout=60s'], { timeoutMs: 90_000 })).stdout, new RegExp(`node/${n0} drained`));
    await eventually(`no pod on ${n0}`, async () => {
      const ready = await c.readyPods('app=web');
      return ready.length === 3 && ready.every((p) => p.spec.nodeName !== n0);
    }, 60_000);
    const drained = (await c.nubis(['node', 'drain', n1!, '--timeout', '60s'], { timeoutMs: 90_000 })).stdout;
    assert.match(drained, new RegExp(`node/${n1} cordoned[\\s\\S]*node/${n1} drained`));
    const onLast = await eventually(`3 replicas on ${n2}`, async () => {
      const ready = await c.readyPods('app=web');
      return ready.length === 3 && ready.every((p) => p.spec.nodeName === n2) ? ready : undefined;
    }, 60_000);
    assert.equal(onLast.length, 3);
    assert.match((await c.nubis(['node', 'ls'])).stdout, new RegExp(`${n0}\\s+Ready,SchedulingDisabled`));
    await c.kubectl(['uncordon', n0!]);
    assert.match((await c.nubis(['node', 'uncordon', n1!])).stdout, new RegExp(`node/${n1} uncordoned`));
  });
});
