/**
 * The API server's own certificate authority: a CA and a serving certificate made at first start and
 * kept under `<data-dir>/apiserver/pki/`. The serving certificate is made again when the names it must
 * cover change (a new --advertise-address or hostname). RSA keys and signatures come from Node's crypto,
 * the certificates' DER from x509.ts: no openssl at runtime, and no certificate library in memory.
 */
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { exists, writeFileAtomic } from '../lib/files.js';
import { withLock } from '../lib/lock.js';
import { AGENT_CLIENT_CN } from '../client/certificates.js';
import { makeCertificate } from '../lib/x509.js';

/** PEM material the HTTPS listener and the kubeconfig need. */
export interface ServerPki {
  caCert: string;
  /** The CA's private key: the certificate signer issues client certificates with it. */
  caKey: string;
  /** The client certificate the API server shows agents (CN=nubis:apiserver), and its key. */
  agentClient: { cert: string; key: string };
  cert: string;
  key: string;
  /** The key ServiceAccount tokens are signed with (servers of one cluster share it, as they share the CA). */
  serviceAccountKey: string;
}

export function pkiDir(dataDir: string): string {
  return path.join(dataDir, 'apiserver', 'pki');
}

/** The names pods reach the API server by: the `default/kubernetes` Service's. */
export const IN_CLUSTER_NAMES = ['kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'];

/**
 * The names a serving certificate covers: loopback, localhost, the hostname, the in-cluster names and
 * any extra address (the advertised one, the `kubernetes` Service's ClusterIP).
 */
export function servingNames(extra: string[] = []): string[] {
  return [...new Set(['127.0.0.1', 'localhost', os.hostname(), ...IN_CLUSTER_NAMES, ...extra].filter((n) => n !== ''))].sort();
}

/** Whether `cert` was signed by `ca` and is valid for another 30 days. */
function issuedBy(cert: string, ca: string): boolean {
  const c = new X509Certificate(cert);
  return c.verify(new X509Certificate(ca).publicKey) && Date.parse(c.validTo) > Date.now() + 30 * 86_400_000;
}

function newKey(): string {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
}

function makeCa(): { cert: string; key: string } {
  const key = newKey();
  return { key, cert: makeCertificate({ commonName: `nubis-ca-${Math.floor(Date.now() / 1000)}`, key, validDays: 3650, ca: true }) };
}

function makeServing(ca: { cert: string; key: string }, names: string[]): { cert: string; key: string } {
  const key = newKey();
  return { key, cert: makeCertificate({ commonName: 'nubis-apiserver', key, issuer: ca, validDays: 730, ca: false, altNames: names }) };
}

/** Loads the CA and serving certificate, making whatever is missing or no longer covers `names`. */
export async function ensureServerPki(dataDir: string, names: string[]): Promise<ServerPki> {
  const dir = pkiDir(dataDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = (n: string) => path.join(dir, n);
  return withLock(file('pki.lock'), async () => {
    if (!(await exists(file('ca.crt'))) || !(await exists(file('ca.key')))) {
      const ca = makeCa();
      await writeFileAtomic(file('ca.key'), ca.key, 0o600);
      await writeFileAtomic(file('ca.crt'), ca.cert);
    }
    const ca = { cert: await readFile(file('ca.crt'), 'utf8'), key: await readFile(file('ca.key'), 'utf8') };
    const wanted = JSON.stringify([...names].sort());
    const namesFile = file('server.names.json');
    const current = (await exists(namesFile)) ? await readFile(namesFile, 'utf8') : '';
    if (current !== wanted || !(await exists(file('server.crt'))) || !(await exists(file('server.key')))) {
      const serving = makeServing(ca, names);
      await writeFileAtomic(file('server.key'), serving.key, 0o600);
      await writeFileAtomic(file('server.crt'), serving.cert);
      await writeFileAtomic(namesFile, wanted);
    }
    if (!(await exists(file('agent-client.crt'))) || !(await exists(file('agent-client.key'))) || !issuedBy(await readFile(file('agent-client.crt'), 'utf8'), ca.cert)) {
      const key = newKey();
      await writeFileAtomic(file('agent-client.key'), key, 0o600);
      await writeFileAtomic(file('agent-client.crt'), makeCertificate({ commonName: AGENT_CLIENT_CN, key, issuer: ca, validDays: 730, ca: false, usage: 'client' }));
    }
    if (!(await exists(file('service-account.key')))) await writeFileAtomic(file('service-account.key'), newKey(), 0o600);
    const serviceAccountKey = await readFile(file('service-account.key'), 'utf8');
    const agentClient = { cert: await readFile(file('agent-client.crt'), 'utf8'), key: await readFile(file('agent-client.key'), 'utf8') };
    return { caCert: ca.cert, caKey: ca.key, agentClient, serviceAccountKey, cert: await readFile(file('server.crt'), 'utf8'), key: await readFile(file('server.key'), 'utf8') };
  });
}
