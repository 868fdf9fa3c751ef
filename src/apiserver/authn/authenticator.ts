/**
 * Authentication: who a request comes from. Each authenticator looks at one kind of credential (a
 * bearer token of its own, a client certificate) and answers with a user, with `invalid` when it
 * recognises the credential but refuses it, or with nothing when the credential is not its kind. The
 * chain asks them in order; a request that carries no credential at all is the anonymous user, whose
 * rights are whatever authorization grants `system:anonymous` and `system:unauthenticated`.
 */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';

/** Who made a request, as authentication found it (Kubernetes' user.Info). */
export interface UserInfo {
  name: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

export const ANONYMOUS: UserInfo = { name: 'system:anonymous', groups: ['system:unauthenticated'] };

/** The credentials a request carries, read once from its headers and TLS session. */
export interface Credentials {
  /** A bearer token: the Authorization header, or a WebSocket subprotocol as browsers must send it. */
  token?: string;
  /** The verified client certificate chain's leaf, when the client presented one the CA signed. */
  certificate?: { subject: Record<string, string | string[]>; validTo: string; fingerprint256: string };
  /** A client certificate was presented but did not verify against the cluster CA. */
  badCertificate?: boolean;
}

export type AuthnResult = { user: UserInfo } | { invalid: string } | undefined;

export interface Authenticator {
  readonly name: string;
  authenticate(creds: Credentials): AuthnResult | Promise<AuthnResult>;
}

const WS_TOKEN_PREFIX = 'base64url.bearer.authorization.k8s.io.';

/** Reads the credentials of a request (no verification but the TLS layer's). */
export function credentialsOf(req: IncomingMessage): Credentials {
  const creds: Credentials = {};
  const h = req.headers.authorization;
  if (h && /^bearer /i.test(h)) creds.token = h.slice(7).trim();
  else if (!h) {
    for (const p of String(req.headers['sec-websocket-protocol'] ?? '').split(',')) {
      const proto = p.trim();
      if (proto.startsWith(WS_TOKEN_PREFIX)) creds.token = Buffer.from(proto.slice(WS_TOKEN_PREFIX.length), 'base64url').toString('utf8');
    }
  }
  const socket = req.socket as TLSSocket;
  if (typeof socket.getPeerCertificate === 'function') {
    const cert = socket.getPeerCertificate();
    if (cert && Object.keys(cert).length > 0) {
      if (socket.authorized) creds.certificate = { subject: cert.subject as unknown as Record<string, string | string[]>, validTo: cert.valid_to, fingerprint256: cert.fingerprint256 };
      else creds.badCertificate = true;
    }
  }
  return creds;
}

/** Every authenticated user is also in `system:authenticated`, as in Kubernetes. */
function withAuthenticated(user: UserInfo): UserInfo {
  return user.groups.includes('system:authenticated') ? user : { ...user, groups: [...user.groups, 'system:authenticated'] };
}

/** The authenticators in order. */
export class AuthenticatorChain {
  constructor(private readonly authenticators: Authenticator[]) {}

  /** The user, the anonymous user for a request without credentials, or an error message (401). */
  async authenticate(creds: Credentials): Promise<{ user: UserInfo } | { invalid: string }> {
    if (creds.badCertificate) return { invalid: 'the client certificate is not signed by the cluster CA' };
    if (!creds.token && !creds.certificate) return { user: ANONYMOUS };
    for (const a of this.authenticators) {
      const r = await a.authenticate(creds);
      if (!r) continue;
      if ('invalid' in r) return r;
      return { user: withAuthenticated(r.user) };
    }
    return { invalid: creds.token ? 'the token is not known or has expired' : 'the client certificate names no user' };
  }
}
