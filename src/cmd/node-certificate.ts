/**
 * A node's own identity: with the join token (group system:bootstrappers) the agent asks the cluster
 * signer for a client certificate `CN=system:node:<name>, O=system:nodes`, which the server approves and
 * signs; from then on the agent authenticates with that certificate and the join token is not used.
 */
import { X509Certificate } from 'node:crypto';
import { NODE_CLIENT_SIGNER } from '../api/certificates/v1/csr.js';
import { keepRenewed, requestCertificate, type IssuedCertificate } from '../client/certificates.js';
import type { RestClient } from '../client/rest-client.js';

export type NodeCredentials = IssuedCertificate;

/** Asks for and waits (up to `timeoutMs`) for this node's client certificate. */
export function requestNodeCertificate(client: RestClient, nodeName: string, timeoutMs = 60_000): Promise<NodeCredentials> {
  return requestCertificate(
    client,
    { commonName: `system:node:${nodeName}`, organizations: ['system:nodes'], signerName: NODE_CLIENT_SIGNER, usages: ['digital signature', 'key encipherment', 'client auth'], namePrefix: `node-csr-${nodeName}` },
    timeoutMs,
  );
}

/**
 * Renews the node's client certificate before it expires, for as long as `signal` lasts: the node asks
 * as itself (the signer approves a node renewing its own name), `save` keeps the new one, and the client
 * switches to it without dropping its open watches.
 */
export function renewNodeCertificate(client: RestClient, nodeName: string, save: (c: NodeCredentials) => Promise<void>, signal: AbortSignal, log: (msg: string) => void): void {
  if (!client.connection.cert) return;
  keepRenewed(
    () => String(client.connection.cert),
    async () => {
      const next = await requestNodeCertificate(client, nodeName);
      await save(next);
      client.useClientCertificate(next.cert, next.key);
      log(`node certificate renewed; valid until ${new X509Certificate(next.cert).validTo}`);
    },
    signal,
    log,
  );
}
