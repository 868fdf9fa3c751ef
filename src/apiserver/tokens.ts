/**
 * Bearer-token authentication. Tokens live hashed (sha256, hex) in `<data-dir>/apiserver/tokens.json`:
 *
 *   { "tokens": [ { "id": "admin", "sha256": "<hex>", "user": "admin", "groups": ["system:masters"],
 *                   "createdAt": "<RFC 3339>" } ] }
 *
 * Later tenancy work adds entries (per tenant and user) and fields (expiresAt, tenant); readers ignore
 * fields they do not know, so the format only grows. The plaintext of a token is shown once (the admin
 * token goes into admin.kubeconfig) and never stored.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import { exists, readJson, writeFileAtomic, writeJsonAtomic } from '../lib/files.js';
import { withLock } from '../lib/lock.js';

export interface TokenEntry {
  id: string;
  sha256: string;
  user: string;
  groups: string[];
  createdAt: string;
  /** Optional expiry (RFC 3339); an expired token no longer authenticates. */
  expiresAt?: string;
  [field: string]: unknown;
}

export interface TokenFile {
  tokens: TokenEntry[];
}

export function tokensFile(dataDir: string): string {
  return path.join(dataDir, 'apiserver', 'tokens.json');
}

export function adminKubeconfigFile(dataDir: string): string {
  return path.join(dataDir, 'admin.kubeconfig');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * Adds an entry (for the plaintext `token`) to a data dir's token file under its lock; `prune` says which
 * existing entries go at the same time. The server reads the file again within 2 s.
 */
export async function addTokenEntry(dataDir: string, token: string, entry: { id: string; user: string; groups: string[]; expiresAt?: string; description?: string }, prune: (t: TokenEntry) => boolean = () => false): Promise<void> {
  const file = tokensFile(dataDir);
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await withLock(`${file}.lock`, async () => {
    const tokens = (await readJson<TokenFile>(file)) ?? { tokens: [] };
    tokens.tokens = tokens.tokens.filter((t) => !prune(t));
    tokens.tokens.push({ ...entry, sha256: hashToken(token), createdAt: new Date().toISOString() });
    await writeJsonAtomic(file, tokens);
  });
}

/** The kubeconfig that lets `kubectl --kubeconfig <data-dir>/admin.kubeconfig` reach this server as admin. */
export function adminKubeconfig(server: string, caPem: string, token: string): string {
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'nubis', cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
    users: [{ name: 'nubis-admin', user: { token } }],
    contexts: [{ name: 'nubis', context: { cluster: 'nubis', user: 'nubis-admin', namespace: 'default' } }],
    'current-context': 'nubis',
  };
  return YAML.stringify(doc);
}

async function tokenInKubeconfig(file: string): Promise<string | undefined> {
  if (!(await exists(file))) return undefined;
  try {
    const doc = YAML.parse(await readFile(file, 'utf8')) as { users?: Array<{ user?: { token?: string } }> };
    return doc.users?.[0]?.user?.token;
  } catch {
    return undefined;
  }
}

/**
 * Makes sure an admin token exists and that admin.kubeconfig carries it, the CA and the server URL.
 * The token in an existing kubeconfig is kept while the token file still knows it; otherwise a new
 * admin token replaces the old one.
 */
export async function ensureAdminAccess(dataDir: string, server: string, caPem: string): Promise<void> {
  const file = tokensFile(dataDir);
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await withLock(`${file}.lock`, async () => {
    const tokens = (await readJson<TokenFile>(file)) ?? { tokens: [] };
    const kubeconfig = adminKubeconfigFile(dataDir);
    let token = await tokenInKubeconfig(kubeconfig);
    const admin = tokens.tokens.find((t) => t.id === 'admin');
    if (!token || !admin || admin.sha256 !== hashToken(token)) {
      token = `nubis-${randomBytes(32).toString('base64url')}`;
      tokens.tokens = tokens.tokens.filter((t) => t.id !== 'admin');
      tokens.tokens.unshift({
        id: 'admin',
        sha256: hashToken(token),
        user: 'admin',
        groups: ['system:masters', 'system:authenticated'],
        createdAt: new Date().toISOString(),
      });
      await writeJsonAtomic(file, tokens);
    }
    await writeFileAtomic(kubeconfig, adminKubeconfig(server, caPem, token), 0o600);
  });
}
