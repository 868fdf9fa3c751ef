/**
 * Certificates from the cluster's signer: a key made here, a CertificateSigningRequest sent with the
 * caller's credentials, and the issued certificate once the server approved and signed it. Nodes get
 * their client certificate (with the join token, then renewing as themselves) and their agent's serving
 * certificate this way.
 */
import { generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import type { CertificateSigningRequest } from '../api/certificates/v1/csr.js';
import { conditionOf } from '../api/certificates/v1/csr.js';
import { NubisError } from '../lib/errors.js';
import { makeCertificateSigningRequest } from '../lib/x509.js';
import type { ResourceInfo, RestClient } from './rest-client.js';

const CSRS: ResourceInfo = { group: 'certificates.k8s.io', version: 'v1', resource: 'certificatesigningrequests', kind: 'CertificateSigningRequest', namespaced: false };

/** A certificate and its private key, in PEM. */
export interface IssuedCertificate {
  cert: string;
  key: string;
}

export interface CertificateWanted {
  commonName: string;
  organizations: string[];
  signerName: string;
  usages: string[];
  /** The request's name begins with it (a random suffix follows). */
  namePrefix: string;
}

/** Asks for a certificate and waits up to `timeoutMs` for it to be issued; refused or late requests fail. */
export async function requestCertificate(client: RestClient, wanted: CertificateWanted, timeoutMs = 60_000): Promise<IssuedCertificate> {
  const key = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const request = makeCertificateSigningRequest({ commonName: wanted.commonName, organizations: wanted.organizations, key });
  const name = `${wanted.namePrefix.slice(0, 200)}-${randomBytes(4).toString('hex')}`;
  await client.create<CertificateSigningRequest>(CSRS, {
    apiVersion: 'certificates.k8s.io/v1',
    kind: 'CertificateSigningRequest',
    metadata: { name },
    spec: { request: Buffer.from(request).toString('base64'), signerName: wanted.signerName, usages: wanted.usages },
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const csr = await client.get<CertificateSigningRequest>(CSRS, name);
    if (csr.status?.certificate) return { cert: Buffer.from(csr.status.certificate, 'base64').toString('utf8'), key };
    const refused = conditionOf(csr, 'Denied') ?? conditionOf(csr, 'Failed');
    if (refused) throw new NubisError('Forbidden', `the server refused certificate request ${name}: ${refused.message ?? refused.reason ?? refused.type}`);
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
 * Calls `renew` when `current()` is due for renewal, for as long as `signal` lasts; a failed renewal is
 * retried a minute later. Long waits are taken a day at a time (setTimeout holds at most ~24.8 days).
 */
export function keepRenewed(current: () => string, renew: () => Promise<void>, signal: AbortSignal, log: (msg: string) => void): void {
  let timer: NodeJS.Timeout | undefined;
  const schedule = (ms: number) => {
    if (signal.aborted) return;
    timer = setTimeout(() => void check(), Math.max(0, Math.min(ms, 86_400_000)));
    timer.unref();
  };
  const check = async () => {
    const due = renewalTime(current());
    if (Date.now() < due) return schedule(due - Date.now());
    try {
      await renew();
      schedule(renewalTime(current()) - Date.now());
    } catch (err) {
      log(`certificate renewal failed (retrying in a minute): ${(err as Error).message}`);
      schedule(60_000);
    }
  };
  signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
  void check();
}

/** The common name agents accept the API server's client certificate by (the cluster CA issues it). */
export const AGENT_CLIENT_CN = 'nubis:apiserver';
