/**
 * Test harness: an API server on 127.0.0.1 with a random port and a temp data dir (SQLite by default, or
 * a given store), plus helpers to run the real kubectl (1.32, on PATH) with the written admin.kubeconfig
 * and to send raw HTTPS requests.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { randomBytes } from 'node:crypto';
import { ApiServer, type ApiServerOptions } from '../../../src/apiserver/api-server.js';
import { addTokenEntry } from '../../../src/apiserver/tokens.js';
import type { ObjectStore } from '../../../src/store/object-store.js';
import { SqliteStore, sqliteStoreFile } from '../../../src/store/sqlite/sqlite-store.js';

export function requireKubectl(): void {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
  } catch {
    throw new Error('kubectl is not on PATH: the API server tests need kubectl 1.32');
  }
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json(): any;
}

export class TestServer {
  private constructor(
    readonly server: ApiServer,
    readonly store: ObjectStore,
    readonly dataDir: string,
    readonly ca: string,
    readonly token: string,
    private readonly ownsStore: boolean,
  ) {}

  static async start(options: { store?: ObjectStore; watch?: ApiServerOptions['watch']; gcIntervalMs?: number; audit?: ApiServerOptions['audit']; fairness?: ApiServerOptions['fairness'] } = {}): Promise<TestServer> {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'nubis-apiserver-'));
    const store = options.store ?? SqliteStore.open({ file: sqliteStoreFile(dataDir) });
    try {
      const server = await ApiServer.start({ dataDir, store, listen: '127.0.0.1', port: 0, watch: options.watch, gcIntervalMs: options.gcIntervalMs ?? 1000, audit: options.audit, fairness: options.fairness });
      const kc = YAML.parse(await readFile(server.kubeconfig, 'utf8'));
      const ca = Buffer.from(kc.clusters[0].cluster['certificate-authority-data'], 'base64').toString('utf8');
      return new TestServer(server, store, dataDir, ca, kc.users[0].user.token, !options.store);
    } catch (err) {
      if (!options.store) await store.close();
      await rm(dataDir, { recursive: true, force: true });
      throw err;
    }
  }

  get kubeconfig(): string {
    return this.server.kubeconfig;
  }

  /** Runs kubectl against this server; rejects with stderr on a non-zero exit unless `allowFail`. */
  kubectl(args: string[], opts: { input?: string; env?: Record<string, string>; allowFail?: boolean; timeoutMs?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = execFile(
        'kubectl',
        ['--kubeconfig', this.kubeconfig, ...args],
        { env: { ...process.env, KUBECACHEDIR: path.join(this.dataDir, 'kubecache'), ...opts.env }, timeout: opts.timeoutMs ?? 30_000, maxBuffer: 16 * 1024 * 1024 },
        (err, stdout, stderr) => {
          const code = err ? ((err as { code?: number }).code ?? 1) : 0;
          if (code !== 0 && !opts.allowFail) reject(new Error(`kubectl ${args.join(' ')} failed (${code}): ${stderr}`));
          else resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
        },
      );
      if (opts.input !== undefined) child.stdin!.end(opts.input);
      else child.stdin!.end();
    });
  }

  /** One HTTPS request with the admin token (or `token`, or none with token: null). */
  request(method: string, urlPath: string, opts: { body?: string | Buffer; headers?: Record<string, string>; token?: string | null } = {}): Promise<HttpAnswer> {
    const token = opts.token === undefined ? this.token : opts.token;
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port: this.server.port,
          method,
          path: urlPath,
          ca: this.ca,
          headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(opts.body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...opts.headers },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const body = Buffer.concat(chunks).toString('utf8');
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${urlPath} timed out`)));
      req.end(opts.body);
    });
  }

  /**
   * A bearer token for a user of the test's choosing, added to the server's token file (the way Tenant
   * users arrive is tested elsewhere); resolves once the server accepts it.
   */
  async addUser(name: string, groups: string[] = []): Promise<string> {
    const token = `nubis-test-${randomBytes(16).toString('hex')}`;
    await addTokenEntry(this.dataDir, token, { id: `test-${name}-${randomBytes(4).toString('hex')}`, user: name, groups });
    await eventually(`the server to accept ${name}'s token`, async () => (await this.request('GET', '/version', { token })).status !== 401, 10_000);
    return token;
  }

  /** Runs kubectl as the user holding `token`. */
  kubectlAs(token: string, args: string[], opts: { input?: string; allowFail?: boolean } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
    return this.kubectl(['--token', token, ...args], opts);
  }

  async close(): Promise<void> {
    await this.server.close();
    if (this.ownsStore) await this.store.close();
    await rm(this.dataDir, { recursive: true, force: true });
  }
}

/** Polls `check` until it returns true (or a value), failing with `what` after `ms`. */
export async function eventually<T>(what: string, check: () => Promise<T | false | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== false && v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
