/**
 * The Pod Security Standards (privileged, baseline, restricted), as pure checks of a pod's spec. Each
 * check names what breaks it the way Kubernetes' PodSecurity admission reports it, e.g.
 * `privileged (container "web" must not set securityContext.privileged=true)`.
 */
import type { Container, Pod, PodSecurityContext, SecurityContext } from './pod-types.js';

export const POD_SECURITY_LEVELS = ['privileged', 'baseline', 'restricted'] as const;
export type PodSecurityLevel = (typeof POD_SECURITY_LEVELS)[number];

/** Namespace labels that set the level per mode (and the version, which Nubis reads as latest). */
export const POD_SECURITY_LABEL = 'pod-security.kubernetes.io/';
export const POD_SECURITY_MODES = ['enforce', 'warn', 'audit'] as const;
export type PodSecurityMode = (typeof POD_SECURITY_MODES)[number];

/** The stricter of two levels. */
export function stricter(a: PodSecurityLevel, b: PodSecurityLevel): PodSecurityLevel {
  return POD_SECURITY_LEVELS.indexOf(a) >= POD_SECURITY_LEVELS.indexOf(b) ? a : b;
}

/** The sysctls safe for any pod (Kubernetes' safe set, allowed without --allowed-unsafe-sysctls) and the namespace each lives in. */
export const SAFE_SYSCTLS: Readonly<Record<string, 'ipc' | 'net'>> = {
  'kernel.shm_rmid_forced': 'ipc',
  'net.ipv4.ip_local_port_range': 'net',
  'net.ipv4.tcp_syncookies': 'net',
  'net.ipv4.ping_group_range': 'net',
  'net.ipv4.ip_unprivileged_port_start': 'net',
  'net.ipv4.ip_local_reserved_ports': 'net',
  'net.ipv4.tcp_keepalive_time': 'net',
  'net.ipv4.tcp_fin_timeout': 'net',
  'net.ipv4.tcp_keepalive_intvl': 'net',
  'net.ipv4.tcp_keepalive_probes': 'net',
};

const BASELINE_CAPABILITIES = new Set(['AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT']);
const RESTRICTED_VOLUMES = new Set(['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret']);
const SELINUX_TYPES = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t']);

interface Named {
  name: string;
  ctx: SecurityContext;
  container: Container;
}

const obj = <T>(v: unknown): T => (v && typeof v === 'object' && !Array.isArray(v) ? (v as T) : ({} as T));
const list = <T>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);
const quote = (s: string) => `"${s}"`;
const containersOf = (spec: Pod['spec']): Named[] =>
  [...list<Container>(spec.initContainers), ...list<Container>(spec.containers), ...list<Container>(spec.ephemeralContainers)].map((c) => ({ name: String(obj<Container>(c).name ?? ''), ctx: obj<SecurityContext>(obj<Container>(c).securityContext), container: obj<Container>(c) }));
const which = (names: string[]) => (names.length === 1 ? `container ${quote(names[0]!)}` : `containers ${names.map(quote).join(', ')}`);

type Check = (spec: Pod['spec'], pod: PodSecurityContext, cs: Named[]) => string | undefined;

const BASELINE: Check[] = [
  (spec) => {
    const on = (['hostNetwork', 'hostPID', 'hostIPC'] as const).filter((f) => spec[f] === true);
    return on.length ? `host namespaces (${on.map((f) => `${f}=true`).join(', ')})` : undefined;
  },
  (_s, pod, cs) => {
    const bad = cs.filter((c) => obj<{ hostProcess?: boolean }>(c.ctx.windowsOptions).hostProcess === true).map((c) => c.name);
    return obj<{ hostProcess?: boolean }>(pod.windowsOptions).hostProcess === true || bad.length ? 'hostProcess (pod or containers must not set securityContext.windowsOptions.hostProcess=true)' : undefined;
  },
  (_s, _p, cs) => {
    const bad = cs.filter((c) => c.ctx.privileged === true).map((c) => c.name);
    return bad.length ? `privileged (${which(bad)} must not set securityContext.privileged=true)` : undefined;
  },
  (_s, _p, cs) => {
    const found = cs.flatMap((c) => list<string>(obj<{ add?: string[] }>(c.ctx.capabilities).add).filter((a) => !BASELINE_CAPABILITIES.has(String(a).replace(/^CAP_/, ''))).map((a) => [c.name, a] as const));
    return found.length ? `non-default capabilities (${found.map(([c, a]) => `container ${quote(c)} must not include ${quote(a)} in securityContext.capabilities.add`).join(', ')})` : undefined;
  },
  (spec) => {
    const bad = list<{ name?: string; hostPath?: unknown }>(spec.volumes).filter((v) => obj<{ hostPath?: unknown }>(v).hostPath !== undefined).map((v) => quote(String(v.name)));
    return bad.length ? `hostPath volumes (${bad.length === 1 ? 'volume' : 'volumes'} ${bad.join(', ')})` : undefined;
  },
  (_s, _p, cs) => {
    const found = cs.flatMap((c) => list<unknown>(c.container.ports).map((p) => obj<{ hostPort?: number }>(p).hostPort).filter((h) => h).map((h) => `${which([c.name])} uses hostPort ${h}`));
    return found.length ? `hostPort (${found.join(', ')})` : undefined;
  },
  (_s, pod, cs) => {
    const unconfined = (p: unknown) => obj<{ type?: string }>(p).type === 'Unconfined';
    const bad = cs.filter((c) => unconfined(c.ctx.appArmorProfile)).map((c) => c.name);
    if (unconfined(pod.appArmorProfile)) return 'appArmorProfile (pod must not set securityContext.appArmorProfile.type to "Unconfined")';
    return bad.length ? `appArmorProfile (${which(bad)} must not set securityContext.appArmorProfile.type to "Unconfined")` : undefined;
  },
  (_s, pod, cs) => {
    const bad = (o: unknown) => {
      const se = obj<{ type?: string; user?: string; role?: string }>(o);
      return !SELINUX_TYPES.has(se.type ?? '') || Boolean(se.user) || Boolean(se.role);
    };
    return bad(pod.seLinuxOptions) || cs.some((c) => bad(c.ctx.seLinuxOptions)) ? 'seLinuxOptions (pod and containers must not set securityContext.seLinuxOptions user or role, or a type outside the container types)' : undefined;
  },
  (_s, _p, cs) => {
    const bad = cs.filter((c) => c.ctx.procMount !== undefined && c.ctx.procMount !== 'Default').map((c) => c.name);
    return bad.length ? `procMount (${which(bad)} must not set securityContext.procMount to "Unmasked")` : undefined;
  },
  (_s, pod, cs) => {
    const unconfined = (p: unknown) => obj<{ type?: string }>(p).type === 'Unconfined';
    if (unconfined(pod.seccompProfile)) return 'seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")';
    const bad = cs.filter((c) => unconfined(c.ctx.seccompProfile)).map((c) => c.name);
    return bad.length ? `seccompProfile (${which(bad)} must not set securityContext.seccompProfile.type to "Unconfined")` : undefined;
  },
  (_s, pod) => {
    const bad = list<{ name?: string }>(pod.sysctls).map((s) => String(obj<{ name?: string }>(s).name)).filter((n) => !SAFE_SYSCTLS[n.replace(/\//g, '.')]);
    return bad.length ? `forbidden sysctls (${bad.join(', ')})` : undefined;
  },
];

const RESTRICTED: Check[] = [
  (spec) => {
    const bad = list<Record<string, unknown>>(spec.volumes).flatMap((v) => {
      const kind = Object.keys(obj(v)).find((k) => k !== 'name' && obj<Record<string, unknown>>(v)[k] != null);
      return kind && !RESTRICTED_VOLUMES.has(kind) ? [`volume ${quote(String(v.name))} uses restricted volume type ${quote(kind)}`] : [];
    });
    return bad.length ? `restricted volume types (${bad.join(', ')})` : undefined;
  },
  (_s, _p, cs) => {
    const bad = cs.filter((c) => c.ctx.allowPrivilegeEscalation !== false).map((c) => c.name);
    return bad.length ? `allowPrivilegeEscalation != false (${which(bad)} must set securityContext.allowPrivilegeEscalation=false)` : undefined;
  },
  (_s, _p, cs) => {
    const bad = cs.filter((c) => !list<string>(obj<{ drop?: string[] }>(c.ctx.capabilities).drop).some((d) => d === 'ALL')).map((c) => c.name);
    const added = cs.flatMap((c) => list<string>(obj<{ add?: string[] }>(c.ctx.capabilities).add).filter((a) => String(a).replace(/^CAP_/, '') !== 'NET_BIND_SERVICE').map((a) => `container ${quote(c.name)} must not include ${quote(a)} in securityContext.capabilities.add`));
    const parts = [...(bad.length ? [`${which(bad)} must set securityContext.capabilities.drop=["ALL"]`] : []), ...added];
    return parts.length ? `unrestricted capabilities (${parts.join('; ')})` : undefined;
  },
  (_s, pod, cs) => {
    const explicitFalse = cs.filter((c) => c.ctx.runAsNonRoot === false).map((c) => c.name);
    if (explicitFalse.length) return `runAsNonRoot != true (${which(explicitFalse)} must not set securityContext.runAsNonRoot=false)`;
    const unset = cs.filter((c) => c.ctx.runAsNonRoot !== true).map((c) => c.name);
    return pod.runAsNonRoot !== true && unset.length ? `runAsNonRoot != true (pod or ${which(unset)} must set securityContext.runAsNonRoot=true)` : undefined;
  },
  (_s, pod, cs) => {
    const bad = cs.filter((c) => c.ctx.runAsUser === 0).map((c) => c.name);
    if (pod.runAsUser === 0) return 'runAsUser=0 (pod must not set runAsUser=0)';
    return bad.length ? `runAsUser=0 (${which(bad)} must not set runAsUser=0)` : undefined;
  },
  (_s, pod, cs) => {
    const confined = (p: unknown) => ['RuntimeDefault', 'Localhost'].includes(String(obj<{ type?: string }>(p).type));
    const unset = cs.filter((c) => c.ctx.seccompProfile === undefined ? !confined(pod.seccompProfile) : !confined(c.ctx.seccompProfile)).map((c) => c.name);
    return unset.length ? `seccompProfile (pod or ${which(unset)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")` : undefined;
  },
];

/** What of `spec` breaks the standard `level` (nothing for privileged). */
export function podSecurityViolations(spec: Pod['spec'] | undefined, level: PodSecurityLevel): string[] {
  if (level === 'privileged' || !spec || typeof spec !== 'object') return [];
  const pod = obj<PodSecurityContext>(spec.securityContext);
  const cs = containersOf(spec);
  const checks = level === 'restricted' ? [...BASELINE, ...RESTRICTED] : BASELINE;
  return checks.map((c) => c(spec, pod, cs)).filter((v): v is string => v !== undefined);
}
