import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { makeCertificate, makeCertificateSigningRequest, parseCertificateSigningRequest } from './x509.js';

const key = () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;

test('a self-signed CA and a serving certificate it signed, with DNS and IP names', () => {
  const caKey = key();
  const caPem = makeCertificate({ commonName: 'test-ca', key: caKey, validDays: 3650, ca: true });
  const ca = new X509Certificate(caPem);
  assert.equal(ca.subject, 'CN=test-ca');
  assert.equal(ca.issuer, 'CN=test-ca');
  assert.equal(ca.ca, true);
  assert.ok(ca.verify(ca.publicKey), 'self-signed signature');
  assert.ok(new Date(ca.validTo).getTime() > Date.now() + 9 * 365 * 86_400_000);

  const servingKey = key();
  const pem = makeCertificate({ commonName: 'nubis-apiserver', key: servingKey, issuer: { cert: caPem, key: caKey }, validDays: 730, ca: false, altNames: ['127.0.0.1', 'localhost', 'node-1.example', '::1', 'fd00::10'] });
  const cert = new X509Certificate(pem);
  assert.equal(cert.ca, false);
  assert.equal(cert.issuer, 'CN=test-ca');
  assert.ok(cert.checkIssued(ca), 'issuer name and key identifiers chain to the CA');
  assert.ok(cert.verify(ca.publicKey), 'signed by the CA key');
  assert.equal(cert.subjectAltName, 'IP Address:127.0.0.1, DNS:localhost, DNS:node-1.example, IP Address:0:0:0:0:0:0:0:1, IP Address:FD00:0:0:0:0:0:0:10');
  assert.equal(cert.checkIP('127.0.0.1'), '127.0.0.1');
  assert.equal(cert.checkHost('node-1.example'), 'node-1.example');
  assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.1']);
});

test('openssl verifies the chain for TLS server use', () => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
  } catch (err) {
    throw new Error('openssl is not on PATH: this test checks the certificates with it', { cause: err });
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nubis-x509-'));
  try {
    const caKey = key();
    const caPem = makeCertificate({ commonName: 'chain-ca', key: caKey, validDays: 30, ca: true });
    const pem = makeCertificate({ commonName: 'srv', key: key(), issuer: { cert: caPem, key: caKey }, validDays: 30, ca: false, altNames: ['localhost'] });
    writeFileSync(path.join(dir, 'ca.crt'), caPem);
    writeFileSync(path.join(dir, 'srv.crt'), pem);
    const out = execFileSync('openssl', ['verify', '-CAfile', path.join(dir, 'ca.crt'), '-purpose', 'sslserver', path.join(dir, 'srv.crt')]).toString();
    assert.match(out, /srv\.crt: OK/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a signing request round-trips, openssl accepts it, and the CA issues a client certificate from it', () => {
  const nodeKey = key();
  const csr = makeCertificateSigningRequest({ commonName: 'system:node:n1', organizations: ['system:nodes'], key: nodeKey });
  const parsed = parseCertificateSigningRequest(csr);
  assert.equal(parsed.commonName, 'system:node:n1');
  assert.deepEqual(parsed.organizations, ['system:nodes']);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nubis-x509-'));
  try {
    writeFileSync(path.join(dir, 'req.csr'), csr);
    const out = execFileSync('openssl', ['req', '-in', path.join(dir, 'req.csr'), '-noout', '-verify', '-subject'], { stderr: 'pipe' } as never).toString();
    assert.match(out, /subject=O ?= ?system:nodes, CN ?= ?system:node:n1/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // One flipped byte in the signed part: the signature no longer verifies.
  const der = Buffer.from(csr.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  der[40] = der[40]! ^ 0x01;
  const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
  assert.throws(() => parseCertificateSigningRequest(tampered));
  assert.throws(() => parseCertificateSigningRequest('-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n'));

  const caKey = key();
  const caPem = makeCertificate({ commonName: 'ca', key: caKey, validDays: 30, ca: true });
  const issued = new X509Certificate(
    makeCertificate({ commonName: parsed.commonName, organizations: parsed.organizations, key: parsed.publicKey, issuer: { cert: caPem, key: caKey }, validDays: 1, ca: false, usage: 'client' }),
  );
  assert.equal(issued.subject, 'O=system:nodes\nCN=system:node:n1');
  assert.deepEqual(issued.keyUsage, ['1.3.6.1.5.5.7.3.2']);
  assert.ok(issued.verify(new X509Certificate(caPem).publicKey));
  assert.ok(issued.checkPrivateKey(createPrivateKey(nodeKey)));
});
