/**
 * How a pod's containers become runtime workloads: names, the labels that let a restarted agent find
 * every container of every pod again, and the WorkloadSpec of each container (command and args with
 * $(VAR) expansion, env, volume mounts, user and confinement from the securityContext (see
 * container-security.ts), the pod's sysctls, cgroup limits from requests and limits, and the pod's
 * sandbox it runs in (pod-sandbox.ts).
 */
import { podResources } from '../api/core/v1/pod-resources.js';
import type { Container, Pod } from '../api/core/v1/pod-types.js';
import { parseQuantity } from '../api/quantity.js';
import { invalid } from '../lib/errors.js';
import type { Resources, WorkloadMount, WorkloadSpec } from '../runtime/driver.js';
import type { ContainerIdentity } from './container-security.js';
import { envMap, expandVars } from './env.js';
import { podSysctls } from './pod-admission.js';
import type { PreparedVolume } from './volumes.js';

/** Labels on every workload the agent makes. */
export const LABELS = {
  podUid: 'io.kubernetes.pod.uid',
  podName: 'io.kubernetes.pod.name',
  podNamespace: 'io.kubernetes.pod.namespace',
  container: 'io.kubernetes.container.name',
  restartCount: 'io.kubernetes.container.restartCount',
  /** init | app (sandbox: the infra container agents made before namespaces were pinned) */
  role: 'nubis.dev/pod-role',
} as const;

export type ContainerRole = 'init' | 'app';

/** The cgroup all containers of a pod live under. */
export function podCgroupParent(uid: string): string {
  return `/nubis/pod-${uid}`;
}

/** A readable unique workload name: k8s_<container>_<pod>_<namespace>_<uid prefix>_<restart count>. */
export function workloadName(pod: Pod, container: string, restartCount: number): string {
  const tail = `_${pod.metadata.namespace ?? 'default'}_${(pod.metadata.uid ?? '').slice(0, 8)}_${restartCount}`;
  const head = `k8s_${container}_`;
  const room = 128 - head.length - tail.length;
  return `${head}${pod.metadata.name.slice(0, Math.max(1, room))}${tail}`.replace(/[^a-zA-Z0-9_.-]/g, '-');
}

export function workloadLabels(pod: Pod, container: string, role: ContainerRole, restartCount: number): Record<string, string> {
  return {
    [LABELS.podUid]: pod.metadata.uid ?? '',
    [LABELS.podName]: pod.metadata.name,
    [LABELS.podNamespace]: pod.metadata.namespace ?? 'default',
    [LABELS.container]: container,
    [LABELS.restartCount]: String(restartCount),
    [LABELS.role]: role,
  };
}

/** The pod's hostname: spec.hostname or the pod name, at most 63 characters (as the kubelet cuts it). */
export function podHostname(pod: Pod): string {
  return (pod.spec.hostname || pod.metadata.name).slice(0, 63).replace(/[-.]+$/, '');
}

/** CPU and memory from requests and limits: requests.cpu -> shares, limits.cpu -> quota, limits.memory -> limit. */
export function containerResources(c: Container): NonNullable<WorkloadSpec['resources']> {
  const out: NonNullable<WorkloadSpec['resources']> = {};
  const reqCpu = parseQuantity(c.resources?.requests?.cpu ?? c.resources?.limits?.cpu);
  out.cpuShares = reqCpu === undefined ? 2 : Math.min(262144, Math.max(2, Math.round(reqCpu * 1024)));
  const limCpu = parseQuantity(c.resources?.limits?.cpu);
  if (limCpu !== undefined) out.cpus = Math.max(0.01, limCpu);
  const limMem = parseQuantity(c.resources?.limits?.memory);
  if (limMem !== undefined) out.memoryBytes = Math.floor(limMem);
  return out;
}

/**
 * What the pod's containers may use together: the sum of their limits, for each resource every container
 * limits (one without a limit leaves the pod unbounded there). A micro-VM is sized from it; the pod's
 * overhead (RuntimeClass) stands for the VM's own cost on the host and is not given to the guest. With
 * `overhead`, the overhead is added: what the sandbox's own host processes (QEMU) are held to.
 */
export function sandboxResources(pod: Pod, opts: { overhead?: boolean } = {}): Resources {
  const limits = podResources(pod.spec, 'limits', { overhead: opts.overhead ?? false });
  const all = [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
  const limited = (r: 'cpu' | 'memory') => all.every((c) => c.resources?.limits?.[r] !== undefined);
  const out: Resources = {};
  if (limited('memory') && limits.memory) out.memoryBytes = limits.memory.toNumber();
  if (limited('cpu') && limits.cpu) out.cpus = limits.cpu.toNumber();
  return out;
}

/** The mounts of a container from its volumeMounts and the pod's prepared volumes. */
export function containerMounts(c: Container, volumes: Map<string, PreparedVolume>): WorkloadMount[] {
  const out: WorkloadMount[] = [];
  for (const m of c.volumeMounts ?? []) {
    const v = volumes.get(m.name);
    if (!v) throw invalid(`volumeMount "${m.name}" names no volume of the pod`);
    let source = v.hostPath;
    if (m.subPath) {
      const sub = m.subPath.split('/');
      if (m.subPath.startsWith('/') || sub.includes('..')) throw invalid(`subPath "${m.subPath}" must be relative, without ".."`);
      source = `${source}/${m.subPath}`;
    }
    out.push({ source, destination: m.mountPath, readOnly: Boolean(m.readOnly) || v.readOnly });
  }
  return out;
}

export interface ContainerSpecInput {
  pod: Pod;
  container: Container;
  role: 'init' | 'app';
  restartCount: number;
  env: string[];
  volumes: Map<string, PreparedVolume>;
  /** The pod's sandbox (its uid), which the container runs in. */
  sandbox: string;
  /** Who the container runs as and how it is confined (containerSecurity). */
  identity: ContainerIdentity;
}

/** The workload of one container of a pod. */
export function containerSpec(input: ContainerSpecInput): WorkloadSpec {
  const { pod, container: c } = input;
  const vars = envMap(input.env);
  const spec: WorkloadSpec = {
    name: workloadName(pod, c.name, input.restartCount),
    image: c.image ?? '',
    env: input.env,
    labels: workloadLabels(pod, c.name, input.role, input.restartCount),
    hostname: podHostname(pod),
    mounts: containerMounts(c, input.volumes),
    sandbox: input.sandbox,
    cgroupParent: podCgroupParent(pod.metadata.uid ?? ''),
    resources: containerResources(c),
  };
  if (c.command) spec.entrypoint = c.command.map((a) => expandVars(a, vars));
  if (c.args) spec.command = c.args.map((a) => expandVars(a, vars));
  if (c.workingDir) spec.workdir = c.workingDir;
  const { user, group, security } = input.identity;
  if (user !== undefined) spec.user = user;
  if (group !== undefined) spec.group = group;
  spec.security = security;
  const sysctls = podSysctls(pod);
  if (Object.keys(sysctls).length > 0) spec.sysctls = sysctls;
  if (c.tty) spec.tty = true;
  if (c.stdin) spec.stdin = true;
  if (c.stdin && !c.stdinOnce) spec.keepStdinOpen = true;
  if (c.securityContext?.readOnlyRootFilesystem) spec.readOnlyRootfs = true;
  return spec;
}
