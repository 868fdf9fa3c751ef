/**
 * X.509 v3 certificates (RFC 5280) made with Node's crypto alone: the DER of the to-be-signed part is
 * written here, node:crypto signs it (RSA PKCS#1 v1.5 with SHA-256). Covers what the API server's PKI
 * needs: a self-signed CA and serving certificates with DNS and IP subject alternative names.
 */
import { createHash, createPrivateKey, createPublicKey, randomBytes, sign, verify, X509Certificate, type KeyObject } from 'node:crypto';
import net from 'node:net';

// DER: tag, definite length, content.
function der(tag: number, content: Buffer): Buffer {
  const n = content.length;
  let len: Buffer;
  if (n < 0x80) len = Buffer.from([n]);
  else {
    const bytes: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
    len = Buffer.from([0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([Buffer.from([tag]), len, content]);
}

const seq = (...items: Buffer[]) => der(0x30, Buffer.concat(items));
const set = (...items: Buffer[]) => der(0x31, Buffer.concat(items));
const octets = (b: Buffer) => der(0x04, b);
const bool = (v: boolean) => der(0x01, Buffer.from([v ? 0xff : 0x00]));
const explicit = (n: number, inner: Buffer) => der(0xa0 + n, inner);
const bitString = (b: Buffer, unused = 0) => der(0x03, Buffer.concat([Buffer.from([unused]), b]));

/** A non-negative INTEGER from big-endian bytes (a leading zero when the high bit is set). */
function integer(bytes: Buffer): Buffer {
  let b = bytes;
  while (b.length > 1 && b[0] === 0 && (b[1]! & 0x80) === 0) b = b.subarray(1);
  return der(0x02, (b[0]! & 0x80) !== 0 ? Buffer.concat([Buffer.from([0]), b]) : b);
}

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const out = [40 * parts[0]! + parts[1]!];
  for (const p of parts.slice(2)) {
    const chunk: number[] = [p & 0x7f];
    for (let v = Math.floor(p / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return der(0x06, Buffer.from(out));
}

/** UTCTime before 2050, GeneralizedTime from then on (RFC 5280 4.1.2.5). */
function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14); // YYYYMMDDhhmmss
  return d.getUTCFullYear() < 2050 ? der(0x17, Buffer.from(`${iso.slice(2)}Z`)) : der(0x18, Buffer.from(`${iso}Z`));
}

const OID_CN = '2.5.4.3';
const OID_O = '2.5.4.10';
/** A Name: one RDN per organization, then the common name (as Kubernetes' tools write them). */
const distinguishedName = (cn: string, orgs: string[] = []) =>
  seq(...orgs.map((o) => set(seq(oid(OID_O), der(0x0c, Buffer.from(o, 'utf8'))))), set(seq(oid(OID_CN), der(0x0c, Buffer.from(cn, 'utf8')))));
const SHA256_WITH_RSA = seq(oid('1.2.840.113549.1.1.11'), der(0x05, Buffer.alloc(0)));

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical ? seq(oid(id), bool(true), octets(value)) : seq(oid(id), octets(value));
}

/** keyUsage bits, bit 0 first (digitalSignature 0, keyEncipherment 2, keyCertSign 5, cRLSign 6). */
function keyUsage(bits: number[]): Buffer {
  let v = 0;
  for (const b of bits) v |= 0x80 >> b;
  const lowest = Math.max(...bits);
  return bitString(Buffer.from([v]), 7 - lowest);
}

/** SHA-1 of the subjectPublicKey bits: the usual key identifier (RFC 5280 4.2.1.2, method 1). */
function keyIdentifier(spki: Buffer): Buffer {
  // SubjectPublicKeyInfo ::= SEQUENCE { algorithm, subjectPublicKey BIT STRING }: hash the BIT STRING's key bytes.
  const key = createPublicKey({ key: spki, format: 'der', type: 'spki' }).export({ type: 'pkcs1', format: 'der' });
  return createHash('sha1').update(key).digest();
}

/** The DER of one TLV at `offset` and where its content starts and ends. */
function tlv(buf: Buffer, offset: number): { start: number; contentStart: number; end: number } {
  let pos = offset + 1;
  let len = buf[pos++]!;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[pos++]!;
  }
  return { start: offset, contentStart: pos, end: pos + len };
}

/** The subject Name of a certificate, byte for byte (an issuer must name its signer exactly so). */
function subjectDer(cert: X509Certificate): Buffer {
  const raw = cert.raw;
  const tbs = tlv(raw, tlv(raw, 0).contentStart);
  let at = tbs.contentStart;
  const fields: Array<{ start: number; end: number }> = [];
  while (at < tbs.end && fields.length < 6) {
    const f = tlv(raw, at);
    fields.push(f);
    at = f.end;
  }
  // [0] version, serialNumber, signature, issuer, validity, subject
  const subject = raw[fields[0]!.start] === 0xa0 ? fields[5] : fields[4];
  return raw.subarray(subject!.start, subject!.end);
}

export interface CertificateRequest {
  commonName: string;
  /** Subject organizations (O): a client certificate's groups. */
  organizations?: string[];
  /** The signer: its PEM certificate and private key; absent for a self-signed certificate. */
  issuer?: { cert: string; key: KeyObject | string };
  /** The subject's key: its private key (PEM or KeyObject), or only its public key when a CA signs a request. */
  key: KeyObject | string;
  validDays: number;
  ca: boolean;
  /** What a leaf certificate is for (default server). */
  usage?: 'server' | 'client';
  /** DNS names and IP addresses for subjectAltName (serving certificates). */
  altNames?: string[];
}

/** A signed certificate in PEM. */
export function makeCertificate(req: CertificateRequest): string {
  const key = typeof req.key === 'string' ? createPrivateKey(req.key) : req.key;
  const spki = (key.type === 'public' ? key : createPublicKey(key)).export({ type: 'spki', format: 'der' });
  const signerKey = req.issuer ? (typeof req.issuer.key === 'string' ? createPrivateKey(req.issuer.key) : req.issuer.key) : key;
  const issuerCert = req.issuer ? new X509Certificate(req.issuer.cert) : undefined;
  const issuerSpki = issuerCert ? issuerCert.publicKey.export({ type: 'spki', format: 'der' }) : spki;
  const now = Date.now();
  const extensions = [
    extension('2.5.29.19', true, req.ca ? seq(bool(true)) : seq()),
    extension('2.5.29.15', true, keyUsage(req.ca ? [0, 5, 6] : [0, 2])),
    extension('2.5.29.14', false, octets(keyIdentifier(spki))),
    extension('2.5.29.35', false, seq(der(0x80, keyIdentifier(issuerSpki)))),
  ];
  if (!req.ca) extensions.push(extension('2.5.29.37', false, seq(oid(req.usage === 'client' ? '1.3.6.1.5.5.7.3.2' : '1.3.6.1.5.5.7.3.1'))));
  if (req.altNames?.length) {
    const names = req.altNames.map((n) => {
      const v = net.isIP(n);
      if (v === 4) return der(0x87, Buffer.from(n.split('.').map(Number)));
      if (v === 6) return der(0x87, ipv6Bytes(n));
      return der(0x82, Buffer.from(n, 'ascii'));
    });
    extensions.push(extension('2.5.29.17', false, seq(...names)));
  }
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01; // positive, non-zero
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))),
    integer(serial),
    SHA256_WITH_RSA,
    issuerCert ? subjectDer(issuerCert) : distinguishedName(req.commonName, req.organizations),
    seq(time(new Date(now - 3600_000)), time(new Date(now + req.validDays * 86_400_000))),
    distinguishedName(req.commonName, req.organizations),
    spki,
    explicit(3, seq(...extensions)),
  );
  const cert = seq(tbs, SHA256_WITH_RSA, bitString(sign('sha256', tbs, signerKey)));
  return pem('CERTIFICATE', cert);
}

function pem(label: string, body: Buffer): string {
  const b64 = body.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/** A PKCS#10 certificate signing request in PEM, signed with `key` (RSA). */
export function makeCertificateSigningRequest(req: { commonName: string; organizations?: string[]; key: KeyObject | string }): string {
  const key = typeof req.key === 'string' ? createPrivateKey(req.key) : req.key;
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const info = seq(integer(Buffer.from([0])), distinguishedName(req.commonName, req.organizations), spki, der(0xa0, Buffer.alloc(0)));
  return pem('CERTIFICATE REQUEST', seq(info, SHA256_WITH_RSA, bitString(sign('sha256', info, key))));
}

/** What a signer needs of a certificate signing request, its signature checked. */
export interface ParsedSigningRequest {
  commonName: string;
  organizations: string[];
  publicKey: KeyObject;
}

const SIGNATURE_ALGORITHMS = new Set(['1.2.840.113549.1.1.11', '1.2.840.10045.4.3.2']); // sha256WithRSA, ecdsa-with-SHA256

function oidText(content: Buffer): string {
  const parts = [Math.floor(content[0]! / 40), content[0]! % 40];
  let v = 0;
  for (const b of content.subarray(1)) {
    v = v * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) {
      parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

/** The TLVs directly inside a constructed TLV. */
function children(buf: Buffer, parent: { contentStart: number; end: number }): Array<{ start: number; contentStart: number; end: number }> {
  const out = [];
  for (let at = parent.contentStart; at < parent.end; ) {
    const c = tlv(buf, at);
    if (c.end > parent.end || c.contentStart > c.end) throw new Error('malformed DER');
    out.push(c);
    at = c.end;
  }
  return out;
}

/** Parses a PEM PKCS#10 request and verifies its self-signature; throws on anything malformed. */
export function parseCertificateSigningRequest(pemText: string): ParsedSigningRequest {
  const m = /-----BEGIN (?:NEW )?CERTIFICATE REQUEST-----([A-Za-z0-9+/=\s]+)-----END (?:NEW )?CERTIFICATE REQUEST-----/.exec(pemText);
  if (!m) throw new Error('not a PEM CERTIFICATE REQUEST');
  const buf = Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64');
  const top = tlv(buf, 0);
  if (buf[0] !== 0x30 || top.end !== buf.length) throw new Error('malformed DER');
  const [info, alg, sig] = children(buf, top);
  if (!info || !alg || !sig || buf[sig.start] !== 0x03) throw new Error('a request has info, algorithm and signature');
  const algOid = children(buf, alg)[0];
  if (!algOid || !SIGNATURE_ALGORITHMS.has(oidText(buf.subarray(algOid.contentStart, algOid.end)))) throw new Error('the request is not signed with SHA-256 (RSA or ECDSA)');
  const [, subject, spki] = children(buf, info);
  if (!subject || !spki) throw new Error('the request lacks a subject or public key');
  let commonName = '';
  const organizations: string[] = [];
  for (const rdn of children(buf, subject)) {
    for (const atv of children(buf, rdn)) {
      const [type, value] = children(buf, atv);
      if (!type || !value) continue;
      const id = oidText(buf.subarray(type.contentStart, type.end));
      const text = buf.subarray(value.contentStart, value.end).toString('utf8');
      if (id === OID_CN) commonName = text;
      if (id === OID_O) organizations.push(text);
    }
  }
  const publicKey = createPublicKey({ key: buf.subarray(spki.start, spki.end), format: 'der', type: 'spki' });
  const signature = buf.subarray(sig.contentStart + 1, sig.end);
  if (!verify('sha256', buf.subarray(info.start, info.end), publicKey, signature)) throw new Error('the request\'s signature does not verify');
  return { commonName, organizations, publicKey };
}

function ipv6Bytes(addr: string): Buffer {
  const [head, tail] = addr.includes('::') ? addr.split('::') : [addr, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return Buffer.from(groups.flatMap((g) => [(parseInt(g, 16) >> 8) & 0xff, parseInt(g, 16) & 0xff]));
}
