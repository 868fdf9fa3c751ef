/**
 * The cluster's certificate signer, beside the CA key in the API server: node client certificates
 * (signer kubernetes.io/kube-apiserver-client-kubelet) are approved at once when a joining agent (group
 * system:bootstrappers) or the node itself asks for exactly `CN=system:node:<name>, O=system:nodes` for
 * client auth; an agent's serving certificate (kubernetes.io/kubelet-serving, the same subject, for
 * server auth) when the node asks for itself; other client certificates (kubernetes.io/kube-apiserver-client)
 * wait for an administrator's `kubectl certificate approve`. Approved requests are signed for at most a year (less
 * when spec.expirationSeconds asks). Writes go through the pipeline as the certificate controller.
 */
import type { CertificateSigningRequest, CsrCondition } from '../api/certificates/v1/csr.js';
import { CLIENT_SIGNER, conditionOf, NODE_CLIENT_SIGNER, SERVING_SIGNER } from '../api/certificates/v1/csr.js';
import type { KubeObject } from '../api/meta.js';
import { isNubisError } from '../lib/errors.js';
import { logger } from '../lib/log.js';
import { makeCertificate, parseCertificateSigningRequest, type ParsedSigningRequest } from '../lib/x509.js';
import type { InternalWriter } from './internal-writer.js';
import type { StoreMirror } from './store-mirror.js';
import { ApiError } from './status.js';

const log = logger('csr-signer');
const MAX_SECONDS = 365 * 86_400;
/** What each signer issues: the usages it allows, the one it requires, and the certificate's purpose. */
const SIGNERS: Record<string, { usages: Set<string>; required: string; purpose: 'client' | 'server'; nodesOnly: boolean }> = {
  [NODE_CLIENT_SIGNER]: { usages: new Set(['digital signature', 'key encipherment', 'client auth']), required: 'client auth', purpose: 'client', nodesOnly: true },
  [CLIENT_SIGNER]: { usages: new Set(['digital signature', 'key encipherment', 'client auth']), required: 'client auth', purpose: 'client', nodesOnly: false },
  [SERVING_SIGNER]: { usages: new Set(['digital signature', 'key encipherment', 'server auth']), required: 'server auth', purpose: 'server', nodesOnly: true },
};

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

  /** The Node a node certificate names: whether it is registered, and Ready. */
  private async node(parsed: ParsedSigningRequest): Promise<{ exists: boolean; ready: boolean }> {
    try {
      const node = await this.writer.ops.store.get({ resource: 'nodes' }, { name: parsed.commonName.slice('system:node:'.length) });
      const conditions = (node.status as { conditions?: Array<{ type: string; status: string }> } | undefined)?.conditions ?? [];
      return { exists: true, ready: conditions.some((c) => c.type === 'Ready' && c.status === 'True') };
    } catch (err) {
      if (isNubisError(err, 'NotFound')) return { exists: false, ready: false };
      throw err;
    }
  }

  /**
   * Whether a node-shaped request is approved without a person: a joining node's client certificate
   * (unless a Ready node of that name exists: a join token does not take over a live node), or a
   * node's own (its client certificate only while its Node exists). A string approves, `{ deny }` denies.
   */
  private async autoApproval(csr: CertificateSigningRequest, parsed: ParsedSigningRequest): Promise<string | { deny: string } | undefined> {
    const requester = csr.spec.username ?? '';
    const groups = csr.spec.groups ?? [];
    if (!nodeRequest(parsed)) return undefined;
    if (requester === parsed.commonName) {
      if (csr.spec.signerName === SERVING_SIGNER) return 'the serving certificate a node asked for itself';
      return (await this.node(parsed)).exists ? 'self renewal of the node certificate' : { deny: `node ${parsed.commonName} is no longer registered` };
    }
    if (csr.spec.signerName === NODE_CLIENT_SIGNER && groups.includes('system:bootstrappers')) {
      if ((await this.node(parsed)).ready) return { deny: `a Ready node named ${parsed.commonName.slice('system:node:'.length)} is registered: a joining agent may not take its name (delete the Node first, or pick another --node-name)` };
      return 'the node client certificate of a joining agent';
    }
    // An administrator's request is one it could approve anyway (agents run with admin credentials in tests and benchmarks).
    if (csr.spec.signerName === SERVING_SIGNER && groups.includes('system:masters')) return 'a serving certificate an administrator asked for';
    return undefined;
  }

  private async handle(csr: CertificateSigningRequest): Promise<void> {
    const signer = SIGNERS[csr.spec?.signerName ?? ''];
    if (!signer || csr.status?.certificate || conditionOf(csr, 'Denied') || conditionOf(csr, 'Failed')) return;
    let parsed: ParsedSigningRequest;
    try {
      parsed = parseCertificateSigningRequest(Buffer.from(csr.spec.request, 'base64').toString('utf8'));
    } catch (err) {
      await this.write(csr, { type: 'Failed', status: 'True', reason: 'SignerValidationFailure', message: `invalid certificate request: ${(err as Error).message}` }, 'status');
      return;
    }
    const usages = csr.spec.usages ?? [];
    const fits = usages.every((u) => signer.usages.has(u)) && usages.includes(signer.required) && !!parsed.commonName && (!signer.nodesOnly || nodeRequest(parsed));
    if (!conditionOf(csr, 'Approved')) {
      const why = fits ? await this.autoApproval(csr, parsed) : undefined;
      if (typeof why === 'string') await this.write(csr, { type: 'Approved', status: 'True', reason: 'AutoApproved', message: `Auto approving ${why}` }, 'approval');
      else if (why) await this.write(csr, { type: 'Denied', status: 'True', reason: 'AutoDenied', message: why.deny }, 'approval');
      return; // otherwise it waits for a person
    }
    if (!fits) {
      await this.write(csr, { type: 'Failed', status: 'True', reason: 'SignerValidationFailure', message: `the request does not fit ${csr.spec.signerName}: usages ${[...signer.usages].join(', ')} with ${signer.required}${signer.nodesOnly ? ', for system:node:<name> in system:nodes' : ''}` }, 'status');
      return;
    }
    const seconds = Math.min(csr.spec.expirationSeconds ?? MAX_SECONDS, MAX_SECONDS);
    const cert = makeCertificate({ commonName: parsed.commonName, organizations: parsed.organizations, key: parsed.publicKey, issuer: this.ca, validDays: seconds / 86_400, ca: false, usage: signer.purpose });
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
