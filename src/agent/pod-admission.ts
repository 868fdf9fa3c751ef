/**
 * Pods the agent refuses to run at all, as the kubelet's admission does: the pod fails at once (phase
 * Failed, with reason and message) instead of waiting. Today: sysctls outside Kubernetes' safe set,
 * or namespaced ones the pod shares with the host (reason SysctlForbidden, the kubelet's wording).
 */
import { SAFE_SYSCTLS } from '../api/core/v1/pod-security.js';
import type { Pod } from '../api/core/v1/pod-types.js';

/** Why a pod may not run on this node: the pod's status reason and the message. */
export interface PodRejection {
  reason: string;
  message: string;
}

/** A sysctl name with dots, as Kubernetes normalizes one written with slashes (net/ipv4/... -> net.ipv4...). */
export function normalizeSysctlName(name: string): string {
  const slash = name.indexOf('/');
  const dot = name.indexOf('.');
  if (slash < 0 || (dot >= 0 && dot < slash)) return name;
  return name.replace(/[./]/g, (ch) => (ch === '/' ? '.' : '/'));
}

/** The pod's sysctls by normalized name. */
export function podSysctls(pod: Pod): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of pod.spec.securityContext?.sysctls ?? []) out[normalizeSysctlName(s.name)] = String(s.value ?? '');
  return out;
}

function sysctlRefusal(pod: Pod, name: string): string | undefined {
  const ns = SAFE_SYSCTLS[name];
  if (!ns) return `"${name}" not allowlisted`;
  if ((ns === 'net' && pod.spec.hostNetwork) || (ns === 'ipc' && pod.spec.hostIPC)) return `"${name}" not allowed with host ${ns} enabled`;
  return undefined;
}

/** Why this node refuses the pod, or undefined when it may run. */
export function podRejection(pod: Pod): PodRejection | undefined {
  for (const name of Object.keys(podSysctls(pod))) {
    const refusal = sysctlRefusal(pod, name);
    if (refusal) return { reason: 'SysctlForbidden', message: `forbidden sysctl: ${refusal}` };
  }
  return undefined;
}
