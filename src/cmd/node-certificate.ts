/**
 * A node's own identity: with the join token (group system:bootstrappers) the agent asks the cluster
 * signer for a client certificate `CN=system:node:<name>, O=system:nodes` through a
 * CertificateSigningRequest, which the server approves and signs; from then on the agent authenticates
 * with that certificate and the join token is no longer used.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
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
