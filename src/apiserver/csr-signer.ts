/**
 * The cluster's certificate signer, beside the CA key in the API server: node client certificates
 * (signer kubernetes.io/kube-apiserver-client-kubelet) are approved at once when a joining agent (group
 * system:bootstrappers) or the node itself asks for exactly `CN=system:node:<name>, O=system:nodes` for
 * client auth; other client certificates (kubernetes.io/kube-apiserver-client) wait for an
 * administrator's `kubectl certificate approve`. Approved requests are signed for at most a year (less
 * when spec.expirationSeconds asks). Writes go through the pipeline as the certificate controller.
 */
import type { CertificateSigningRequest, CsrCondition } from '../api/certificates/v1/csr.js';
import { CLIENT_SIGNER, conditionOf, NODE_CLIENT_SIGNER } from '../api/certificates/v1/csr.js';
import type { KubeObject } from '../api/meta.js';
import { logger } from '../lib/log.js';
import { makeCertificate, parseCertificateSigningRequest, type ParsedSigningRequest } from '../lib/x509.js';
import type { InternalWriter } from './internal-writer.js';
import type { StoreMirror } from './store-mirror.js';
import { ApiError } from './status.js';

const log = logger('csr-signer');
const MAX_SECONDS = 365 * 86_400;
const CLIENT_USAGES = new Set(['digital signature', 'key encipherment', 'client auth']);

const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

function nodeRequest(p: ParsedSigningRequest): boolean {
  return /^system:node:[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(p.commonName) && p.organizations.length === 1 && p.organizations[0] === 'system:nodes';
}

/** How long finished requests (issued, denied, failed) and unanswered ones are kept, as Kubernetes' cleaner. */
const KEEP_FINISHED_MS = 3600_000;
const KEEP_PENDING_MS = 24 * 3600_000;

export class CsrSigner {
  private queue = Promise.resolve();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly csrs: StoreMirror,
    private readonly writer: InternalWriter,
    private readonly ca: { cert: string; key: string },
  ) {
    csrs.onChange((_key, obj) => {
      if (obj) this.queue = this.queue.then(() => this.handle(obj as CertificateSigningRequest)).catch(() => undefined);
    });
    this.sweeper = setInterval(() => void this.sweep(), 600_000).unref();
  }

  stop(): void {
    clearInterval(this.sweeper);
  }

  /** Deletes requests that are done with (or were never answered) once they are old enough. */
  async sweep(now = Date.now()): Promise<void> {
    for (const obj of [...this.csrs.objects.values()]) {
      const csr = obj as CertificateSigningRequest;
      const age = now - Date.parse(csr.metadata.creationTimestamp ?? '');
      const finished = !!csr.status?.certificate || !!conditionOf(csr, 'Denied') || !!conditionOf(csr, 'Failed');
      if (!(age > (finished ? KEEP_FINISHED_MS : KEEP_PENDING_MS))) continue;
      await this.writer.delete(this.type(), undefined, csr.metadata.name, { preconditions: { uid: csr.metadata.uid } }).catch((err: unknown) => this.report(csr, err));
    }
  }

  private type() {
    return this.writer.ops.registry.byResource('certificates.k8s.io', 'certificatesigningrequests')!;
  }

  private async setConditions(csr: CertificateSigningRequest, c: CsrCondition, subresource: 'approval' | 'status'): Promise<void> {
    const status = { ...csr.status, conditions: [...(csr.status?.conditions ?? []), { ...c, lastUpdateTime: now(), lastTransitionTime: now() }] };
    await this.writer.replace(this.type(), csr, { ...csr, status } as KubeObject, subresource);
  }

  private async handle(csr: CertificateSigningRequest): Promise<void> {
    const signer = csr.spec?.signerName;
    if ((signer !== NODE_CLIENT_SIGNER && signer !== CLIENT_SIGNER) || csr.status?.certificate || conditionOf(csr, 'Denied') || conditionOf(csr, 'Failed')) return;
    let parsed: ParsedSigningRequest;
    try {
      parsed = parseCertificateSigningRequest(Buffer.from(csr.spec.request, 'base64').toString('utf8'));
    } catch (err) {
      await this.write(csr, { type: 'Failed', status: 'True', reason: 'SignerValidationFailure', message: `invalid certificate request: ${(err as Error).message}` }, 'status');
      return;
    }
    const usagesOk = (csr.spec.usages ?? []).every((u) => CLIENT_USAGES.has(u)) && (csr.spec.usages ?? []).includes('client auth');
    if (!conditionOf(csr, 'Approved')) {
      if (signer !== NODE_CLIENT_SIGNER || !nodeRequest(parsed) || !usagesOk) return; // waits for a person
      const requester = csr.spec.username ?? '';
      const selfRenewal = requester === parsed.commonName;
      if (!selfRenewal && !(csr.spec.groups ?? []).includes('system:bootstrappers')) return;
      await this.write(csr, { type: 'Approved', status: 'True', reason: 'AutoApproved', message: `Auto approving ${selfRenewal ? 'self renewal of the node certificate' : 'the node client certificate of a joining agent'}` }, 'approval');
      return;
    }
    if (!usagesOk || (signer === NODE_CLIENT_SIGNER && !nodeRequest(parsed)) || !parsed.commonName) {
      await this.write(csr, { type: 'Failed', status: 'True', reason: 'SignerValidationFailure', message: 'the request does not fit the signer: client auth only, and system:node:<name> in system:nodes for node certificates' }, 'status');
      return;
    }
    const seconds = Math.min(csr.spec.expirationSeconds ?? MAX_SECONDS, MAX_SECONDS);
    const cert = makeCertificate({ commonName: parsed.commonName, organizations: parsed.organizations, key: parsed.publicKey, issuer: this.ca, validDays: seconds / 86_400, ca: false, usage: 'client' });
    try {
      await this.writer.replace(this.type(), csr, { ...csr, status: { ...csr.status, certificate: Buffer.from(cert).toString('base64') } } as KubeObject, 'status');
    } catch (err) {
      this.report(csr, err);
    }
  }

  private async write(csr: CertificateSigningRequest, c: CsrCondition, subresource: 'approval' | 'status'): Promise<void> {
    try {
      await this.setConditions(csr, c, subresource);
    } catch (err) {
      this.report(csr, err);
    }
  }

  private report(csr: CertificateSigningRequest, err: unknown): void {
    if (err instanceof ApiError && (err.reason === 'Conflict' || err.reason === 'NotFound')) return; // a newer version comes through the mirror
    log.warn(`certificate request ${csr.metadata.name}: ${(err as Error).message}`);
  }
}
