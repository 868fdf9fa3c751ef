/**
 * PodSecurity admission: a new pod is held to the Pod Security Standard its namespace names in its
 * `pod-security.kubernetes.io/enforce` label (refused when it breaks it), warned about under `warn`, and
 * marked for the audit log under `audit`; a tenant's `spec.podSecurity` is the least level of all its
 * namespaces. Workload templates (Deployments, Jobs …) are checked for warnings, as Kubernetes does, so
 * a user hears at `apply` time what the controller's pods would break. Unlabelled namespaces are
 * privileged (Kubernetes' default).
 */
import { POD_SECURITY_LABEL, POD_SECURITY_LEVELS, POD_SECURITY_MODES, podSecurityViolations, stricter, type PodSecurityLevel, type PodSecurityMode } from '../../api/core/v1/pod-security.js';
import type { Pod } from '../../api/core/v1/pod-types.js';
import { TENANT_LABEL } from '../../api/nubis/v1/tenancy.js';
import { ApiError } from '../status.js';
import type { TenancyIndex } from '../tenancy/tenancy-index.js';
import { forbiddenBy, type AdmissionPlugin, type AdmissionRequest } from './admission.js';

/** Kinds whose pod template is checked (warnings only), and where the template is. */
const TEMPLATES: Record<string, (o: Record<string, any>) => Pod['spec'] | undefined> = {
  'apps/deployments': (o) => o.spec?.template?.spec,
  'apps/replicasets': (o) => o.spec?.template?.spec,
  'apps/daemonsets': (o) => o.spec?.template?.spec,
  'apps/statefulsets': (o) => o.spec?.template?.spec,
  '/replicationcontrollers': (o) => o.spec?.template?.spec,
  'batch/jobs': (o) => o.spec?.template?.spec,
  'batch/cronjobs': (o) => o.spec?.jobTemplate?.spec?.template?.spec,
};

export class PodSecurityAdmission implements AdmissionPlugin {
  readonly name = 'PodSecurity';

  constructor(private readonly index: TenancyIndex) {}

  /** The level of each mode in `namespace`: its label, never below its tenant's floor for enforce and warn. */
  levels(namespace: string): Record<PodSecurityMode, PodSecurityLevel> {
    const labels = this.index.namespace(namespace)?.metadata.labels ?? {};
    const tenant = labels[TENANT_LABEL] ? this.index.tenant(labels[TENANT_LABEL])?.spec?.podSecurity : undefined;
    const out = {} as Record<PodSecurityMode, PodSecurityLevel>;
    for (const mode of POD_SECURITY_MODES) {
      const label = labels[`${POD_SECURITY_LABEL}${mode}`] as PodSecurityLevel | undefined;
      const own = label && POD_SECURITY_LEVELS.includes(label) ? label : 'privileged';
      out[mode] = tenant && mode !== 'audit' ? stricter(own, tenant) : own;
    }
    return out;
  }

  validate(r: AdmissionRequest): void {
    const t = r.type;
    if (t.group === '' && t.resource === 'namespaces' && r.object) return this.checkLabels(r);
    if (!r.object || !r.namespace || r.operation !== 'CREATE' || r.subresource) return;
    const levels = this.levels(r.namespace);
    if (t.group === '' && t.resource === 'pods') {
      const spec = (r.object as Pod).spec;
      const broken = podSecurityViolations(spec, levels.enforce);
      if (broken.length) throw new ApiError('Forbidden', forbiddenBy(r, `violates PodSecurity "${levels.enforce}:latest": ${broken.join(', ')}`), { name: r.name, kind: 'pods' });
      this.warn(r, spec, levels.warn);
      return;
    }
    const template = TEMPLATES[`${t.group}/${t.resource}`]?.(r.object as Record<string, any>);
    if (template) this.warn(r, template, stricter(levels.warn, levels.enforce));
  }

  private warn(r: AdmissionRequest, spec: Pod['spec'] | undefined, level: PodSecurityLevel): void {
    const broken = podSecurityViolations(spec, level);
    if (broken.length) r.warnings?.push(`would violate PodSecurity "${level}:latest": ${broken.join(', ')}`);
  }

  /** The labels name a level and a version Nubis knows (it reads every version as latest). */
  private checkLabels(r: AdmissionRequest): void {
    for (const [k, v] of Object.entries(r.object!.metadata.labels ?? {})) {
      if (!k.startsWith(POD_SECURITY_LABEL)) continue;
      const mode = k.slice(POD_SECURITY_LABEL.length);
      const [base, version] = mode.endsWith('-version') ? [mode.slice(0, -'-version'.length), true] : [mode, false];
      const bad = !(POD_SECURITY_MODES as readonly string[]).includes(base) ? `unknown PodSecurity label ${k}` : version ? (/^(latest|v1\.\d+)$/.test(v) ? '' : `${k} must be "latest" or v1.<minor>, not "${v}"`) : (POD_SECURITY_LEVELS as readonly string[]).includes(v) ? '' : `${k} must be one of privileged, baseline, restricted, not "${v}"`;
      if (bad) throw new ApiError('Invalid', `Namespace "${r.name}" is invalid: metadata.labels: Invalid value: "${v}": ${bad}`, { name: r.name, kind: 'Namespace', causes: [{ reason: 'FieldValueInvalid', message: bad, field: `metadata.labels[${k}]` }] });
    }
  }
}
