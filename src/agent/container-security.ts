/**
 * A container's securityContext over its pod's, as the kubelet merges them, turned into the runtime's
 * user, primary group and WorkloadSecurity. Anything this node cannot honour is refused with Invalid (the
 * container then waits with CreateContainerConfigError) rather than ignored: the admission checks again
 * (api/core/v1/pod-security-validation.ts), then what depends on the node (AppArmor profiles, the pod's
 * user namespace range, Localhost seccomp profiles on disk).
 *
 * Mappings worth knowing:
 *  - allowPrivilegeEscalation: no_new_privs only when it is false, as in Kubernetes (unset allows setuid
 *    programs such as su or ping to work as they do on any Kubernetes node).
 *  - seccompProfile (container over pod): RuntimeDefault is Nubis's default allowlist, Unconfined none,
 *    Localhost a JSON profile under the agent's seccomp dir. Unset means RuntimeDefault (the kubelet's
 *    --seccomp-default), never unconfined. A privileged container has no filter.
 *  - runAsNonRoot: runAsUser 0 is refused here; without runAsUser the runtime resolves the image's user
 *    and refuses uid 0 or a name the image cannot resolve (RUN_AS_NON_ROOT_REFUSAL).
 *  - fsGroup joins supplementalGroups as a further group of the process (emptyDir ownership: fs-group.ts).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describeFieldErrors } from '../api/validation.js';
import { validateContainerSecurityContext, validatePodSecurityContext } from '../api/core/v1/pod-security-validation.js';
import type { Container, Pod, SecurityProfile } from '../api/core/v1/pod-types.js';
import { errno, invalid, messageOf } from '../lib/errors.js';
import { RUN_AS_NON_ROOT_REFUSAL, type IdMapping, type SyscallFilter, type WorkloadSecurity } from '../runtime/driver.js';

export interface SecurityInput {
  pod: Pod;
  container: Container;
  /** The id mapping of the pod's own user namespace (hostUsers: false). */
  idMapping?: IdMapping;
  /** Where Localhost seccomp profiles live (as the kubelet's /var/lib/kubelet/seccomp). */
  seccompDir: string;
}

/** Who a container runs as and how it is confined. */
export interface ContainerIdentity {
  /** The uid (runAsUser); the image's user when unset. */
  user?: string;
  /** The primary gid (runAsGroup); the user's own when unset. */
  group?: number;
  security: WorkloadSecurity;
}

const MAX_PROFILE_BYTES = 1024 * 1024;

/** How the kubelet names a container in its errors: (pod: "name_namespace(uid)", container: name). */
export function kubeletContainerRef(pod: Pod, c: Container): string {
  return `(pod: "${pod.metadata.name}_${pod.metadata.namespace ?? 'default'}(${pod.metadata.uid ?? ''})", container: ${c.name})`;
}

/** The message of a failed create as the container's waiting message: runAsNonRoot refusals name the container. */
export function createFailure(err: unknown, pod: Pod, c: Container): string {
  const message = messageOf(err);
  return message.startsWith(RUN_AS_NON_ROOT_REFUSAL) ? `${message} ${kubeletContainerRef(pod, c)}` : message;
}

function refuseStatically(pod: Pod, c: Container): void {
  const podSc = pod.spec.securityContext ?? {};
  const sc = c.securityContext ?? {};
  if ((sc.runAsNonRoot ?? podSc.runAsNonRoot) && (sc.runAsUser ?? podSc.runAsUser) === 0) {
    throw invalid(`container's runAsUser breaks non-root policy ${kubeletContainerRef(pod, c)}`);
  }
  const init = pod.spec.initContainers?.indexOf(c) ?? -1;
  const at = init >= 0 ? `spec.initContainers[${init}]` : `spec.containers[${pod.spec.containers.indexOf(c)}]`;
  const errors = [...validatePodSecurityContext(pod.spec, 'spec'), ...validateContainerSecurityContext(pod.spec, c, at)];
  if (errors.length > 0) throw invalid(describeFieldErrors(errors));
}

function refuseAppArmor(pod: Pod, c: Container): void {
  const annotation = pod.metadata.annotations?.[`container.apparmor.security.beta.kubernetes.io/${c.name}`];
  const profile = c.securityContext?.appArmorProfile ?? pod.spec.securityContext?.appArmorProfile;
  const local = profile?.type === 'Localhost' ? profile.localhostProfile : annotation?.startsWith('localhost/') ? annotation.slice('localhost/'.length) : undefined;
  if (local !== undefined) throw invalid(`cannot enforce AppArmor profile "${local}": Nubis nodes do not load AppArmor profiles (use RuntimeDefault or Unconfined)`);
  if (annotation !== undefined && !['runtime/default', 'unconfined'].includes(annotation)) throw invalid(`unsupported AppArmor annotation value "${annotation}"`);
}

/** Every id the container's process holds must lie inside the pod's user namespace. */
function refuseUnmappedIds(pod: Pod, c: Container, m: IdMapping | undefined): void {
  if (pod.spec.hostUsers !== false) return;
  if (!m) throw invalid("the pod's sandbox has no user namespace although hostUsers is false");
  const podSc = pod.spec.securityContext ?? {};
  const ids = [c.securityContext?.runAsUser ?? podSc.runAsUser, c.securityContext?.runAsGroup ?? podSc.runAsGroup, podSc.fsGroup, ...(podSc.supplementalGroups ?? [])];
  const outside = ids.find((id) => id !== undefined && id >= m.size);
  if (outside !== undefined) throw invalid(`id ${outside} is outside the pod's user namespace (0-${m.size - 1}) while hostUsers is false`);
}

/** The file of a Localhost profile, which must stay inside `dir` (symlinks included). */
async function localhostProfile(dir: string, rel: string): Promise<unknown> {
  const root = path.resolve(dir);
  const file = path.resolve(root, rel);
  const inside = (p: string, r: string) => p.startsWith(r + path.sep);
  if (!inside(file, root)) throw invalid(`seccomp profile "${rel}" is outside the seccomp profile directory ${root}`);
  let real: string;
  try {
    real = await fs.realpath(file);
    if (!inside(real, await fs.realpath(root))) throw invalid(`seccomp profile "${rel}" leads outside the seccomp profile directory ${root}`);
    if ((await fs.stat(real)).size > MAX_PROFILE_BYTES) throw invalid(`seccomp profile "${file}" is larger than 1 MiB`);
  } catch (err) {
    if (errno(err) === 'ENOENT') throw invalid(`cannot load seccomp profile "${file}": no such file`, err);
    throw err;
  }
  try {
    return JSON.parse(await fs.readFile(real, 'utf8')) as unknown;
  } catch (err) {
    throw invalid(`cannot load seccomp profile "${file}": ${messageOf(err)}`, err);
  }
}

async function syscallFilter(profile: SecurityProfile | undefined, seccompDir: string): Promise<SyscallFilter> {
  if (profile?.type === 'Unconfined') return { type: 'unconfined' };
  if (profile?.type === 'Localhost') return { type: 'custom', profile: await localhostProfile(seccompDir, profile.localhostProfile ?? '') };
  return { type: 'default' };
}

/** The container's user, group and confinement; Invalid for anything this node cannot honour. */
export async function containerSecurity(input: SecurityInput): Promise<ContainerIdentity> {
  const { pod, container: c } = input;
  refuseStatically(pod, c);
  refuseAppArmor(pod, c);
  refuseUnmappedIds(pod, c, input.idMapping);
  const podSc = pod.spec.securityContext ?? {};
  const sc = c.securityContext ?? {};
  const uid = sc.runAsUser ?? podSc.runAsUser;
  const groups = [...(podSc.supplementalGroups ?? []), ...(podSc.fsGroup !== undefined ? [podSc.fsGroup] : [])];
  const security: WorkloadSecurity = {
    privileged: Boolean(sc.privileged),
    noNewPrivileges: sc.allowPrivilegeEscalation === false,
    syscallFilter: await syscallFilter(sc.seccompProfile ?? podSc.seccompProfile, input.seccompDir),
    imageGroups: podSc.supplementalGroupsPolicy !== 'Strict',
  };
  if (sc.capabilities?.add?.length || sc.capabilities?.drop?.length) security.capabilities = { add: sc.capabilities.add ?? [], drop: sc.capabilities.drop ?? [] };
  if (groups.length > 0) security.supplementalGroups = groups;
  if ((sc.runAsNonRoot ?? podSc.runAsNonRoot) && uid === undefined) security.runAsNonRoot = true;
  if (pod.spec.hostUsers === false && input.idMapping) security.userNamespace = input.idMapping;
  if (sc.procMount === 'Unmasked') security.unmaskedProc = true;
  const group = sc.runAsGroup ?? podSc.runAsGroup;
  return { ...(uid !== undefined ? { user: String(uid) } : {}), ...(group !== undefined ? { group } : {}), security };
}
