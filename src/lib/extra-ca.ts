/**
 * Extra CA certificates for outbound TLS. bin/nubis hands NODE_EXTRA_CA_CERTS over as
 * NUBIS_EXTRA_CA_CERTS (Node 20 would parse the file at every start); a connection that trusts Node's
 * default roots then trusts those roots plus the file's certificates, as NODE_EXTRA_CA_CERTS would (Node
 * 20's default roots are its bundled set). Nothing changes when the variable is unset. As Node does, a
 * file that cannot be read is warned about once and left out.
 */
import { readFileSync } from 'node:fs';
import tls from 'node:tls';

let cached: { file: string; ca: string[] | undefined } | undefined;

/** Node's default roots plus the extra certificates (PEM), or undefined when there are none. */
export function extraCa(env: NodeJS.ProcessEnv = process.env): string[] | undefined {
  const file = env.NUBIS_EXTRA_CA_CERTS;
  if (!file) return undefined;
  if (cached?.file !== file) {
    let ca: string[] | undefined;
    try {
      ca = [...tls.rootCertificates, readFileSync(file, 'utf8')];
    } catch (err) {
      process.emitWarning(`Ignoring extra certs from \`${file}\`, load failed: ${(err as Error).message}`);
    }
    cached = { file, ca };
  }
  return cached.ca;
}

/** What a TLS client passes as its own trust and identity. */
export interface TlsTrust {
  ca?: string | Buffer | Array<string | Buffer>;
  cert?: string | Buffer;
  key?: string | Buffer;
}

/**
 * TLS options for one client (an agent, a WebSocket): `o` as it is when it names its own CA or no extra
 * certificates are set; else one SecureContext with the default roots, the extra certificates and the
 * client's certificate and key. One context per client, not per connection: made from PEM, each would
 * parse the ~140 roots again (~20 ms).
 */
export function withExtraCa(o: TlsTrust): TlsTrust | { secureContext: tls.SecureContext } {
  const ca = o.ca === undefined ? extraCa() : undefined;
  if (!ca) return o;
  return { secureContext: tls.createSecureContext({ ca, cert: o.cert, key: o.key }) };
}
