/**
 * A flood of API requests from one user, as a separate process (`node --import tsx test/e2e/flooder.ts`)
 * so that the test's own checks do not share its event loop. It sends to loopback only and stops by
 * itself: after `durationMs`, after `maxRequests`, or when the server has been gone for a while. Each
 * of `concurrency` loops sends its next request as soon as the last one is answered on a kept-alive
 * connection, cycling through lists, gets and creates (a bounded number); `connectionLoops` more do the
 * same over a fresh TLS connection each time; besides, it holds watches and TCP connections that never
 * start their TLS handshake (one the server drops is opened again). Progress is printed every second
 * as a JSON line; the last line is the total ({"done":true,...}).
 *
 * Configuration comes as JSON in the FLOOD environment variable (FloodConfig).
 */
import https from 'node:https';
import net from 'node:net';

export interface FloodConfig {
  /** https://127.0.0.1:<port> */
  url: string;
  ca: string;
  token: string;
  /** Where the flooding user may list and create ConfigMaps. */
  namespace: string;
  concurrency: number;
  /** Loops that open a new TLS connection for every request (handshakes are the costly part of a flood). */
  connectionLoops: number;
  durationMs: number;
  maxRequests: number;
  /** ConfigMaps created at most. */
  maxCreates: number;
  /** Connections opened and held without ever starting TLS (a careless or hostile client). */
  stalledConnections: number;
  /** Watches of the user's ConfigMaps held open (long-running: no in-flight limit holds them). */
  watches: number;
}

export interface FloodStats {
  sent: number;
  /** Answers by HTTP status. */
  codes: Record<string, number>;
  /** Requests that got no answer (connection refused or reset). */
  errors: number;
  elapsedMs: number;
  done?: boolean;
}

function main(): void {
  const config = JSON.parse(process.env.FLOOD ?? '{}') as FloodConfig;
  const base = new URL(config.url);
  if (base.hostname !== '127.0.0.1' && base.hostname !== 'localhost') throw new Error(`the flood goes to loopback only, not ${base.hostname}`);
  const keepAlive = new https.Agent({ keepAlive: true, maxSockets: config.concurrency, ca: config.ca });
  const stats: FloodStats = { sent: 0, codes: {}, errors: 0, elapsedMs: 0 };
  const started = Date.now();
  const deadline = started + config.durationMs;
  let creates = 0;
  let refusedSince = 0;
  let stopping = false;

  const send = (i: number, fresh: boolean): Promise<void> =>
    new Promise((resolve) => {
      const kind = i % 10;
      const ns = `/api/v1/namespaces/${config.namespace}`;
      const create = kind === 9 && creates < config.maxCreates;
      if (create) creates++;
      const body = create ? JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'flood-' }, data: { n: String(i), pad: 'x'.repeat(512) } }) : undefined;
      const path = create ? `${ns}/configmaps` : kind < 5 ? `${ns}/configmaps?limit=50` : kind < 8 ? `${ns}/pods` : '/api/v1/namespaces/kube-system/pods';
      const req = https.request(
        {
          host: base.hostname,
          port: base.port,
          method: create ? 'POST' : 'GET',
          path,
          agent: fresh ? new https.Agent({ keepAlive: false, ca: config.ca }) : keepAlive,
          headers: { Authorization: `Bearer ${config.token}`, Accept: 'application/json', ...(body ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } : {}) },
          timeout: 30_000,
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            stats.codes[res.statusCode ?? 0] = (stats.codes[res.statusCode ?? 0] ?? 0) + 1;
            refusedSince = 0;
            resolve();
          });
          res.on('error', () => resolve());
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => {
        stats.errors++;
        refusedSince ||= Date.now();
        resolve();
      });
      req.end(body);
    });

  const loop = async (fresh: boolean): Promise<void> => {
    while (!stopping && Date.now() < deadline && stats.sent < config.maxRequests) {
      // The server went away (stopped by the test): nothing more to flood.
      if (refusedSince && Date.now() - refusedSince > 2000) break;
      const i = stats.sent++;
      await send(i, fresh);
      if (refusedSince) await new Promise((r) => setTimeout(r, 50));
    }
  };

  const report = (done = false) => {
    stats.elapsedMs = Date.now() - started;
    process.stdout.write(`${JSON.stringify({ ...stats, ...(done ? { done: true } : {}) })}\n`);
  };
  const held: Array<{ destroy(): void }> = [];
  // A stalled connection the server drops is opened again, so there are always as many.
  const stall = (): void => {
    const socket = net.connect({ host: base.hostname, port: Number(base.port) }).on('error', () => {});
    socket.on('close', () => !stopping && !refusedSince && setTimeout(stall, 100));
    held.push(socket);
  };
  for (let i = 0; i < config.stalledConnections; i++) stall();
  for (let i = 0; i < config.watches; i++) {
    const req = https.get({ host: base.hostname, port: base.port, path: `/api/v1/namespaces/${config.namespace}/configmaps?watch=1`, ca: config.ca, agent: false, headers: { Authorization: `Bearer ${config.token}` } }, (res) => res.resume().on('error', () => {}));
    req.on('error', () => {});
    held.push(req);
  }
  const progress = setInterval(report, 1000);
  process.on('SIGTERM', () => (stopping = true));
  const loops = [...Array.from({ length: config.concurrency }, () => loop(false)), ...Array.from({ length: config.connectionLoops }, () => loop(true))];
  void Promise.all(loops).then(() => {
    clearInterval(progress);
    stopping = true;
    keepAlive.destroy();
    for (const h of held) h.destroy();
    report(true);
  });
}

main();
