/**
 * Extra CA certificates for outbound TLS. bin/nubis hands NODE_EXTRA_CA_CERTS over as
 * NUBIS_EXTRA_CA_CERTS (Node 20 would parse the file at every start); a connection that trusts Node's
 * default roots takes `extraCa()` as its `ca`, which then means those roots plus the file's certificates,
 * as NODE_EXTRA_CA_CERTS would. Undefined (Node's defaults) when the variable is unset. As Node does, a
 * file that cannot be read is warned about once and left out.
 */
import { readFileSync } from 'node:fs';
import tls from 'node:tls';

let cached: { file: string; ca: string[] | undefined } | undefined;

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
