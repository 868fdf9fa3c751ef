/**
 * The client side of pods/exec: a WebSocket to the API server speaking Kubernetes' channel protocol
 * (v5.channel.k8s.io, else v4): channel 0 stdin, 1 stdout, 2 stderr, 3 the final Status (exit code in
 * details.causes ExitCode), 4 terminal size; v5's 255 closes a channel (stdin EOF).
 */
import WebSocket from 'ws';
import type { RestClient } from '../../client/rest-client.js';
import { unavailable } from '../../lib/errors.js';
import { withExtraCa } from '../../lib/extra-ca.js';

export interface ExecOptions {
  namespace: string;
  pod: string;
  container?: string;
  command: string[];
  stdin?: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  tty?: boolean;
  /** The terminal size to send first and on each resize (tty only). */
  size?: () => { columns: number; rows: number } | undefined;
  /** Emits 'resize' when the terminal changes size (a TTY WriteStream). */
  resizeEvents?: NodeJS.EventEmitter;
}

interface ExecStatus {
  status?: string;
  message?: string;
  reason?: string;
  details?: { causes?: Array<{ reason?: string; message?: string }> };
}

/** The exit code a final Status carries: 0 on Success, the ExitCode cause, else 1. */
export function exitCodeOf(status: ExecStatus): number {
  if (status.status === 'Success') return 0;
  const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
  return cause ? Number(cause.message) : 1;
}

/** Runs a command in a container and resolves with its exit code. */
export function execInPod(client: RestClient, o: ExecOptions): Promise<number> {
  const conn = client.connection;
  const base = new URL(conn.server);
  base.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
  const q = new URLSearchParams();
  for (const c of o.command) q.append('command', c);
  if (o.container) q.set('container', o.container);
  q.set('stdout', 'true');
  q.set('stderr', o.tty ? 'false' : 'true');
  if (o.stdin) q.set('stdin', 'true');
  if (o.tty) q.set('tty', 'true');
  const url = `${base.origin}${base.pathname.replace(/\/$/, '')}/api/v1/namespaces/${encodeURIComponent(o.namespace)}/pods/${encodeURIComponent(o.pod)}/exec?${q}`;
  const headers: Record<string, string> = {};
  if (conn.token) headers.Authorization = `Bearer ${conn.token}`;
  const ws = new WebSocket(url, ['v5.channel.k8s.io', 'v4.channel.k8s.io'], {
    headers,
    ...withExtraCa({ ca: conn.ca, cert: conn.cert, key: conn.key }),
    rejectUnauthorized: !conn.insecureSkipTLSVerify,
    ...(conn.tlsServerName ? { servername: conn.tlsServerName } : {}),
  });
  return new Promise<number>((resolve, reject) => {
    let status: ExecStatus | undefined;
    let settled = false;
    const finish = (err?: Error, code?: number) => {
      if (settled) return;
      settled = true;
      o.stdin?.removeListener('data', onInput);
      o.stdin?.removeListener('end', onInputEnd);
      o.resizeEvents?.removeListener('resize', sendSize);
      (o.stdin as { pause?: () => void } | undefined)?.pause?.();
      if (err) reject(err);
      else resolve(code ?? 0);
    };
    const sendSize = () => {
      const s = o.size?.();
      if (s && ws.readyState === WebSocket.OPEN) ws.send(Buffer.concat([Buffer.from([4]), Buffer.from(JSON.stringify({ Width: s.columns, Height: s.rows }))]));
    };
    const onInput = (chunk: Buffer | string) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(Buffer.concat([Buffer.from([0]), Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk)]));
    };
    const onInputEnd = () => {
      if (ws.readyState === WebSocket.OPEN && ws.protocol === 'v5.channel.k8s.io') ws.send(Buffer.from([255, 0]));
    };
    ws.on('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        let message = `HTTP ${res.statusCode}`;
        try {
          message = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as ExecStatus).message ?? message;
        } catch {
          // not a Status
        }
        finish(unavailable(`exec refused: ${message}`));
      });
    });
    ws.on('open', () => {
      if (o.tty) {
        sendSize();
        o.resizeEvents?.on('resize', sendSize);
      }
      if (o.stdin) {
        o.stdin.on('data', onInput);
        o.stdin.on('end', onInputEnd);
        (o.stdin as { resume?: () => void }).resume?.();
      }
    });
    ws.on('message', (data: Buffer) => {
      if (data.length === 0) return;
      const payload = data.subarray(1);
      switch (data[0]) {
        case 1:
          o.stdout.write(payload);
          break;
        case 2:
          o.stderr.write(payload);
          break;
        case 3:
          try {
            status = JSON.parse(payload.toString('utf8')) as ExecStatus;
          } catch {
            status = { status: 'Failure', message: payload.toString('utf8') };
          }
          break;
      }
    });
    ws.on('error', (err) => finish(unavailable(`exec: ${err.message}`, err)));
    ws.on('close', () => {
      if (!status) return finish(unavailable('exec: the connection closed before the command ended'));
      if (status.status !== 'Success' && !status.details?.causes?.some((c) => c.reason === 'ExitCode')) {
        return finish(unavailable(`exec failed: ${status.message ?? status.reason ?? 'unknown error'}`));
      }
      finish(undefined, exitCodeOf(status));
    });
  });
}
