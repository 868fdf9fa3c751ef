import assert from 'node:assert/strict';
import { test } from 'node:test';
import { httpProbeRequest, ProbeState, ProbeWorker, resolvePort } from './probes.js';

test('the result flips only after the thresholds, and counting restarts on the other outcome', () => {
  const s = new ProbeState({ successThreshold: 2, failureThreshold: 3 }, false);
  assert.equal(s.record(true), false);
  assert.equal(s.record(false), false, 'a failure resets the success count');
  assert.equal(s.record(true), false);
  assert.equal(s.record(true), true);
  assert.equal(s.result, true);
  assert.equal(s.record(false), false);
  assert.equal(s.record(false), false);
  assert.equal(s.record(true), false, 'a success resets the failure count');
  assert.equal(s.record(false), false);
  assert.equal(s.record(false), false);
  assert.equal(s.record(false), true);
  assert.equal(s.result, false);
});

test('ports by number or name; the HTTP request carries path, custom headers and Connection: close', () => {
  const c = { name: 'web', ports: [{ name: 'http', containerPort: 8080 }] };
  assert.equal(resolvePort(80, c), 80);
  assert.equal(resolvePort('8081', c), 8081);
  assert.equal(resolvePort('http', c), 8080);
  assert.equal(resolvePort('metrics', c), undefined);
  const req = httpProbeRequest({ path: 'healthz', port: 8080, httpHeaders: [{ name: 'X-Probe', value: 'yes' }, { name: 'host', value: 'web.local' }] }, '127.0.0.1', 8080);
  assert.equal(req, 'GET /healthz HTTP/1.1\r\nhost: web.local\r\nUser-Agent: kube-probe/1.32\r\nAccept: */*\r\nX-Probe: yes\r\nConnection: close\r\n\r\n');
});

test('a worker waits for its gate, reports each flip, and a startup probe stops once it succeeded', async () => {
  const outcomes = [false, true, true, true];
  let runs = 0;
  let open = false;
  const flips: boolean[] = [];
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const w = new ProbeWorker(
    'startup',
    { periodSeconds: 1, failureThreshold: 3, successThreshold: 1 },
    async () => {
      const ok = outcomes[runs++] ?? true;
      return { ok };
    },
    (x) => {
      flips.push(x.result);
      done();
    },
    () => open,
    false,
    5,
  );
  const keepAlive = setInterval(() => {}, 1000); // the worker's timers do not hold the process
  w.start();
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(runs, 0, 'gate closed: no run');
  open = true;
  await finished;
  await new Promise((r) => setTimeout(r, 40));
  w.stop();
  clearInterval(keepAlive);
  assert.deepEqual(flips, [true]);
  assert.equal(runs, 2, 'no more runs after the startup probe succeeded');
});
