/**
 * Debian's docker-registry on 127.0.0.1 for tests: a random free port, a temp storage dir, and
 * optionally htpasswd (basic) or token (bearer, JWTs signed by a key the registry trusts) auth. Also a
 * tiny token service and a counting (and stalling) proxy.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createSign, randomBytes, X509Certificate } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';

export function requireTool(bin: string, pkg: string): void {
  try {
    execFileSync('which', [bin], { stdio: 'ignore' });
  } catch {
    throw new Error(`${bin} is missing: install Debian's ${pkg} (scripts/install.sh --test)`);
  }
}

export async function freePort(): Promise<number> {
  const srv = http.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

export async function tempDir(prefix: string): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix));
}

export type RegistryAuth =
  | { kind: 'htpasswd'; user: string; password: string }
  | { kind: 'token'; realm: string; service: string; issuer: string; certFile: string };

export interface TestRegistry {
  /** host:port */
  host: string;
  base: string;
  storage: string;
  stop(): Promise<void>;
}

/** Starts docker-registry serving `storage` (made if not given; removed by stop() only if made here). */
export async function startRegistry(o: { storage?: string; auth?: RegistryAuth } = {}): Promise<TestRegistry> {
  requireTool('docker-registry', 'docker-registry');
  const dir = await tempDir('nubis-registry-');
  const storage = o.storage ?? path.join(dir, 'storage');
  const port = await freePort();
  let auth = '';
  if (o.auth?.kind === 'htpasswd') {
    requireTool('htpasswd', 'apache2-utils');
    const file = path.join(dir, 'htpasswd');
    execFileSync('htpasswd', ['-Bbc', file, o.auth.user, o.auth.password], { stdio: 'ignore' });
    auth = `auth:\n  htpasswd:\n    realm: nubis-test\n    path: ${file}\n`;
  } else if (o.auth?.kind === 'token') {
    const a = o.auth;
    auth = `auth:\n  token:\n    realm: ${a.realm}\n    service: ${a.service}\n    issuer: ${a.issuer}\n    rootcertbundle: ${a.certFile}\n`;
  }
  const config = path.join(dir, 'config.yml');
  await fs.writeFile(
    config,
    `version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${storage}\n  delete:\n    enabled: true\n` +
      `http:\n  addr: 127.0.0.1:${port}\n${auth}`,
  );
  const child: ChildProcess = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => {
    stderr = (stderr + b.toString()).slice(-4000);
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const base = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    await fs.rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`docker-registry exited: ${stderr}`);
    }
    const ok = await fetch(`${base}/v2/`).then((r) => r.status === 200 || r.status === 401, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`docker-registry did not start: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { host: `127.0.0.1:${port}`, base, storage, stop };
}

function b64url(b: Buffer | string): string {
  return Buffer.from(b).toString('base64url');
}

/**
 * A bearer token service on loopback: a self-signed certificate and key made with openssl, and JWTs
 * carrying the granted actions, checked against optional basic credentials.
 */
export async function startTokenService(o: { user?: string; password?: string } = {}) {
  requireTool('openssl', 'openssl');
  const dir = await tempDir('nubis-token-');
  const keyFile = path.join(dir, 'key.pem');
  const certFile = path.join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=nubis-test-token'],
    { stdio: 'ignore' },
  );
  const key = readFileSync(keyFile);
  const certDer = new X509Certificate(readFileSync(certFile)).raw;
  const issuer = 'nubis-test-issuer';
  const service = 'nubis-test-registry';
  const requests: { scope: string; authorized: boolean }[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const scope = url.searchParams.get('scope') ?? '';
    const header = req.headers.authorization ?? '';
    const given = header.startsWith('Basic ') ? Buffer.from(header.slice(6), 'base64').toString() : undefined;
    const authorized = given !== undefined && given === `${o.user}:${o.password}`;
    requests.push({ scope, authorized });
    if (o.user && !authorized) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="token"' }).end();
      return;
    }
    const [type, name, actions] = scope.split(':');
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: issuer,
      sub: given?.split(':')[0] ?? '',
      aud: url.searchParams.get('service') ?? service,
      exp: now + 600,
      nbf: now - 10,
      iat: now,
      jti: randomBytes(8).toString('hex'),
      access: type === 'repository' && name ? [{ type, name, actions: (actions ?? '').split(',').filter((a) => a === 'pull') }] : [],
    };
    const head = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', x5c: [certDer.toString('base64')] }));
    const body = b64url(JSON.stringify(claims));
    const sig = createSign('RSA-SHA256').update(`${head}.${body}`).sign(key);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: `${head}.${body}.${b64url(sig)}` }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certFile,
    requests,
    stop: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A loopback proxy in front of a registry that counts GETs per path (and their Range headers) and can
 * stall a blob after sending part of it, to stand in for a broken connection.
 */
export async function startCountingProxy(target: string) {
  const gets: { path: string; range?: string; status?: number }[] = [];
  const stall = { digest: '', afterBytes: 0, sent: 0 };
  const server = http.createServer((req, res) => {
    const entry: { path: string; range?: string; status?: number } = { path: req.url ?? '', range: req.headers.range };
    if (req.method === 'GET') gets.push(entry);
    const up = http.request(`${target}${req.url}`, { method: req.method, headers: { ...req.headers, host: new URL(target).host } }, (ur) => {
      entry.status = ur.statusCode;
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      const stalling = stall.digest && req.url?.includes(stall.digest);
      if (!stalling) {
        ur.pipe(res);
        return;
      }
      ur.on('data', (c: Buffer) => {
        if (stall.sent >= stall.afterBytes) return;
        const part = c.subarray(0, stall.afterBytes - stall.sent);
        stall.sent += part.length;
        res.write(part);
        if (stall.sent >= stall.afterBytes) ur.pause(); // and never send the rest
      });
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    gets,
    stall,
    /** GETs of blob `digest`. */
    blobGets: (digest: string) => gets.filter((g) => g.path.includes(`/blobs/${digest}`)),
    stop: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
