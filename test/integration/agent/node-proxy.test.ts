/**
 * nodes/proxy and the stats summary behind `top`: `kubectl get --raw /api/v1/nodes/<n>/proxy/stats/summary`
 * reaches the agent through the API server, a pod holding ~20 MB in a shell variable reports that much
 * memory, CPU figures are in cores (not 1000x), and `nubis top pods` reads them through the server.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { AgentEnv, eventually } from './agent-harness.js';

const MiB = 1048576;
let env: AgentEnv;
before(async () => {
  env = await AgentEnv.start('node-p');
});
after(async () => {
  await env?.close();
});

interface PodStats {
  podRef: { name: string };
  cpu: { usageNanoCores: number };
  memory: { workingSetBytes: number };
}

test('nodes/proxy serves the agent stats summary: memory of a 20 MB pod, CPU in sane units; nubis top uses it', async () => {
  // The trailing echo keeps sh alive: a last plain command is exec'd, which would free the 20 MB at once
  // (a bare `sleep` pod really uses well under 1 MiB).
  await env.createPod('hog', {
    containers: [{ name: 'hog', image: 'busybox', command: ['sh', '-c', 'x=$(head -c 20000000 /dev/zero | tr "\\0" a); sleep 600; echo ${#x}'] }],
  });
  await env.waitRunning('hog');
  const pod = await eventually('the pod to hold its 20 MB', async () => {
    const out = await env.kubectl(['get', '--raw', '/api/v1/nodes/node-p/proxy/stats/summary']);
    const summary = JSON.parse(out.stdout) as { node: { nodeName: string; cpu: { usageNanoCores: number } }; pods: PodStats[] };
    assert.equal(summary.node.nodeName, 'node-p');
    // This machine has 2 cores: the node can never use more than 2000m.
    assert.ok(summary.node.cpu.usageNanoCores <= 2.2e9, `node CPU ${summary.node.cpu.usageNanoCores} nanocores`);
    const p = summary.pods.find((s) => s.podRef.name === 'hog');
    return p && p.memory.workingSetBytes >= 15 * MiB ? p : undefined;
  }, 45_000);
  assert.ok(pod.cpu.usageNanoCores >= 0 && pod.cpu.usageNanoCores < 2e9, `pod CPU ${pod.cpu.usageNanoCores} nanocores`);

  const missing = await env.kubectl(['get', '--raw', '/api/v1/nodes/no-such-node/proxy/stats/summary'], { allowFail: true });
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /no-such-node/);

  const nubis = path.resolve(import.meta.dirname, '../../../src/cmd/nubis.ts');
  const top = await promisify(execFile)(process.execPath, ['--import', 'tsx', nubis, 'top', 'pods', '--kubeconfig', env.api.kubeconfig], { timeout: 60_000 });
  const row = /^hog\s+(\d+)m\s+(\d+)Mi\s*$/m.exec(top.stdout);
  assert.ok(row, `nubis top pods printed:\n${top.stdout}`);
  assert.ok(Number(row[1]) < 2000, `CPU ${row[1]}m`);
  assert.ok(Number(row[2]) >= 15, `memory ${row[2]}Mi`);
  await env.deletePod('hog');
});

test('the agent endpoint serves only the API server: no certificate, a node certificate or plain HTTP get nothing', async () => {
  const port = env.agent.port;
  const get = (opts: https.RequestOptions) =>
    new Promise<number>((resolve, reject) => {
      const req = https.get({ host: '127.0.0.1', port, path: '/stats/summary', ca: env.api.ca, checkServerIdentity: () => undefined, ...opts }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
    });
  await assert.rejects(get({}), 'a client without a certificate does not complete the handshake');
  const conn = env.nodeClient.connection;
  assert.equal(await get({ cert: conn.cert, key: conn.key }), 403, "the node's own client certificate is not the API server's");
  const plain = await new Promise<string>((resolve) => {
    http.get({ host: '127.0.0.1', port, path: '/stats/summary' }, () => resolve('answered')).on('error', (err) => resolve(err.message));
  });
  assert.notEqual(plain, 'answered');
  // The serving certificate names the node and chains to the cluster CA.
  const peer = await new Promise<tls.PeerCertificate>((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca: env.api.ca, cert: conn.cert, key: conn.key, checkServerIdentity: () => undefined }, () => {
      resolve(s.getPeerCertificate());
      s.end();
    });
    s.on('error', reject);
  });
  assert.equal(peer.subject.CN, 'system:node:node-p');
});
