/**
 * PodSecurity admission: a new pod is held to the Pod Security Standard its namespace names in its
 * `pod-security.kubernetes.io/enforce` label (refused when it breaks it), warned about under `warn`, and
 * marked for the audit log under `audit`; a tenant's `spec.podSecurity` is the least level of all its
 * namespaces. Workload templates (Deployments, Jobs …) are checked for warnings, as Kubernetes does, so
 * a user hears at `apply` time what the controller's pods would break. Unlabelled namespaces are
 * privileged (Kubernetes' default); a label value Nubis does not know is read as restricted.
 */
import { POD_SECURITY_LABEL, POD_SECURITY_LEVELS, POD_SECURITY_MODES, podSecurityViolations, stricter, type PodSecurityLevel, type PodSecurityMode } from '../../api/core/v1/pod-security.js';
import type { Pod } from '../../api/core/v1/pod-types.js';
import { TENANT_LABEL } from '../../api/nubis/v1/tenancy.js';
import { ApiError } from '../status.js';
import type { ObjectStore } from '../../store/object-store.js';
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

  constructor(
    private readonly index: TenancyIndex,
    private readonly store: ObjectStore,
  ) {}

  /**
   * The level of each mode in `namespace`: its label (a value Nubis does not know counts as
   * restricted), never below its tenant's floor for enforce and warn. A namespace the mirror does not
   * show yet is read from the store.
   */
  async levels(namespace: string): Promise<Record<PodSecurityMode, PodSecurityLevel>> {
    const ns = this.index.namespace(namespace) ?? (await this.store.get({ group: '', resource: 'namespaces' }, { name: namespace }).catch(() => undefined));
    const labels = ns?.metadata.labels ?? {};
    const tenant = labels[TENANT_LABEL] ? this.index.tenant(labels[TENANT_LABEL])?.spec?.podSecurity : undefined;
    const out = {} as Record<PodSecurityMode, PodSecurityLevel>;
    for (const mode of POD_SECURITY_MODES) {
      const label = labels[`${POD_SECURITY_LABEL}${mode}`];
      const own: PodSecurityLevel = label === undefined ? 'privileged' : (POD_SECURITY_LEVELS as readonly string[]).includes(label) ? (label as PodSecurityLevel) : 'restricted';
      out[mode] = tenant && mode !== 'audit' ? stricter(own, tenant) : own;
    }
    return out;
  }

  async validate(r: AdmissionRequest): Promise<void> {
    const t = r.type;
    if (t.group === '' && t.resource === 'namespaces') return this.checkLabels(r);
    if (!r.object || !r.namespace || r.operation !== 'CREATE' || r.subresource) return;
    const levels = await this.levels(r.namespace);
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

  /**
   * The labels name a level and a version Nubis knows (it reads every version as latest): checked when
   * a namespace is made or these labels change, so a namespace stored with a bad one can still be
   * finalized.
   */
  private checkLabels(r: AdmissionRequest): void {
    if (!r.object || r.subresource || (r.operation !== 'CREATE' && r.operation !== 'UPDATE')) return;
    const old = r.oldObject?.metadata.labels ?? {};
    for (const [k, v] of Object.entries(r.object.metadata.labels ?? {})) {
      if (!k.startsWith(POD_SECURITY_LABEL) || (r.operation === 'UPDATE' && old[k] === v)) continue;
      const mode = k.slice(POD_SECURITY_LABEL.length);
      const [base, version] = mode.endsWith('-version') ? [mode.slice(0, -'-version'.length), true] : [mode, false];
      const bad = !(POD_SECURITY_MODES as readonly string[]).includes(base) ? `unknown PodSecurity label ${k}` : version ? (/^(latest|v1\.\d+)$/.test(v) ? '' : `${k} must be "latest" or v1.<minor>, not "${v}"`) : (POD_SECURITY_LEVELS as readonly string[]).includes(v) ? '' : `${k} must be one of privileged, baseline, restricted, not "${v}"`;
      if (bad) throw new ApiError('Invalid', `Namespace "${r.name}" is invalid: metadata.labels: Invalid value: "${v}": ${bad}`, { name: r.name, kind: 'Namespace', causes: [{ reason: 'FieldValueInvalid', message: bad, field: `metadata.labels[${k}]` }] });
    }
  }
}
