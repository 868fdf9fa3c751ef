/**
 * Client certificates signed by the cluster CA (the TLS layer verified the chain and the validity
 * period): the subject's CN is the user, each O a group, as in Kubernetes. Nodes authenticate this way
 * once they have joined (`system:node:<name>` in `system:nodes`).
 */
import type { Authenticator, AuthnResult, Credentials } from './authenticator.js';

const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

export class ClientCertificateAuthenticator implements Authenticator {
  readonly name = 'client-certificate';

  authenticate(creds: Credentials): AuthnResult {
    // A bearer token speaks for the request when both are sent (a kubeconfig may carry both).
    if (!creds.certificate || creds.token) return undefined;
    const name = list(creds.certificate.subject.CN)[0];
    if (!name) return { invalid: 'the client certificate has no common name' };
    return { user: { name, groups: list(creds.certificate.subject.O) } };
  }
}
