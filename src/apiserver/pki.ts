/**
 * The API server's own certificate authority: a CA and a serving certificate made at first start and
 * kept under `<data-dir>/apiserver/pki/`. The serving certificate is made again when the names it must
 * cover change (a new --advertise-address or hostname). RSA keys come from Node's native crypto and the
 * X.509 certificates from node-forge: no openssl at runtime.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import forge from 'node-forge';
import { exists, writeFileAtomic } from '../lib/files.js';
import { withLock } from '../lib/lock.js';

const YEAR_MS = 365 * 24 * 3600 * 1000;

/** PEM material the HTTPS listener and the kubeconfig need. */
export interface ServerPki {
  caCert: string;
  cert: string;
  key: string;
}

export function pkiDir(dataDir: string): string {
  return path.join(dataDir, 'apiserver', 'pki');
}

/** The names a serving certificate covers: loopback, localhost, the hostname and any extra address. */
export function servingNames(extra: string[] = []): string[] {
  return [...new Set(['127.0.0.1', 'localhost', os.hostname(), ...extra].filter((n) => n !== ''))].sort();
}

function newKey(): { pem: string; forgeKeys: { publicKey: forge.pki.rsa.PublicKey; privateKey: forge.pki.rsa.PrivateKey } } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const priv = forge.pki.privateKeyFromPem(pem) as forge.pki.rsa.PrivateKey;
  return { pem, forgeKeys: { privateKey: priv, publicKey: forge.pki.setRsaPublicKey(priv.n, priv.e) } };
}

function baseCert(publicKey: forge.pki.PublicKey, years: number): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = '01' + randomBytes(15).toString('hex');
  cert.validity.notBefore = new Date(Date.now() - 3600_000);
  cert.validity.notAfter = new Date(Date.now() + years * YEAR_MS);
  return cert;
}

function makeCa(): { cert: string; key: string } {
  const { pem, forgeKeys } = newKey();
  const cert = baseCert(forgeKeys.publicKey, 10);
  const subject = [{ name: 'commonName', value: `nubis-ca-${Math.floor(Date.now() / 1000)}` }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(forgeKeys.privateKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: pem };
}

function makeServing(ca: { cert: string; key: string }, names: string[]): { cert: string; key: string } {
  const caCert = forge.pki.certificateFromPem(ca.cert);
  const caKey = forge.pki.privateKeyFromPem(ca.key);
  const { pem, forgeKeys } = newKey();
  const cert = baseCert(forgeKeys.publicKey, 2);
  cert.setSubject([{ name: 'commonName', value: 'nubis-apiserver' }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: names.map((n) => (net.isIP(n) ? { type: 7, ip: n } : { type: 2, value: n })) },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: pem };
}

/** Loads the CA and serving certificate, making whatever is missing or no longer covers `names`. */
export async function ensureServerPki(dataDir: string, names: string[]): Promise<ServerPki> {
  const dir = pkiDir(dataDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = (n: string) => path.join(dir, n);
  return withLock(file('pki.lock'), async () => {
    if (!(await exists(file('ca.crt'))) || !(await exists(file('ca.key')))) {
      const ca = makeCa();
      await writeFileAtomic(file('ca.key'), ca.key, 0o600);
      await writeFileAtomic(file('ca.crt'), ca.cert);
    }
    const ca = { cert: await readFile(file('ca.crt'), 'utf8'), key: await readFile(file('ca.key'), 'utf8') };
    const wanted = JSON.stringify([...names].sort());
    const namesFile = file('server.names.json');
    const current = (await exists(namesFile)) ? await readFile(namesFile, 'utf8') : '';
    if (current !== wanted || !(await exists(file('server.crt'))) || !(await exists(file('server.key')))) {
      const serving = makeServing(ca, names);
      await writeFileAtomic(file('server.key'), serving.key, 0o600);
      await writeFileAtomic(file('server.crt'), serving.cert);
      await writeFileAtomic(namesFile, wanted);
    }
    return { caCert: ca.cert, cert: await readFile(file('server.crt'), 'utf8'), key: await readFile(file('server.key'), 'utf8') };
  });
}
