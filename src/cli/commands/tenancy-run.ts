/** The tenancy verbs (see tenancy-commands.ts): thin wrappers over the API through client/. */
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { KubeObject } from '../../api/meta.js';
import type { Login, Tenant, User, UserToken } from '../../api/nubis/v1/tenancy.js';
import { emptyKubeconfig, loadKubeconfig, parseKubeconfig, selectContext, writeKubeconfig, type Kubeconfig } from '../../client/kubeconfig.js';
import { RestClient, type ResourceInfo } from '../../client/rest-client.js';
import { errno, invalid } from '../../lib/errors.js';
import type { CliContext } from '../context.js';
import { envOf, openSession, type KubeCliContext, type KubeFlags } from './kube-session.js';

const nubis = (resource: string, kind: string): ResourceInfo => ({ group: 'nubis.dev', version: 'v1', resource, kind, namespaced: false });
const TENANTS = nubis('tenants', 'Tenant');
const USERS = nubis('users', 'User');
const TOKENS = nubis('usertokens', 'UserToken');
const LOGINS = nubis('logins', 'Login');
const NAMESPACES: ResourceInfo = { group: '', version: 'v1', resource: 'namespaces', kind: 'Namespace', namespaced: false };

/** "90s", "10m", "12h", "30d" in seconds. */
function seconds(v: string, flag: string): number {
  const m = /^(\d+)(s|m|h|d)$/.exec(v);
  if (!m) throw invalid(`--${flag} takes a duration such as 30m, 12h or 30d, not "${v}"`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

/** A password from standard input (--password-stdin) or typed at the terminal without echo. */
async function readPassword(ctx: CliContext, fromStdin: boolean | undefined, prompt: string): Promise<string> {
  const stdin = ((ctx as KubeCliContext).stdin ?? process.stdin) as NodeJS.ReadStream;
  if (fromStdin) {
    const chunks: Buffer[] = [];
    for await (const c of stdin) chunks.push(Buffer.from(c as Buffer));
    return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  }
  if (!stdin.isTTY) throw invalid('no terminal to ask for the password on: give --password-stdin');
  ctx.stderr.write(prompt);
  stdin.setRawMode(true);
  let typed = '';
  try {
    for await (const c of stdin) {
      for (const ch of Buffer.from(c as Buffer).toString('utf8')) {
        if (ch === '\r' || ch === '\n') return typed;
        if (ch === '\u0003') throw invalid('cancelled');
        if (ch === '\u007f') typed = typed.slice(0, -1);
        else typed += ch;
      }
    }
    return typed;
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
    ctx.stderr.write('\n');
  }
}

export async function runTenantCreate(ctx: CliContext, name: string, o: KubeFlags & { displayName?: string; runtimeClass?: string; allow?: string[]; quota?: string[]; namespaceFor?: string }): Promise<void> {
  const s = await openSession(ctx, o);
  try {
    const quota: Record<string, string> = {};
    for (const q of o.quota ?? []) {
      const [k, v] = q.split('=');
      if (!k || !v) throw invalid(`--quota takes name=quantity, not "${q}"`);
      quota[k] = v;
    }
    const spec: Tenant['spec'] = {
      ...(o.displayName ? { displayName: o.displayName } : {}),
      ...(o.runtimeClass ? { runtimeClassName: o.runtimeClass } : {}),
      ...(o.allow?.length ? { allow: Object.fromEntries(o.allow.map((a) => [a, true])) } : {}),
      ...(Object.keys(quota).length ? { quota } : {}),
    };
    await s.client.create<Tenant>(TENANTS, { apiVersion: 'nubis.dev/v1', kind: 'Tenant', metadata: { name }, spec });
    ctx.stdout.write(`tenant.nubis.dev/${name} created\n`);
    if (o.namespaceFor) {
      await s.client.create(NAMESPACES, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: o.namespaceFor, labels: { 'nubis.dev/tenant': name } } } as KubeObject);
      ctx.stdout.write(`namespace/${o.namespaceFor} created for tenant ${name}\n`);
    }
  } finally {
    s.close();
  }
}

export async function runUserCreate(ctx: CliContext, name: string, o: KubeFlags & { tenant?: string; role?: string[]; passwordStdin?: boolean }): Promise<void> {
  const password = await readPassword(ctx, o.passwordStdin, `password for ${name}: `);
  const s = await openSession(ctx, o);
  try {
    const spec = { ...(o.tenant ? { tenant: o.tenant } : {}), ...(o.role?.length ? { roles: o.role } : {}) } as User['spec'];
    await s.client.create<User>(USERS, { apiVersion: 'nubis.dev/v1', kind: 'User', metadata: { name }, spec });
    try {
      await s.client.request({ method: 'PUT', path: `/apis/nubis.dev/v1/users/${encodeURIComponent(name)}/password`, body: { password } });
    } catch (err) {
      // No user without its password: a half-made user would be a surprise later.
      await s.client.delete(USERS, name).catch(() => undefined);
      throw err;
    }
    ctx.stdout.write(`user.nubis.dev/${name} created\n`);
  } finally {
    s.close();
  }
}

export async function runUserPasswd(ctx: CliContext, name: string, o: KubeFlags & { passwordStdin?: boolean }): Promise<void> {
  const password = await readPassword(ctx, o.passwordStdin, `new password for ${name}: `);
  const s = await openSession(ctx, o);
  try {
    await s.client.request({ method: 'PUT', path: `/apis/nubis.dev/v1/users/${encodeURIComponent(name)}/password`, body: { password } });
    ctx.stdout.write(`password of user ${name} set\n`);
  } finally {
    s.close();
  }
}

export async function runTokenCreate(ctx: CliContext, o: KubeFlags & { role?: string[]; expiration?: string; description?: string }): Promise<void> {
  const s = await openSession(ctx, o);
  try {
    const who = await s.client.requestJson<{ status: { userInfo: { username: string; extra?: Record<string, string[]> } } }>({ method: 'POST', path: '/apis/authentication.k8s.io/v1/selfsubjectreviews', body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } });
    const secret = randomBytes(32).toString('base64url');
    const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
    const name = `ut-${[...randomBytes(12)].map((b) => alphabet[b % 36]).join('')}`;
    const spec: UserToken['spec'] = {
      user: who.status.userInfo.extra?.['nubis.dev/user']?.[0] ?? who.status.userInfo.username,
      secretHash: createHash('sha256').update(secret).digest('hex'),
      ...(o.expiration ? { expirationTimestamp: new Date(Date.now() + seconds(o.expiration, 'expiration') * 1000).toISOString().replace(/\.\d+Z$/, 'Z') } : {}),
      ...(o.role?.length ? { roles: o.role as UserToken['spec']['roles'] } : {}),
      ...(o.description ? { description: o.description } : {}),
    };
    await s.client.create<UserToken>(TOKENS, { apiVersion: 'nubis.dev/v1', kind: 'UserToken', metadata: { name }, spec });
    // Only the hash went to the server: this is the one time the token is shown.
    ctx.stdout.write(`nubis-${name}.${secret}\n`);
  } finally {
    s.close();
  }
}

/** The cluster of the kubeconfig in effect (KUBECONFIG, <data-dir>/admin.kubeconfig, ~/.kube/config). */
async function currentCluster(ctx: CliContext, o: { context?: string }): Promise<{ server: string; ca?: string; name: string }> {
  const env = envOf(ctx);
  const { config } = await loadKubeconfig({ env: env.KUBECONFIG, dataDir: ctx.dataDir(), home: env.HOME || os.homedir() });
  const sel = selectContext(config, o.context);
  const c = sel.cluster;
  const ca = c['certificate-authority-data'] ? Buffer.from(c['certificate-authority-data'], 'base64').toString('utf8') : c['certificate-authority'] ? await readFile(c['certificate-authority'], 'utf8') : undefined;
  return { server: c.server, ca, name: sel.context.cluster };
}

export async function runLogin(ctx: CliContext, o: { user: string; passwordStdin?: boolean; server?: string; caFile?: string; expiration?: string; kubeconfig?: string; context?: string }): Promise<void> {
  const target = o.server ? { server: o.server, ca: o.caFile ? await readFile(o.caFile, 'utf8') : undefined, name: new URL(o.server).host.replace(/[^a-zA-Z0-9.-]/g, '-') } : await currentCluster(ctx, o);
  if (o.caFile && !o.server) target.ca = await readFile(o.caFile, 'utf8');
  const password = await readPassword(ctx, o.passwordStdin, `password for ${o.user}: `);
  // No credentials on this request: anyone may log in.
  const anon = new RestClient({ server: target.server, ca: target.ca }, { userAgent: 'nubis-login' });
  let status: NonNullable<Login['status']>;
  try {
    const answer = await anon.create<Login>(LOGINS, {
      apiVersion: 'nubis.dev/v1',
      kind: 'Login',
      metadata: {},
      spec: { username: o.user, password, ...(o.expiration ? { expirationSeconds: seconds(o.expiration, 'expiration') } : {}) },
    } as Login);
    status = answer.status!;
  } finally {
    anon.close();
  }
  const env = envOf(ctx);
  const file = o.kubeconfig ?? env.KUBECONFIG?.split(path.delimiter)[0] ?? path.join(env.HOME || os.homedir(), '.kube', 'config');
  let cfg: Kubeconfig;
  try {
    cfg = parseKubeconfig(await readFile(file, 'utf8'), file);
  } catch (err) {
    if (errno(err) !== 'ENOENT') throw err;
    cfg = emptyKubeconfig();
  }
  const clusterName = target.name;
  const userName = `${status.user}@${clusterName}`;
  const replace = <E extends { name: string }>(list: E[], entry: E) => [...list.filter((e) => e.name !== entry.name), entry];
  cfg.clusters = replace(cfg.clusters, { name: clusterName, cluster: { server: target.server, ...(target.ca ? { 'certificate-authority-data': Buffer.from(target.ca).toString('base64') } : {}) } });
  cfg.users = replace(cfg.users, { name: userName, user: { token: status.token } });
  cfg.contexts = replace(cfg.contexts, { name: userName, context: { cluster: clusterName, user: userName } });
  cfg['current-context'] = userName;
  await writeKubeconfig(file, cfg);
  ctx.stdout.write(`logged in as ${status.user} (tenant ${status.tenant}) until ${status.expirationTimestamp}; context ${userName} in ${file}\n`);
}
