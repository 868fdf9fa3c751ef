/**
 * ServiceAccount admission, as Kubernetes': a new pod runs as an account that exists (the namespace's
 * `default` may still be on its way: it is made with the namespace), and unless the pod or its account
 * opts out, every container gets the API access volume at /var/run/secrets/kubernetes.io/serviceaccount:
 * a bound token (refreshed by the node), the cluster CA and the namespace.
 */
import { randomInt } from 'node:crypto';
import type { Pod, Volume } from '../../api/core/v1/pod-types.js';
import { DEFAULT_SERVICE_ACCOUNT, ROOT_CA_CONFIG_MAP, SERVICE_ACCOUNT_MOUNT_PATH, type ServiceAccount } from '../../api/core/v1/service-account.js';
import { isNubisError } from '../../lib/errors.js';
import type { ObjectStore } from '../../store/object-store.js';
import { ApiError } from '../status.js';
import { forbiddenBy, type AdmissionPlugin, type AdmissionRequest } from './admission.js';

/** Kubernetes' token lifetime for the automatic volume (an hour and a bit, refreshed at 80%). */
const TOKEN_SECONDS = 3607;
const VOLUME_PREFIX = 'kube-api-access-';
const SUFFIX_CHARS = 'bcdfghjklmnpqrstvwxz2456789';

/** The projected volume every pod gets unless it opts out. */
export function apiAccessVolume(name: string): Volume {
  return {
    name,
    projected: {
      defaultMode: 0o644,
      sources: [
        { serviceAccountToken: { expirationSeconds: TOKEN_SECONDS, path: 'token' } },
        { configMap: { name: ROOT_CA_CONFIG_MAP, items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
      ],
    },
  } as Volume;
}

export class ServiceAccountAdmission implements AdmissionPlugin {
  readonly name = 'ServiceAccount';

  constructor(private readonly store: ObjectStore) {}

  async mutate(r: AdmissionRequest): Promise<void> {
    if (r.type.group !== '' || r.type.resource !== 'pods' || r.operation !== 'CREATE' || r.subresource) return;
    const spec = (r.object as Pod | undefined)?.spec;
    if (!spec || typeof spec !== 'object') return;
    const account = typeof spec.serviceAccountName === 'string' && spec.serviceAccountName ? spec.serviceAccountName : DEFAULT_SERVICE_ACCOUNT;
    const sa = await this.account(r.namespace ?? '', account);
    if (!sa && account !== DEFAULT_SERVICE_ACCOUNT) {
      throw new ApiError('Forbidden', forbiddenBy(r, `error looking up service account ${r.namespace}/${account}: serviceaccount "${account}" not found`), { name: r.name, kind: 'pods' });
    }
    // The account the pod runs as, written down (an empty name is `default`): its node asks tokens for it.
    spec.serviceAccountName = account;
    spec.serviceAccount = account;
    if ((spec.automountServiceAccountToken ?? sa?.automountServiceAccountToken ?? true) === false) return;
    // A container that mounts something there itself keeps it (as in Kubernetes).
    const containers = [...(Array.isArray(spec.initContainers) ? spec.initContainers : []), ...(Array.isArray(spec.containers) ? spec.containers : [])].filter(
      (c) => c && typeof c === 'object' && !(Array.isArray(c.volumeMounts) && c.volumeMounts.some((m) => m?.mountPath === SERVICE_ACCOUNT_MOUNT_PATH)),
    );
    if (containers.length === 0) return;
    const volumes = Array.isArray(spec.volumes) ? spec.volumes : (spec.volumes = []);
    const taken = new Set(volumes.map((v) => v?.name));
    let name: string;
    do name = VOLUME_PREFIX + Array.from({ length: 5 }, () => SUFFIX_CHARS[randomInt(SUFFIX_CHARS.length)]).join('');
    while (taken.has(name));
    volumes.push(apiAccessVolume(name));
    for (const c of containers) {
      c.volumeMounts = [...(Array.isArray(c.volumeMounts) ? c.volumeMounts : []), { name, mountPath: SERVICE_ACCOUNT_MOUNT_PATH, readOnly: true }];
    }
  }

  private async account(namespace: string, name: string): Promise<ServiceAccount | undefined> {
    try {
      return await this.store.get<ServiceAccount>({ group: '', resource: 'serviceaccounts' }, { namespace, name });
    } catch (err) {
      // A name no object can have (validation refuses it later) is not found either, as in Kubernetes.
      if (isNubisError(err, 'NotFound') || isNubisError(err, 'Invalid')) return undefined;
      throw err;
    }
  }
}
