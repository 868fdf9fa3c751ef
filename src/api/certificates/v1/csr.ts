/**
 * certificates.k8s.io/v1 CertificateSigningRequest: a PEM PKCS#10 request, the signer asked to sign it
 * and the usages wanted; the server records who asked (spec.username, groups, uid); approval and the
 * issued certificate live in status (subresources approval and status).
 */
import { defineType, field } from '../../define.js';
import type { KubeObject } from '../../meta.js';
import { conditionsList, kindSchema } from '../../meta-schema.js';
import type { FieldError, ResourceType } from '../../resource-type.js';
import { bytes, int32, map, obj, str, stringList } from '../../schema.js';
import { age, ageColumn, column, nameColumn } from '../../table.js';
import { fieldErr, immutable } from '../../validation.js';

export const NODE_CLIENT_SIGNER = 'kubernetes.io/kube-apiserver-client-kubelet';
export const CLIENT_SIGNER = 'kubernetes.io/kube-apiserver-client';
export const SERVING_SIGNER = 'kubernetes.io/kubelet-serving';

export interface CsrCondition {
  type: 'Approved' | 'Denied' | 'Failed';
  status: 'True' | 'False';
  reason?: string;
  message?: string;
  lastUpdateTime?: string;
  lastTransitionTime?: string;
}

export interface CertificateSigningRequest extends KubeObject {
  spec: {
    /** base64 of the PEM request. */
    request: string;
    signerName: string;
    expirationSeconds?: number;
    usages?: string[];
    username?: string;
    uid?: string;
    groups?: string[];
    extra?: Record<string, string[]>;
  };
  status?: { conditions?: CsrCondition[]; certificate?: string };
}

const USAGES = ['signing', 'digital signature', 'content commitment', 'key encipherment', 'key agreement', 'data encipherment', 'cert sign', 'crl sign', 'encipher only', 'decipher only', 'any', 'server auth', 'client auth', 'code signing', 'email protection', 's/mime', 'ipsec end system', 'ipsec tunnel', 'ipsec user', 'timestamping', 'ocsp signing', 'microsoft sgc', 'netscape sgc'];

export const conditionOf = (csr: CertificateSigningRequest, type: CsrCondition['type']) => csr.status?.conditions?.find((c) => c.type === type && c.status === 'True');

function condition(csr: CertificateSigningRequest): string {
  const parts: string[] = (csr.status?.conditions ?? []).filter((c) => c.status === 'True').map((c) => c.type);
  if (csr.status?.certificate) parts.push('Issued');
  return parts.length ? parts.join(',') : 'Pending';
}

function validateCsr(o: KubeObject, old?: KubeObject): FieldError[] {
  const csr = o as CertificateSigningRequest;
  const spec = csr.spec as CertificateSigningRequest['spec'] | undefined;
  if (!spec || typeof spec !== 'object') return [fieldErr.required('spec')];
  const errors: FieldError[] = [];
  if (typeof spec.request !== 'string' || spec.request === '') errors.push(fieldErr.required('spec.request'));
  else if (!Buffer.from(spec.request, 'base64').toString('utf8').includes('CERTIFICATE REQUEST-----')) errors.push(fieldErr.invalid('spec.request', '<request>', 'must be a base64-encoded PEM CERTIFICATE REQUEST'));
  if (typeof spec.signerName !== 'string' || !/^[a-z0-9.-]+\/[a-zA-Z0-9._-]+$/.test(spec.signerName)) errors.push(fieldErr.invalid('spec.signerName', spec.signerName, 'must be a fully qualified signer name: domain/path'));
  if (spec.expirationSeconds !== undefined && (!Number.isInteger(spec.expirationSeconds) || spec.expirationSeconds < 600 || spec.expirationSeconds > 2 ** 31 - 1)) {
    errors.push(fieldErr.invalid('spec.expirationSeconds', spec.expirationSeconds, 'may not specify a duration less than 600 seconds (10 minutes)'));
  }
  if (!Array.isArray(spec.usages) || spec.usages.length === 0) errors.push(fieldErr.required('spec.usages'));
  else spec.usages.forEach((u, i) => USAGES.includes(u) || errors.push(fieldErr.notSupported(`spec.usages[${i}]`, u, USAGES)));
  if (old) {
    const o2 = (old as CertificateSigningRequest).spec;
    for (const f of ['request', 'signerName', 'expirationSeconds', 'usages', 'username', 'uid', 'groups'] as const) immutable(errors, `spec.${f}`, spec[f], o2[f]);
  }
  for (const [i, c] of (csr.status?.conditions ?? []).entries()) {
    if (!['Approved', 'Denied', 'Failed'].includes(c.type)) errors.push(fieldErr.notSupported(`status.conditions[${i}].type`, c.type, ['Approved', 'Denied', 'Failed']));
  }
  if (conditionOf(csr, 'Approved') && conditionOf(csr, 'Denied')) errors.push(fieldErr.invalid('status.conditions', 'Approved', 'Approved and Denied conditions are mutually exclusive'));
  if (old) {
    for (const t of ['Approved', 'Denied'] as const) {
      if (conditionOf(old as CertificateSigningRequest, t) && !conditionOf(csr, t)) errors.push(fieldErr.forbidden('status.conditions', `updates may not remove a condition of type "${t}"`));
    }
    const cert = (old as CertificateSigningRequest).status?.certificate;
    if (cert && csr.status?.certificate !== cert) errors.push(fieldErr.forbidden('status.certificate', 'updates may not modify existing certificate content'));
  }
  return errors;
}

export function certificateSigningRequestType(): ResourceType {
  return defineType({
    group: 'certificates.k8s.io',
    version: 'v1',
    kind: 'CertificateSigningRequest',
    resource: 'certificatesigningrequests',
    singular: 'certificatesigningrequest',
    namespaced: false,
    shortNames: ['csr'],
    subresources: ['status', 'approval'],
    hasStatus: true,
    schema: kindSchema('CertificateSigningRequest objects provide a mechanism to obtain x509 certificates by submitting a certificate signing request, and having it asynchronously approved and issued.', {
      spec: obj({
        request: bytes('request contains an x509 certificate signing request encoded in a "CERTIFICATE REQUEST" PEM block.'),
        signerName: str('signerName indicates the requested signer.'),
        expirationSeconds: int32('expirationSeconds is the requested duration of validity of the issued certificate.'),
        usages: stringList('usages specifies a set of key usages requested in the issued certificate.'),
        username: str(),
        uid: str(),
        groups: stringList(),
        extra: map(stringList()),
      }),
      status: obj({ conditions: conditionsList(), certificate: bytes('certificate is populated with an issued certificate by the signer after an Approved condition is present.') }),
    }),
    validateSpec: validateCsr,
    fields: { 'spec.signerName': field('spec.signerName') },
    table: {
      columns: [nameColumn(), ageColumn(), column('SignerName', 'The requested signer'), column('Requestor', 'Who asked'), column('Condition', 'Approved, Denied, Failed, Issued or Pending')],
      cells: (o, now) => {
        const c = o as CertificateSigningRequest;
        return [o.metadata.name, age(o, now), c.spec?.signerName ?? '', c.spec?.username ?? '', condition(c)];
      },
    },
  });
}
