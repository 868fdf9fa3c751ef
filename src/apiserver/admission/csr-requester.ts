/** A CertificateSigningRequest records who asked for it: the server fills spec.username, uid and groups. */
import type { CertificateSigningRequest } from '../../api/certificates/v1/csr.js';
import type { AdmissionPlugin, AdmissionRequest } from './admission.js';

export class CsrRequester implements AdmissionPlugin {
  readonly name = 'CertificateSigningRequestRequester';

  mutate(r: AdmissionRequest): void {
    if (r.operation !== 'CREATE' || r.type.group !== 'certificates.k8s.io' || !r.object) return;
    const csr = r.object as CertificateSigningRequest;
    if (typeof csr.spec !== 'object' || csr.spec === null) return;
    csr.spec.username = r.user.name;
    csr.spec.groups = [...r.user.groups];
    if (r.user.uid) csr.spec.uid = r.user.uid;
    else delete csr.spec.uid;
    delete csr.spec.extra;
    delete csr.status;
  }
}
