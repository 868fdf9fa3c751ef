/** The objects a pod uses by name: what its node may read because of it (the Node authorizer's graph). */
import type { Pod } from './pod-types.js';

export interface PodReferences {
  secrets: string[];
  configmaps: string[];
  persistentvolumeclaims: string[];
  serviceaccounts: string[];
}

export function podReferences(pod: Pod): PodReferences {
  const secrets = new Set<string>();
  const configmaps = new Set<string>();
  const pvcs = new Set<string>();
  const spec = pod.spec ?? ({} as NonNullable<Pod['spec']>);
  for (const s of spec.imagePullSecrets ?? []) if (s?.name) secrets.add(s.name);
  const containers = [...(spec.containers ?? []), ...(spec.initContainers ?? []), ...(spec.ephemeralContainers ?? [])];
  for (const c of containers) {
    for (const f of c?.envFrom ?? []) {
      if (f?.configMapRef?.name) configmaps.add(f.configMapRef.name);
      if (f?.secretRef?.name) secrets.add(f.secretRef.name);
    }
    for (const e of c?.env ?? []) {
      const from = e?.valueFrom;
      if (from?.configMapKeyRef?.name) configmaps.add(from.configMapKeyRef.name);
      if (from?.secretKeyRef?.name) secrets.add(from.secretKeyRef.name);
    }
  }
  for (const v of spec.volumes ?? []) {
    if (v?.configMap?.name) configmaps.add(v.configMap.name);
    if (v?.secret?.secretName) secrets.add(v.secret.secretName);
    if (v?.persistentVolumeClaim?.claimName) pvcs.add(v.persistentVolumeClaim.claimName);
    for (const s of v?.projected?.sources ?? []) {
      const cm = (s as { configMap?: { name?: string } }).configMap;
      const sec = (s as { secret?: { name?: string } }).secret;
      if (cm?.name) configmaps.add(cm.name);
      if (sec?.name) secrets.add(sec.name);
    }
  }
  const sa = spec.serviceAccountName || spec.serviceAccount;
  return { secrets: [...secrets], configmaps: [...configmaps], persistentvolumeclaims: [...pvcs], serviceaccounts: sa ? [sa] : [] };
}
