/**
 * Restart policies and probes with real containers: CrashLoopBackOff with growing back-off under Always,
 * completion under OnFailure and Never (Succeeded / Failed), an OOM kill reported as OOMKilled, liveness
 * failures (exec and HTTP) restarting a container, readiness flipping Ready, and `logs --previous`.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { AgentEnv, containerStatus, eventually } from './agent-harness.js';

let env: AgentEnv;
before(async () => {
  env = await AgentEnv.start('node-r');
});
after(async () => {
  await env?.close();
});

test('restartPolicy Always: a crashing container restarts with back-off and shows CrashLoopBackOff', async () => {
  await env.createPod('crasher', { containers: [{ name: 'app', image: 'busybox', command: ['sh', '-c', 'echo run; exit 3'] }] });
  const seen = new Set<string>();
  const pod = await env.waitPod('crasher', 'restarted at least twice, in CrashLoopBackOff', (p) => {
    const s = p.status?.containerStatuses?.[0];
    if (s?.state?.waiting?.reason) seen.add(s.state.waiting.reason);
    return (s?.restartCount ?? 0) >= 2 && s?.state?.waiting?.reason === 'CrashLoopBackOff';
  });
  const s = containerStatus(pod, 'app');
  assert.match(s.state?.waiting?.message ?? '', /^back-off \ds restarting failed container=app pod=crasher_default/);
  assert.equal(s.lastState?.terminated?.exitCode, 3);
  assert.equal(s.lastState?.terminated?.reason, 'Error');
  assert.equal(pod.status?.phase, 'Running', 'restartPolicy Always keeps the pod Running');
  assert.ok(seen.has('CrashLoopBackOff'));
  const prev = await env.kubectl(['logs', 'crasher', '--previous']);
  assert.equal(prev.stdout, 'run\n');
  const events = (await env.kubectl(['get', 'events', '--field-selector', 'involvedObject.name=crasher', '-o', 'jsonpath={range .items[*]}{.reason}{" "}{.count}{"\\n"}{end}'])).stdout;
  assert.match(events, /^BackOff \d+$/m, events);
  assert.match(events, /^Started [2-9]\d*$/m, `restarts count up one Started event: ${events}`);
  await env.deletePod('crasher');
});

test('OnFailure: a failing container restarts until it succeeds, then the pod Succeeded; Never: a failure is Failed', async () => {
  await env.createPod('retry', {
    restartPolicy: 'OnFailure',
    containers: [{ name: 'job', image: 'busybox', command: ['sh', '-c', 'n=$(cat /data/n 2>/dev/null || echo 0); echo $((n+1)) > /data/n; [ $n -ge 1 ]'], volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
    volumes: [{ name: 'data', emptyDir: {} }],
  });
  await env.createPod('once', { restartPolicy: 'Never', containers: [{ name: 'job', image: 'busybox', command: ['sh', '-c', 'exit 7'] }] });
  await env.createPod('done', { restartPolicy: 'Never', containers: [{ name: 'job', image: 'busybox', command: ['true'] }] });
  const retry = await env.waitPod('retry', 'Succeeded', (p) => p.status?.phase === 'Succeeded');
  const rs = containerStatus(retry, 'job');
  assert.equal(rs.restartCount, 1);
  assert.equal(rs.state?.terminated?.reason, 'Completed');
  assert.equal(rs.lastState?.terminated?.exitCode, 1);
  const once = await env.waitPod('once', 'Failed', (p) => p.status?.phase === 'Failed');
  assert.equal(containerStatus(once, 'job').state?.terminated?.exitCode, 7);
  assert.equal(containerStatus(once, 'job').restartCount, 0);
  const done = await env.waitPod('done', 'Succeeded', (p) => p.status?.phase === 'Succeeded');
  assert.equal(done.status?.conditions?.find((c) => c.type === 'Ready')?.reason, 'PodCompleted');
  for (const n of ['retry', 'once', 'done']) await env.deletePod(n);
});

test('a container over its memory limit is OOMKilled', async () => {
  await env.createPod('hog', {
    restartPolicy: 'Never',
    containers: [{ name: 'hog', image: 'busybox', command: ['sh', '-c', 'x=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; while :; do x="$x$x"; done'], resources: { limits: { memory: '16Mi' } } }],
  });
  const pod = await env.waitPod('hog', 'Failed', (p) => p.status?.phase === 'Failed');
  const t = containerStatus(pod, 'hog').state?.terminated;
  assert.equal(t?.reason, 'OOMKilled');
  assert.equal(t?.exitCode, 137);
  await env.deletePod('hog');
});

test('liveness probes (exec and HTTP) restart an unhealthy container; readiness flips Ready both ways', async () => {
  await env.createPod('probed', {
    containers: [
      {
        name: 'exec-live',
        image: 'busybox',
        command: ['sh', '-c', 'touch /tmp/healthy; sleep 2; rm /tmp/healthy; exec sleep 600'],
        livenessProbe: { exec: { command: ['cat', '/tmp/healthy'] }, periodSeconds: 1, failureThreshold: 2 },
      },
      {
        name: 'http-live',
        image: 'busybox',
        command: ['sh', '-c', 'mkdir -p /www; echo ok > /www/healthz; httpd -p 127.0.0.1:8081 -h /www; sleep 2; rm /www/healthz; exec sleep 600'],
        livenessProbe: { httpGet: { path: '/healthz', port: 8081 }, periodSeconds: 1, failureThreshold: 2 },
      },
      {
        name: 'ready',
        image: 'busybox',
        command: ['sh', '-c', 'mkdir -p /www; httpd -p 127.0.0.1:8082 -h /www; exec sleep 600'],
        readinessProbe: { httpGet: { path: '/index.html', port: 8082 }, periodSeconds: 1, failureThreshold: 1 },
      },
    ],
  });
  await env.waitPod('probed', 'both liveness probes restarted their containers', (p) =>
    ['exec-live', 'http-live'].every((n) => (p.status?.containerStatuses?.find((c) => c.name === n)?.restartCount ?? 0) >= 1),
  );
  const notReady = await env.getPod('probed');
  assert.equal(containerStatus(notReady, 'ready').ready, false);
  assert.equal(notReady.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'False');
  await env.kubectl(['exec', 'probed', '-c', 'ready', '--', 'sh', '-c', 'echo hi > /www/index.html']);
  await env.waitPod('probed', 'container "ready" to become ready', (p) => p.status?.containerStatuses?.find((c) => c.name === 'ready')?.ready === true);
  await env.kubectl(['exec', 'probed', '-c', 'ready', '--', 'rm', '/www/index.html']);
  await env.waitPod('probed', 'container "ready" to become unready again', (p) => p.status?.containerStatuses?.find((c) => c.name === 'ready')?.ready === false);
  const p = await env.getPod('probed');
  assert.equal(containerStatus(p, 'ready').restartCount, 0, 'readiness never restarts');
  assert.equal(containerStatus(p, 'exec-live').lastState?.terminated !== undefined, true);
  await eventually('kubectl to show the restarts', async () => (await env.kubectl(['get', 'pod', 'probed'])).stdout.includes('probed'));
  const events = (await env.kubectl(['get', 'events', '--field-selector', 'involvedObject.name=probed,reason=Unhealthy', '-o', 'jsonpath={range .items[*]}{.message}{"\\n"}{end}'])).stdout;
  assert.match(events, /^Liveness probe failed: command exited with 1$/m, events);
  assert.match(events, /^Liveness probe failed: HTTP probe failed with statuscode: 404$/m, events);
  assert.match(events, /^Readiness probe failed: HTTP probe failed with statuscode: 404$/m, events);
  await env.deletePod('probed');
});
