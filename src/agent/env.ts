/**
 * A container's environment as the kubelet builds it: envFrom (ConfigMaps and Secrets, later sources
 * winning), then env entries (literal values with $(VAR) expansion, configMapKeyRef, secretKeyRef, the
 * downward API's fieldRef and resourceFieldRef). A missing ConfigMap, Secret or key that is not optional
 * fails with Invalid: the container then waits with CreateContainerConfigError.
 */
import type { ConfigMap } from '../api/core/v1/config-map.js';
import type { Container, Pod } from '../api/core/v1/pod-types.js';
import type { Secret } from '../api/core/v1/secret.js';
import type { Service } from '../api/core/v1/service.js';
import { parseQuantity } from '../api/quantity.js';
import { invalid } from '../lib/errors.js';
import { linkedServices, serviceLinkEnv } from './service-links.js';

/** Where referenced objects come from; undefined means "not found". */
export interface ObjectSource {
  configMap(namespace: string, name: string): Promise<ConfigMap | undefined>;
  secret(namespace: string, name: string): Promise<Secret | undefined>;
  /** The Services of a namespace (for service-link variables). */
  services(namespace: string): Promise<Service[]>;
  /** A token of the pod's ServiceAccount bound to the pod (a TokenRequest). */
  serviceAccountToken(pod: Pod, request: { audience?: string; expirationSeconds: number }): Promise<{ token: string; expirationTimestamp: string }>;
}

/** What the downward API needs beyond the pod object. */
export interface DownwardContext {
  hostIP: string;
  podIP?: string;
  /** Node allocatable, the default of an unset limit: cpu in cores, memory and ephemeral-storage in bytes. */
  allocatable: { cpu: number; memory: number; 'ephemeral-storage'?: number };
}

const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/** Kubernetes' $(VAR) expansion: defined names are replaced, unknown ones kept, $$ is a literal $. */
export function expandVars(text: string, vars: Map<string, string>): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch !== '$' || i + 1 >= text.length) {
      out += ch;
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      out += '$';
      i++;
    } else if (next === '(') {
      const end = text.indexOf(')', i + 2);
      if (end < 0) {
        out += text.slice(i);
        break;
      }
      const name = text.slice(i + 2, end);
      out += vars.has(name) ? vars.get(name)! : text.slice(i, end + 1);
      i = end;
    } else out += ch;
  }
  return out;
}

/** The text of a ConfigMap key (data or binaryData), or undefined. */
export function configMapValue(cm: ConfigMap, key: string): string | undefined {
  if (cm.data && key in cm.data) return cm.data[key];
  if (cm.binaryData && key in cm.binaryData) return Buffer.from(cm.binaryData[key]!, 'base64').toString('utf8');
  return undefined;
}

/** The decoded value of a Secret key, or undefined. */
export function secretValue(s: Secret, key: string): string | undefined {
  if (s.data && key in s.data) return Buffer.from(s.data[key]!, 'base64').toString('utf8');
  if (s.stringData && key in s.stringData) return s.stringData[key];
  return undefined;
}

/** The value of a downward API field path, e.g. metadata.labels['app'] or status.podIP. */
export function fieldPathValue(pod: Pod, fieldPath: string, ctx: Pick<DownwardContext, 'hostIP' | 'podIP'>): string {
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (m) return (m[1] === 'labels' ? pod.metadata.labels : pod.metadata.annotations)?.[m[2]!] ?? '';
  switch (fieldPath) {
    case 'metadata.name':
      return pod.metadata.name;
    case 'metadata.namespace':
      return pod.metadata.namespace ?? 'default';
    case 'metadata.uid':
      return pod.metadata.uid ?? '';
    case 'metadata.labels':
    case 'metadata.annotations': {
      const map = (fieldPath === 'metadata.labels' ? pod.metadata.labels : pod.metadata.annotations) ?? {};
      return Object.keys(map)
        .sort()
        .map((k) => `${k}=${JSON.stringify(map[k])}`)
        .join('\n');
    }
    case 'spec.nodeName':
      return pod.spec.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec.serviceAccountName ?? '';
    case 'status.hostIP':
    case 'status.hostIPs':
      return ctx.hostIP;
    case 'status.podIP':
    case 'status.podIPs':
      return ctx.podIP ?? '';
    default:
      throw invalid(`unsupported fieldPath "${fieldPath}"`);
  }
}

/** A resourceFieldRef value: the container's limit (node allocatable when unset) or request, over the divisor, rounded up. */
export function resourceFieldValue(pod: Pod, container: Container, ref: { containerName?: string; resource: string; divisor?: string | number }, ctx: Pick<DownwardContext, 'allocatable'>): string {
  const target = ref.containerName ? [...pod.spec.containers, ...(pod.spec.initContainers ?? [])].find((c) => c.name === ref.containerName) : container;
  if (!target) throw invalid(`resourceFieldRef names container "${ref.containerName}", which the pod does not have`);
  const [kind, res] = ref.resource.split('.', 2) as [string, string];
  if ((kind !== 'limits' && kind !== 'requests') || !['cpu', 'memory', 'ephemeral-storage'].includes(res)) {
    throw invalid(`unsupported resource "${ref.resource}" in resourceFieldRef`);
  }
  let value = parseQuantity(target.resources?.[kind]?.[res]);
  if (value === undefined && kind === 'limits') value = ctx.allocatable[res as 'cpu' | 'memory'] ?? 0;
  if (value === undefined) value = 0;
  const divisor = parseQuantity(ref.divisor ?? 1) || 1;
  return String(Math.ceil(value / divisor - 1e-9));
}

/**
 * The environment of `container` as KEY=VALUE entries: service links first, then envFrom and env in
 * definition order (which may override and refer to the links).
 */
export async function resolveEnv(pod: Pod, container: Container, source: ObjectSource, ctx: DownwardContext): Promise<string[]> {
  const ns = pod.metadata.namespace ?? 'default';
  const linked = pod.spec.enableServiceLinks !== false;
  const [own, defaults] = await Promise.all([linked ? source.services(ns) : [], ns === 'default' && linked ? [] : source.services('default')]);
  const env = new Map<string, string>(serviceLinkEnv(linkedServices(ns, linked, own, ns === 'default' && linked ? own : defaults)));
  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    if (from.configMapRef) {
      const name = from.configMapRef.name ?? '';
      const cm = await source.configMap(ns, name);
      if (!cm) {
        if (from.configMapRef.optional) continue;
        throw invalid(`configmap "${name}" not found`);
      }
      const keys = [...Object.keys(cm.data ?? {}), ...Object.keys(cm.binaryData ?? {})];
      for (const k of keys) if (ENV_NAME.test(prefix + k)) env.set(prefix + k, configMapValue(cm, k)!);
    } else if (from.secretRef) {
      const name = from.secretRef.name ?? '';
      const s = await source.secret(ns, name);
      if (!s) {
        if (from.secretRef.optional) continue;
        throw invalid(`secret "${name}" not found`);
      }
      for (const k of Object.keys(s.data ?? {})) if (ENV_NAME.test(prefix + k)) env.set(prefix + k, secretValue(s, k)!);
    }
  }
  for (const e of container.env ?? []) {
    const vf = e.valueFrom;
    if (!vf) {
      env.set(e.name, expandVars(e.value ?? '', env));
      continue;
    }
    if (vf.fieldRef) env.set(e.name, fieldPathValue(pod, vf.fieldRef.fieldPath, ctx));
    else if (vf.resourceFieldRef) env.set(e.name, resourceFieldValue(pod, container, vf.resourceFieldRef, ctx));
    else if (vf.configMapKeyRef) {
      const { name = '', key, optional } = vf.configMapKeyRef;
      const cm = await source.configMap(ns, name);
      const v = cm && configMapValue(cm, key);
      if (v !== undefined) env.set(e.name, v);
      else if (!optional) throw invalid(cm ? `couldn't find key ${key} in ConfigMap ${ns}/${name}` : `configmap "${name}" not found`);
    } else if (vf.secretKeyRef) {
      const { name = '', key, optional } = vf.secretKeyRef;
      const s = await source.secret(ns, name);
      const v = s && secretValue(s, key);
      if (v !== undefined) env.set(e.name, v);
      else if (!optional) throw invalid(s ? `couldn't find key ${key} in Secret ${ns}/${name}` : `secret "${name}" not found`);
    }
  }
  return [...env].map(([k, v]) => `${k}=${v}`);
}

/** The map form of KEY=VALUE entries (for $(VAR) expansion of command and args). */
export function envMap(entries: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of entries) {
    const eq = e.indexOf('=');
    if (eq > 0) m.set(e.slice(0, eq), e.slice(eq + 1));
  }
  return m;
}
