/**
 * A node's own identity: with the join token (group system:bootstrappers) the agent asks the cluster
 * signer for a client certificate `CN=system:node:<name>, O=system:nodes` through a
 * CertificateSigningRequest, which the server approves and signs; from then on the agent authenticates
 * with that certificate and the join token is no longer used.
 */
import { generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import type { CertificateSigningRequest } from '../api/certificates/v1/csr.js';
import { conditionOf, NODE_CLIENT_SIGNER } from '../api/certificates/v1/csr.js';
import type { ResourceInfo, RestClient } from '../client/rest-client.js';
import { NubisError } from '../lib/errors.js';
import { makeCertificateSigningRequest } from '../lib/x509.js';

const CSRS: ResourceInfo = { group: 'certificates.k8s.io', version: 'v1', resource: 'certificatesigningrequests', kind: 'CertificateSigningRequest', namespaced: false };

export interface NodeCredentials {
  cert: string;
  key: string;
}

/** Asks for and waits (up to `timeoutMs`) for this node's client certificate. */
export async function requestNodeCertificate(client: RestClient, nodeName: string, timeoutMs = 60_000): Promise<NodeCredentials> {
  const key = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const request = makeCertificateSigningRequest({ commonName: `system:node:${nodeName}`, organizations: ['system:nodes'], key });
  const name = `node-csr-${nodeName.slice(0, 200)}-${randomBytes(4).toString('hex')}`;
  await client.create<CertificateSigningRequest>(CSRS, {
    apiVersion: 'certificates.k8s.io/v1',
    kind: 'CertificateSigningRequest',
    metadata: { name },
    spec: { request: Buffer.from(request).toString('base64'), signerName: NODE_CLIENT_SIGNER, usages: ['digital signature', 'key encipherment', 'client auth'] },
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const csr = await client.get<CertificateSigningRequest>(CSRS, name);
    if (csr.status?.certificate) return { cert: Buffer.from(csr.status.certificate, 'base64').toString('utf8'), key };
    const refused = conditionOf(csr, 'Denied') ?? conditionOf(csr, 'Failed');
    if (refused) throw new NubisError('Forbidden', `the server refused this node's certificate request ${name}: ${refused.message ?? refused.reason ?? refused.type}`);
    if (Date.now() > deadline) throw new NubisError('Timeout', `no certificate was issued for request ${name} within ${timeoutMs / 1000} s (is it waiting for approval? kubectl get csr ${name})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** When a certificate should be renewed: once 80% of its validity has passed (kubelet renews at 70-90%). */
export function renewalTime(certPem: string): number {
  const c = new X509Certificate(certPem);
  const from = Date.parse(c.validFrom);
  const to = Date.parse(c.validTo);
  return from + 0.8 * (to - from);
}

/** The node a certificate names (its CN without `system:node:`), if it is a node certificate. */
export function certificateNode(certPem: string): string | undefined {
  const cn = /(?:^|\n)CN=system:node:([^\n]+)/.exec(new X509Certificate(certPem).subject)?.[1];
  return cn || undefined;
}

/**
 * Renews the node's certificate before it expires, for as long as `signal` lasts: the node asks for a
 * new one as itself (the signer approves a node renewing its own name), `save` keeps it, and the
 * client switches to it without dropping its open watches.
 */
export function renewNodeCertificate(client: RestClient, nodeName: string, save: (c: NodeCredentials) => Promise<void>, signal: AbortSignal, log: (msg: string) => void): void {
  let timer: NodeJS.Timeout | undefined;
  const schedule = (ms: number) => {
    if (signal.aborted) return;
    // setTimeout holds at most ~24.8 days: wake up daily and look again.
    timer = setTimeout(() => void check(), Math.max(0, Math.min(ms, 86_400_000)));
    timer.unref();
  };
  const check = async () => {
    const cert = String(client.connection.cert ?? '');
    const due = renewalTime(cert);
    if (Date.now() < due) return schedule(due - Date.now());
    try {
      const next = await requestNodeCertificate(client, nodeName);
      await save(next);
      client.useClientCertificate(next.cert, next.key);
      log(`node certificate renewed; valid until ${new X509Certificate(next.cert).validTo}`);
      schedule(renewalTime(next.cert) - Date.now());
    } catch (err) {
      log(`node certificate renewal failed (retrying in a minute): ${(err as Error).message}`);
      schedule(60_000);
    }
  };
  signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
  if (client.connection.cert) void check();
}
