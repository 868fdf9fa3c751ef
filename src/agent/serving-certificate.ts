/**
 * The agent endpoint's serving certificate: `CN=system:node:<name>` from the cluster signer
 * (kubernetes.io/kubelet-serving), which the API server checks before it proxies logs, exec and stats.
 * Kept under <data-dir>/agent/pki and used again while it is good; renewed at 80% of its life.
 */
import { X509Certificate } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { SERVING_SIGNER } from '../api/certificates/v1/csr.js';
import { certificateNode, keepRenewed, renewalTime, requestCertificate, type IssuedCertificate } from '../client/certificates.js';
import type { RestClient } from '../client/rest-client.js';
import { invalid } from '../lib/errors.js';
import { writeFileAtomic } from '../lib/files.js';

const files = (dataDir: string) => {
  const dir = path.join(dataDir, 'agent', 'pki');
  return { dir, cert: path.join(dir, 'serving.crt'), key: path.join(dir, 'serving.key') };
};

/** The cluster CA the agent trusts: the one its API connection verifies the server with. */
export function clusterCa(client: RestClient): string {
  const ca = client.connection.ca;
  if (!ca) throw invalid('the agent needs the cluster CA in its kubeconfig (certificate-authority-data) to serve over TLS');
  return String(ca);
}

async function kept(dataDir: string, nodeName: string, ca: string): Promise<IssuedCertificate | undefined> {
  const f = files(dataDir);
  try {
    const cert = await readFile(f.cert, 'utf8');
    const key = await readFile(f.key, 'utf8');
    const ok = certificateNode(cert) === nodeName && new X509Certificate(cert).verify(new X509Certificate(ca).publicKey) && Date.now() < renewalTime(cert);
    return ok ? { cert, key } : undefined;
  } catch {
    return undefined;
  }
}

async function issue(client: RestClient, dataDir: string, nodeName: string): Promise<IssuedCertificate> {
  const c = await requestCertificate(client, {
    commonName: `system:node:${nodeName}`,
    organizations: ['system:nodes'],
    signerName: SERVING_SIGNER,
    usages: ['digital signature', 'key encipherment', 'server auth'],
    namePrefix: `node-serving-${nodeName}`,
  });
  const f = files(dataDir);
  await mkdir(f.dir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(f.key, c.key, 0o600);
  await writeFileAtomic(f.cert, c.cert);
  return c;
}

/** The serving certificate to start with: the kept one while good, else a new one. */
export async function servingCertificate(client: RestClient, dataDir: string, nodeName: string): Promise<IssuedCertificate> {
  return (await kept(dataDir, nodeName, clusterCa(client))) ?? issue(client, dataDir, nodeName);
}

/** Renews the serving certificate before it expires and hands each new one to `use`. */
export function renewServingCertificate(client: RestClient, dataDir: string, nodeName: string, first: IssuedCertificate, use: (c: IssuedCertificate) => void, signal: AbortSignal, log: (msg: string) => void): void {
  let current = first;
  keepRenewed(
    () => current.cert,
    async () => {
      current = await issue(client, dataDir, nodeName);
      use(current);
      log(`serving certificate renewed; valid until ${new X509Certificate(current.cert).validTo}`);
    },
    signal,
    log,
  );
}
