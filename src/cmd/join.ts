/**
 * Joining agents to a server: join tokens and the CA pin.
 *
 * A join token looks like kubeadm's bootstrap tokens, `<6 chars>.<16 chars>` of [a-z0-9]. The server
 * keeps only its sha256 in the token file (apiserver/tokens.ts) under the id `join-<first part>`, with
 * the user `system:bootstrap:<first part>` in the group system:bootstrappers (it may only ask for the node's certificate, cmd/node-certificate.ts). The first
 * server start writes one to `<data-dir>/join-token` (0600); `nubis server token create` adds more.
 *
 * The CA pin is kubeadm's discovery-token-ca-cert-hash: `sha256:<hex>` of the CA certificate's
 * SubjectPublicKeyInfo. An agent given the pin fetches the CA from the kube-public/cluster-info
 * ConfigMap (which the server publishes and lets anyone read) WITHOUT credentials, checks the pin, and
 * only then sends the join token, over TLS verified against that CA.
 */
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { addTokenEntry, hashToken, tokensFile, type TokenFile } from '../apiserver/tokens.js';
import type { ConfigMap } from '../api/core/v1/config-map.js';
import { RestClient, type ResourceInfo } from '../client/rest-client.js';
import { invalid, isNubisError, NubisError } from '../lib/errors.js';
import { readJson, writeFileAtomic } from '../lib/files.js';

const CONFIG_MAPS: ResourceInfo = { group: '', version: 'v1', resource: 'configmaps', kind: 'ConfigMap', namespaced: true };
const TOKEN_RE = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

export function joinTokenFile(dataDir: string): string {
  return path.join(dataDir, 'join-token');
}

function randomChars(n: number): string {
  const bytes = randomBytes(n * 2);
  let out = '';
  for (let i = 0; out.length < n; i++) {
    const b = bytes[i % bytes.length]!;
    if (b < 252) out += ALPHABET[b % 36]; // 252 = 7 * 36: no bias
    if (i > n * 8) return out + randomChars(n - out.length);
  }
  return out;
}

/** How long a join token lasts unless told otherwise (kubeadm's default). */
export const JOIN_TOKEN_TTL_MS = 24 * 3600_000;

const expired = (t: { expiresAt?: string }, marginMs = 0) => !!t.expiresAt && Date.parse(t.expiresAt) <= Date.now() + marginMs;

/**
 * Adds a join token to the server's token file and returns its plaintext (shown once). Join tokens
 * that have expired are dropped from the file at the same time.
 */
export async function createJoinToken(dataDir: string, opts: { ttlMs?: number; description?: string } = {}): Promise<string> {
  const id = randomChars(6);
  const token = `${id}.${randomChars(16)}`;
  await addTokenEntry(
    dataDir,
    token,
    {
      id: `join-${id}`,
      user: `system:bootstrap:${id}`,
      groups: ['system:bootstrappers', 'system:authenticated'],
      expiresAt: new Date(Date.now() + (opts.ttlMs ?? JOIN_TOKEN_TTL_MS)).toISOString(),
      ...(opts.description ? { description: opts.description } : {}),
    },
    (t) => t.id.startsWith('join-') && expired(t),
  );
  return token;
}

/**
 * The join token in <data-dir>/join-token, made at start when there is none, when the token file lost
 * it, or when it expires within the hour (a join token lasts 24 h; `nubis server token create` makes more).
 */
export async function ensureJoinToken(dataDir: string): Promise<string> {
  const file = joinTokenFile(dataDir);
  const current = (await readFile(file, 'utf8').catch(() => '')).trim();
  if (current) {
    const entry = (await readJson<TokenFile>(tokensFile(dataDir)))?.tokens.find((t) => t.sha256 === hashToken(current));
    if (entry && !expired(entry, 3600_000)) return current;
  }
  const token = await createJoinToken(dataDir, { description: 'written to the join-token file at first start' });
  await writeFileAtomic(file, `${token}\n`, 0o600);
  return token;
}

/** kubeadm's CA pin: sha256 of the certificate's SubjectPublicKeyInfo. */
export function caCertHash(caPem: string): string {
  const spki = new X509Certificate(caPem).publicKey.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}

/** The CA the server uses (its PKI under the data dir). */
export function serverCaFile(dataDir: string): string {
  return path.join(dataDir, 'apiserver', 'pki', 'ca.crt');
}

/** Publishes the CA in kube-public/cluster-info (ca.crt and the server URL), as kubeadm does. */
export async function publishClusterInfo(client: RestClient, caPem: string, server: string): Promise<void> {
  const data = { 'ca.crt': caPem, server };
  try {
    const cm = await client.get<ConfigMap>(CONFIG_MAPS, 'cluster-info', { namespace: 'kube-public' });
    if (cm.data?.['ca.crt'] === caPem) return;
    await client.update(CONFIG_MAPS, { ...cm, data: { ...cm.data, ...data } });
  } catch (err) {
    if (!isNubisError(err, 'NotFound')) throw err;
    await client.create(CONFIG_MAPS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cluster-info', namespace: 'kube-public' }, data } as ConfigMap).catch((e: unknown) => {
      if (!isNubisError(e, 'AlreadyExists')) throw e;
    });
  }
}

/** Checks a token's shape (kubeadm's). */
export function checkJoinToken(token: string): void {
  if (!TOKEN_RE.test(token) && !token.startsWith('nubis-')) throw invalid('--token takes a join token such as abcdef.0123456789abcdef (printed by `nubis server`, or `nubis server token create`)');
}

/**
 * The CA of the server at `server`: fetched from cluster-info and checked against `pin` (sha256:<hex>).
 * A mismatch fails: the server is not the one the pin names.
 */
export async function discoverCa(server: string, token: string, pin: string): Promise<string> {
  const wanted = pin.toLowerCase();
  if (!/^sha256:[0-9a-f]{64}$/.test(wanted)) throw invalid(`--ca-cert-hash takes sha256:<64 hex digits>, not "${pin}"`);
  // No token on this connection: its TLS is not verified yet, so it may not be the server the pin names.
  const probe = new RestClient({ server, insecureSkipTLSVerify: true }, { userAgent: 'nubis-agent-join' });
  let ca: string | undefined;
  try {
    const cm = await probe.get<ConfigMap>(CONFIG_MAPS, 'cluster-info', { namespace: 'kube-public' });
    ca = cm.data?.['ca.crt'];
  } catch (err) {
    if (isNubisError(err, 'Unauthorized')) throw new NubisError('Unauthorized', `the server at ${server} does not let kube-public/cluster-info be read anonymously: use --ca-file`, { cause: err });
    throw err;
  } finally {
    probe.close();
  }
  if (!ca) throw invalid(`the server at ${server} publishes no CA in kube-public/cluster-info`);
  const got = caCertHash(ca);
  if (got !== wanted) throw new NubisError('Unauthorized', `the CA of ${server} does not match --ca-cert-hash: it is ${got}`);
  // The same server must prove it holds a certificate of that CA, and accept the token.
  const verified = new RestClient({ server, token, ca }, { userAgent: 'nubis-agent-join' });
  try {
    await verified.get(CONFIG_MAPS, 'cluster-info', { namespace: 'kube-public' });
  } catch (err) {
    if (isNubisError(err, 'Unauthorized')) throw new NubisError('Unauthorized', `the server at ${server} refused the join token`, { cause: err });
    throw err;
  } finally {
    verified.close();
  }
  return ca;
}
