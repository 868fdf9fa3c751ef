import type { FieldError } from '../../resource-type.js';
import { fieldErr } from '../../validation.js';
import type { Container, PodSecurityContext, PodSpec, SecurityContext, SecurityProfile } from './pod-types.js';

/**
 * The pod and container securityContext checks that need neither the node nor the image: Kubernetes'
 * own validation (profiles, sysctl names, id ranges, procMount, allowPrivilegeEscalation, hostUsers)
 * plus what no Nubis node can ever honour (SELinux labels, Windows options, root under runAsNonRoot).
 * The API server runs them at admission and the agent runs them again before each container.
 */

const MAX_ID = 2147483647;
const PROFILE_TYPES = ['Localhost', 'RuntimeDefault', 'Unconfined'];
const SYSCTL_NAME = /^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$/;

function hasValues(v: Record<string, unknown> | undefined): boolean {
  return v !== undefined && v !== null && Object.values(v).some((x) => x !== undefined && x !== null && x !== '' && x !== false);
}

function checkId(value: unknown, field: string, errors: FieldError[]): void {
  if (value !== undefined && (!Number.isInteger(value) || (value as number) < 0 || (value as number) > MAX_ID)) {
    errors.push(fieldErr.invalid(field, value, `must be between 0 and ${MAX_ID}, inclusive`));
  }
}

function checkProfile(p: SecurityProfile | undefined, field: string, errors: FieldError[], pathLike: boolean): void {
  if (!p) return;
  if (!p.type) errors.push(fieldErr.required(`${field}.type`));
  else if (!PROFILE_TYPES.includes(p.type)) errors.push(fieldErr.notSupported(`${field}.type`, p.type, PROFILE_TYPES));
  const local = p.localhostProfile;
  if (p.type === 'Localhost' && !local) errors.push(fieldErr.required(`${field}.localhostProfile`, 'must be set when seccomp type is Localhost'));
  if (p.type !== 'Localhost' && local) errors.push(fieldErr.invalid(`${field}.localhostProfile`, local, 'can only be set when seccomp type is Localhost'));
  if (pathLike && local && local.startsWith('/')) errors.push(fieldErr.invalid(`${field}.localhostProfile`, local, 'must be a relative path'));
  if (pathLike && local && local.split('/').includes('..')) errors.push(fieldErr.invalid(`${field}.localhostProfile`, local, "must not contain '..'"));
}

/** What either level of securityContext may carry: profiles, ids, SELinux and Windows options. */
function checkCommon(sc: SecurityContext | PodSecurityContext, field: string, errors: FieldError[]): void {
  checkId(sc.runAsUser, `${field}.runAsUser`, errors);
  checkId(sc.runAsGroup, `${field}.runAsGroup`, errors);
  checkProfile(sc.seccompProfile, `${field}.seccompProfile`, errors, true);
  checkProfile(sc.appArmorProfile, `${field}.appArmorProfile`, errors, false);
  if (hasValues(sc.seLinuxOptions)) errors.push(fieldErr.forbidden(`${field}.seLinuxOptions`, 'Nubis nodes do not label with SELinux'));
  if (hasValues(sc.windowsOptions)) errors.push(fieldErr.forbidden(`${field}.windowsOptions`, 'Nubis nodes run Linux containers only'));
}

function checkSysctls(sysctls: PodSecurityContext['sysctls'], field: string, errors: FieldError[]): void {
  const seen = new Set<string>();
  for (const [i, s] of (sysctls ?? []).entries()) {
    const name = s?.name ?? '';
    if (!name) errors.push(fieldErr.required(`${field}[${i}].name`));
    else if (name.length > 253 || !SYSCTL_NAME.test(name)) {
      errors.push(fieldErr.invalid(`${field}[${i}].name`, name, `must have at most 253 characters and match regex ${SYSCTL_NAME.source}`));
    }
    const key = name.replace(/\//g, '.');
    if (seen.has(key)) errors.push(fieldErr.duplicate(`${field}[${i}].name`, name));
    seen.add(key);
  }
}

/** Errors of the pod-level securityContext and of hostUsers, at `path` (the PodSpec's path). */
export function validatePodSecurityContext(spec: PodSpec, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const sc = spec.securityContext ?? {};
  const field = `${path}.securityContext`;
  checkCommon(sc, field, errors);
  checkId(sc.fsGroup, `${field}.fsGroup`, errors);
  for (const [i, g] of (sc.supplementalGroups ?? []).entries()) checkId(g, `${field}.supplementalGroups[${i}]`, errors);
  if (sc.supplementalGroupsPolicy !== undefined && !['Merge', 'Strict'].includes(sc.supplementalGroupsPolicy)) {
    errors.push(fieldErr.notSupported(`${field}.supplementalGroupsPolicy`, sc.supplementalGroupsPolicy, ['Merge', 'Strict']));
  }
  if (sc.fsGroupChangePolicy !== undefined && !['OnRootMismatch', 'Always'].includes(sc.fsGroupChangePolicy)) {
    errors.push(fieldErr.notSupported(`${field}.fsGroupChangePolicy`, sc.fsGroupChangePolicy, ['OnRootMismatch', 'Always']));
  }
  checkSysctls(sc.sysctls, `${field}.sysctls`, errors);
  if (spec.hostUsers === false) {
    for (const host of ['hostNetwork', 'hostPID', 'hostIPC'] as const) {
      if (spec[host]) errors.push(fieldErr.forbidden(`${path}.${host}`, 'when `pod.Spec.HostUsers` is false'));
    }
  }
  return errors;
}

function addsSysAdmin(sc: SecurityContext): boolean {
  return (sc.capabilities?.add ?? []).some((c) => ['SYS_ADMIN', 'CAP_SYS_ADMIN'].includes(String(c).toUpperCase()));
}

/** Errors of one container's securityContext, seen together with the pod's (runAsNonRoot, hostUsers). */
export function validateContainerSecurityContext(spec: PodSpec, c: Container, path: string): FieldError[] {
  const errors: FieldError[] = [];
  const sc = c.securityContext ?? {};
  const field = `${path}.securityContext`;
  checkCommon(sc, field, errors);
  if (sc.procMount !== undefined && !['Default', 'Unmasked'].includes(sc.procMount)) errors.push(fieldErr.notSupported(`${field}.procMount`, sc.procMount, ['Default', 'Unmasked']));
  if (sc.procMount === 'Unmasked' && spec.hostUsers !== false) errors.push(fieldErr.forbidden(`${field}.procMount`, '`hostUsers` must be false to use `Unmasked`'));
  if (sc.allowPrivilegeEscalation === false && sc.privileged) errors.push(fieldErr.invalid(field, { allowPrivilegeEscalation: false, privileged: true }, 'cannot set `allowPrivilegeEscalation` to false and `privileged` to true'));
  if (sc.allowPrivilegeEscalation === false && addsSysAdmin(sc)) errors.push(fieldErr.invalid(field, { allowPrivilegeEscalation: false }, 'cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN'));
  const pod = spec.securityContext ?? {};
  if ((sc.runAsNonRoot ?? pod.runAsNonRoot) && (sc.runAsUser ?? pod.runAsUser) === 0) {
    errors.push(fieldErr.forbidden(`${field}.runAsUser`, "runAsUser 0 (root) breaks the container's runAsNonRoot policy"));
  }
  return errors;
}

/** Every securityContext error of a PodSpec at `path`. */
export function validatePodSecurity(spec: PodSpec, path: string): FieldError[] {
  const errors = validatePodSecurityContext(spec, path);
  const lists = [['initContainers', spec.initContainers], ['containers', spec.containers], ['ephemeralContainers', spec.ephemeralContainers]] as const;
  for (const [name, list] of lists) {
    for (const [i, c] of (Array.isArray(list) ? list : []).entries()) errors.push(...validateContainerSecurityContext(spec, c, `${path}.${name}[${i}]`));
  }
  return errors;
}
