/**
 * ServiceAccount tokens: JSON Web Tokens (RS256) signed with the cluster's service-account key, with
 * Kubernetes' claims (`iss`, `sub` = system:serviceaccount:<ns>:<name>, `aud`, `exp`, `iat`, `nbf`,
 * `jti`, and `kubernetes.io` naming the namespace, the account and the object the token is bound to),
 * so in-cluster clients and anything that reads Kubernetes tokens understand them. A token is only as
 * good as what it names: the authenticator checks that the account (and the bound pod, secret or node)
 * still exists with the same uid.
 */
import { createPrivateKey, createPublicKey, randomUUID, type KeyObject } from 'node:crypto';
import { decodeProtectedHeader, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { serviceAccountUser } from '../api/core/v1/service-account.js';

/** The issuer and default audience of tokens this cluster makes (Kubernetes' default). */
export const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';

/** Servers of one cluster may disagree on the time by this much. */
const CLOCK_SKEW_SECONDS = 60;

export interface BoundObject {
  kind: 'Pod' | 'Secret' | 'Node';
  name: string;
  uid: string;
}

export interface TokenClaims {
  namespace: string;
  serviceAccount: { name: string; uid: string };
  /** The pod, secret or node the token dies with. */
  bound?: BoundObject;
  /** For a pod-bound token: the pod's node, when known. */
  node?: { name: string; uid: string };
  audiences: string[];
  expiresAt: Date;
  id: string;
}

interface KubernetesClaim {
  namespace?: string;
  serviceaccount?: { name?: string; uid?: string };
  pod?: { name?: string; uid?: string };
  secret?: { name?: string; uid?: string };
  node?: { name?: string; uid?: string };
}

export class ServiceAccountTokens {
  private keys: { privateKey: KeyObject; publicKey: KeyObject } | undefined;

  /** Takes the signing key (PEM); the server loads it with its PKI, before it serves. */
  useKey(pem: string): void {
    const privateKey = createPrivateKey(pem);
    this.keys = { privateKey, publicKey: createPublicKey(privateKey) };
  }

  private get key(): { privateKey: KeyObject; publicKey: KeyObject } {
    if (!this.keys) throw new Error('the service account signing key is not loaded');
    return this.keys;
  }

  /** A signed token for the account, valid `seconds` from now. */
  async issue(c: { namespace: string; serviceAccount: { name: string; uid: string }; bound?: BoundObject; node?: { name: string; uid: string }; audiences: string[]; seconds: number }): Promise<{ token: string; expiresAt: Date }> {
    const now = Math.floor(Date.now() / 1000);
    const exp = now + c.seconds;
    const k8s: KubernetesClaim = { namespace: c.namespace, serviceaccount: { name: c.serviceAccount.name, uid: c.serviceAccount.uid } };
    if (c.bound) k8s[c.bound.kind.toLowerCase() as 'pod' | 'secret' | 'node'] = { name: c.bound.name, uid: c.bound.uid };
    if (c.node && c.bound?.kind === 'Pod') k8s.node = c.node;
    const token = await new SignJWT({ 'kubernetes.io': k8s })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
      .setIssuer(SERVICE_ACCOUNT_ISSUER)
      .setSubject(serviceAccountUser(c.namespace, c.serviceAccount.name))
      .setAudience(c.audiences)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(exp)
      .setJti(randomUUID())
      .sign(this.key.privateKey);
    return { token, expiresAt: new Date(exp * 1000) };
  }

  /** Whether a bearer token looks like a JWT at all (so other authenticators may claim it otherwise). */
  static looksLikeJwt(token: string): boolean {
    if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token)) return false;
    try {
      decodeProtectedHeader(token);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * The claims of a token this cluster signed for one of `audiences`, still valid; a string saying
   * why not otherwise.
   */
  async verify(token: string, audiences: string[]): Promise<TokenClaims | string> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.key.publicKey, { issuer: SERVICE_ACCOUNT_ISSUER, audience: audiences, algorithms: ['RS256'], clockTolerance: CLOCK_SKEW_SECONDS }));
    } catch (err) {
      return `the service account token is not valid: ${(err as Error).message}`;
    }
    const k8s = payload['kubernetes.io'] as KubernetesClaim | undefined;
    const sa = k8s?.serviceaccount;
    if (!k8s?.namespace || !sa?.name || !sa.uid || payload.sub !== serviceAccountUser(k8s.namespace, sa.name)) return 'the service account token names no service account';
    const bound = (['pod', 'secret', 'node'] as const).find((k) => k8s[k]);
    const ref = bound ? k8s[bound]! : undefined;
    if (ref && (!ref.name || !ref.uid)) return 'the service account token names its bound object without a uid';
    return {
      namespace: k8s.namespace,
      serviceAccount: { name: sa.name, uid: sa.uid },
      bound: bound && ref ? { kind: (bound[0]!.toUpperCase() + bound.slice(1)) as BoundObject['kind'], name: ref.name!, uid: ref.uid! } : undefined,
      node: k8s.node?.name && k8s.node.uid ? { name: k8s.node.name, uid: k8s.node.uid } : undefined,
      audiences: Array.isArray(payload.aud) ? payload.aud : payload.aud ? [payload.aud] : [],
      expiresAt: new Date((payload.exp ?? 0) * 1000),
      id: payload.jti ?? '',
    };
  }
}
