import type { FieldError } from '../../resource-type.js';
import { parseQuantity } from '../../quantity.js';
import {
  check, dns1123Label, dns1123Subdomain, fieldErr, isEnvVarName, labelValue, portName, qualifiedName, isPortNumber, validateLabels,
} from '../../validation.js';
import type { Container, PodSpec, Probe, Toleration, Volume } from './pod-types.js';
import { volumeSources } from './pod-schema.js';
import { validateResourceQuantity } from './resource-names.js';
import { validatePodSecurity } from './pod-security-validation.js';

/** Kubernetes' validation of core/v1 PodSpec (ValidatePodSpec), with its field paths and messages. */

const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'];
const DNS_POLICIES = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'];
const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'];
const PROTOCOLS = ['TCP', 'UDP', 'SCTP'];

function validateResources(c: Container, p: string, errors: FieldError[]): void {
  const limits = c.resources?.limits ?? {};
  const requests = c.resources?.requests ?? {};
  for (const [kind, list] of [['limits', limits], ['requests', requests]] as const) {
    for (const [name, q] of Object.entries(list)) {
      const rp = `${p}.resources.${kind}[${name}]`;
      check(errors, rp, name, qualifiedName(name));
      validateResourceQuantity(name, q, rp, errors);
    }
  }
  for (const [name, q] of Object.entries(requests)) {
    const lim = limits[name];
    if (lim === undefined) continue;
    const rv = parseQuantity(q);
    const lv = parseQuantity(lim);
    if (rv !== undefined && lv !== undefined && rv > lv) {
      errors.push(fieldErr.invalid(`${p}.resources.requests`, q, `must be less than or equal to ${name} limit of ${lim}`));
    }
  }
}

function validateProbe(probe: Probe | undefined, p: string, errors: FieldError[]): void {
  if (!probe) return;
  const handlers = (['exec', 'httpGet', 'tcpSocket', 'grpc'] as const).filter((h) => probe[h] !== undefined);
  if (handlers.length === 0) errors.push(fieldErr.required(p, 'must specify a handler type'));
  else if (handlers.length > 1) errors.push(fieldErr.forbidden(`${p}.${handlers[1]}`, 'may not specify more than 1 handler type'));
  for (const f of ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold'] as const) {
    const v = probe[f];
    if (v !== undefined && (!Number.isInteger(v) || v < 0)) errors.push(fieldErr.invalid(`${p}.${f}`, v, 'must be greater than or equal to 0'));
  }
  const port = probe.httpGet?.port ?? probe.tcpSocket?.port;
  const portPath = probe.httpGet ? `${p}.httpGet.port` : `${p}.tcpSocket.port`;
  if (port !== undefined) {
    if (typeof port === 'number' && !isPortNumber(port)) errors.push(fieldErr.invalid(portPath, port, 'must be between 1 and 65535, inclusive'));
    if (typeof port === 'string') check(errors, portPath, port, portName(port));
  }
}

function validateContainer(c: Container, p: string, volumes: Set<string>, errors: FieldError[], init: boolean): void {
  if (!c.name) errors.push(fieldErr.required(`${p}.name`));
  else check(errors, `${p}.name`, c.name, dns1123Label(c.name));
  if (!c.image) errors.push(fieldErr.required(`${p}.image`));
  if (c.imagePullPolicy !== undefined && !PULL_POLICIES.includes(c.imagePullPolicy)) errors.push(fieldErr.notSupported(`${p}.imagePullPolicy`, c.imagePullPolicy, PULL_POLICIES));
  if (c.terminationMessagePolicy !== undefined && !['File', 'FallbackToLogsOnError'].includes(c.terminationMessagePolicy)) {
    errors.push(fieldErr.notSupported(`${p}.terminationMessagePolicy`, c.terminationMessagePolicy, ['File', 'FallbackToLogsOnError']));
  }
  if (c.restartPolicy !== undefined) {
    if (!init) errors.push(fieldErr.forbidden(`${p}.restartPolicy`, 'may not be set for non-init containers'));
    else if (c.restartPolicy !== 'Always') errors.push(fieldErr.notSupported(`${p}.restartPolicy`, c.restartPolicy, ['Always']));
  }
  const portNames = new Set<string>();
  const portKeys = new Set<string>();
  for (const [i, port] of (c.ports ?? []).entries()) {
    const pp = `${p}.ports[${i}]`;
    if (port.containerPort === undefined) errors.push(fieldErr.required(`${pp}.containerPort`));
    else if (!isPortNumber(port.containerPort)) errors.push(fieldErr.invalid(`${pp}.containerPort`, port.containerPort, 'must be between 1 and 65535, inclusive'));
    if (port.hostPort !== undefined && port.hostPort !== 0 && !isPortNumber(port.hostPort)) errors.push(fieldErr.invalid(`${pp}.hostPort`, port.hostPort, 'must be between 1 and 65535, inclusive'));
    if (port.protocol !== undefined && !PROTOCOLS.includes(port.protocol)) errors.push(fieldErr.notSupported(`${pp}.protocol`, port.protocol, PROTOCOLS));
    if (port.name) {
      check(errors, `${pp}.name`, port.name, portName(port.name));
      if (portNames.has(port.name)) errors.push(fieldErr.duplicate(`${pp}.name`, port.name));
      portNames.add(port.name);
    }
    const key = `${port.containerPort}/${port.protocol ?? 'TCP'}`;
    if (portKeys.has(key)) errors.push(fieldErr.duplicate(pp, port));
    portKeys.add(key);
  }
  for (const [i, e] of (c.env ?? []).entries()) {
    const ep = `${p}.env[${i}]`;
    if (!e.name) errors.push(fieldErr.required(`${ep}.name`));
    else if (!isEnvVarName(e.name)) {
      errors.push(fieldErr.invalid(`${ep}.name`, e.name, "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')"));
    }
    if (e.valueFrom) {
      const sources = Object.keys(e.valueFrom).filter((k) => (e.valueFrom as Record<string, unknown>)[k] !== undefined);
      if (e.value) errors.push(fieldErr.invalid(`${ep}.valueFrom`, '', 'may not be specified when `value` is not empty'));
      if (sources.length === 0) errors.push(fieldErr.invalid(`${ep}.valueFrom`, '', 'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`'));
      else if (sources.length > 1) errors.push(fieldErr.invalid(`${ep}.valueFrom`, '', 'may not have more than one field specified at a time'));
      if (e.valueFrom.fieldRef && !e.valueFrom.fieldRef.fieldPath) errors.push(fieldErr.required(`${ep}.valueFrom.fieldRef.fieldPath`));
      for (const ref of ['configMapKeyRef', 'secretKeyRef'] as const) {
        if (e.valueFrom[ref] && !e.valueFrom[ref]!.key) errors.push(fieldErr.required(`${ep}.valueFrom.${ref}.key`));
      }
    }
  }
  const mountPaths = new Set<string>();
  for (const [i, m] of (c.volumeMounts ?? []).entries()) {
    const mp = `${p}.volumeMounts[${i}]`;
    if (!m.name) errors.push(fieldErr.required(`${mp}.name`));
    else if (!volumes.has(m.name)) errors.push({ type: 'FieldValueNotFound', field: `${mp}.name`, value: m.name, message: `Not found: ${JSON.stringify(m.name)}` });
    if (!m.mountPath) errors.push(fieldErr.required(`${mp}.mountPath`));
    else if (mountPaths.has(m.mountPath)) errors.push(fieldErr.invalid(`${mp}.mountPath`, m.mountPath, 'must be unique'));
    else mountPaths.add(m.mountPath);
    if (m.subPath && (m.subPath.startsWith('/') || m.subPath.split('/').includes('..'))) {
      errors.push(fieldErr.invalid(`${mp}.subPath`, m.subPath, "must be a relative path without '..'"));
    }
  }
  validateResources(c, p, errors);
  validateProbe(c.livenessProbe, `${p}.livenessProbe`, errors);
  validateProbe(c.readinessProbe, `${p}.readinessProbe`, errors);
  validateProbe(c.startupProbe, `${p}.startupProbe`, errors);
  if (c.livenessProbe?.successThreshold !== undefined && c.livenessProbe.successThreshold !== 1) {
    errors.push(fieldErr.invalid(`${p}.livenessProbe.successThreshold`, c.livenessProbe.successThreshold, 'must be 1'));
  }
}

function validateVolume(v: Volume, p: string, errors: FieldError[]): void {
  if (!v.name) errors.push(fieldErr.required(`${p}.name`));
  else check(errors, `${p}.name`, v.name, dns1123Label(v.name));
  const sources = Object.keys(volumeSources).filter((s) => v[s] !== undefined && v[s] !== null);
  if (sources.length === 0) errors.push(fieldErr.required(p, 'must specify a volume type'));
  else if (sources.length > 1) errors.push(fieldErr.forbidden(`${p}.${sources[1]}`, 'may not specify more than 1 volume type'));
  if (v.hostPath && !v.hostPath.path) errors.push(fieldErr.required(`${p}.hostPath.path`));
  if (v.persistentVolumeClaim && !v.persistentVolumeClaim.claimName) errors.push(fieldErr.required(`${p}.persistentVolumeClaim.claimName`));
  if (v.secret?.secretName !== undefined && v.secret.secretName !== '') check(errors, `${p}.secret.secretName`, v.secret.secretName, dns1123Subdomain(v.secret.secretName));
  for (const [src, mode] of [['secret', v.secret?.defaultMode], ['configMap', v.configMap?.defaultMode]] as const) {
    if (mode !== undefined && (!Number.isInteger(mode) || mode < 0 || mode > 0o777)) {
      errors.push(fieldErr.invalid(`${p}.${src}.defaultMode`, mode, 'must be a number between 0 and 0777 (octal), both inclusive'));
    }
  }
}

/** Errors of a PodSpec at `path` (`spec`, or `spec.template.spec` in workloads). */
export function validatePodSpec(spec: PodSpec | undefined, path: string): FieldError[] {
  const errors: FieldError[] = [];
  if (!spec || typeof spec !== 'object') return [fieldErr.required(path)];
  const volumes = new Set<string>();
  for (const [i, v] of (spec.volumes ?? []).entries()) {
    validateVolume(v, `${path}.volumes[${i}]`, errors);
    if (v.name && volumes.has(v.name)) errors.push(fieldErr.duplicate(`${path}.volumes[${i}].name`, v.name));
    volumes.add(v.name);
  }
  if (!Array.isArray(spec.containers) || spec.containers.length === 0) errors.push(fieldErr.required(`${path}.containers`));
  const names = new Set<string>();
  const each = (list: Container[] | undefined, field: string, init: boolean) => {
    for (const [i, c] of (list ?? []).entries()) {
      validateContainer(c, `${path}.${field}[${i}]`, volumes, errors, init);
      if (c.name && names.has(c.name)) errors.push(fieldErr.duplicate(`${path}.${field}[${i}].name`, c.name));
      names.add(c.name);
    }
  };
  each(spec.initContainers, 'initContainers', true);
  each(Array.isArray(spec.containers) ? spec.containers : [], 'containers', false);
  each(spec.ephemeralContainers, 'ephemeralContainers', false);
  if (spec.restartPolicy !== undefined && !RESTART_POLICIES.includes(spec.restartPolicy)) errors.push(fieldErr.notSupported(`${path}.restartPolicy`, spec.restartPolicy, RESTART_POLICIES));
  if (spec.dnsPolicy !== undefined && !DNS_POLICIES.includes(spec.dnsPolicy)) errors.push(fieldErr.notSupported(`${path}.dnsPolicy`, spec.dnsPolicy, DNS_POLICIES));
  if (spec.dnsPolicy === 'None' && !spec.dnsConfig) errors.push(fieldErr.required(`${path}.dnsConfig`, "must provide `dnsConfig` when `dnsPolicy` is None"));
  const tgp = spec.terminationGracePeriodSeconds;
  if (tgp !== undefined && (!Number.isInteger(tgp) || tgp < 0)) errors.push(fieldErr.invalid(`${path}.terminationGracePeriodSeconds`, tgp, 'must be greater than or equal to 0'));
  const ads = spec.activeDeadlineSeconds;
  if (ads !== undefined && (!Number.isInteger(ads) || ads < 1)) errors.push(fieldErr.invalid(`${path}.activeDeadlineSeconds`, ads, 'must be between 1 and 2147483647, inclusive'));
  errors.push(...validateLabels(spec.nodeSelector, `${path}.nodeSelector`));
  if (spec.serviceAccountName) check(errors, `${path}.serviceAccountName`, spec.serviceAccountName, dns1123Subdomain(spec.serviceAccountName));
  if (spec.nodeName) check(errors, `${path}.nodeName`, spec.nodeName, dns1123Subdomain(spec.nodeName));
  if (spec.hostname) check(errors, `${path}.hostname`, spec.hostname, dns1123Label(spec.hostname));
  if (spec.subdomain) check(errors, `${path}.subdomain`, spec.subdomain, dns1123Label(spec.subdomain));
  errors.push(...validateTolerations(spec.tolerations, `${path}.tolerations`));
  errors.push(...validatePodSecurity(spec, path));
  return errors;
}

/** Kubernetes' ValidateTolerations: keys, operators, values and effects of a toleration list at `path`. */
export function validateTolerations(tolerations: Toleration[] | undefined, path: string): FieldError[] {
  const errors: FieldError[] = [];
  for (const [i, t] of (tolerations ?? []).entries()) {
    const tp = `${path}[${i}]`;
    if (t.key) check(errors, `${tp}.key`, t.key, qualifiedName(t.key));
    if (t.operator !== undefined && !['Exists', 'Equal'].includes(t.operator)) errors.push(fieldErr.notSupported(`${tp}.operator`, t.operator, ['Equal', 'Exists']));
    if (t.operator === 'Exists' && t.value) errors.push(fieldErr.invalid(`${tp}.operator`, t.operator, 'value must be empty when `operator` is \'Exists\''));
    if (!t.key && t.operator !== 'Exists') errors.push(fieldErr.invalid(`${tp}.operator`, t.operator ?? '', 'operator must be Exists when `key` is empty, which means "match all values and all keys"'));
    if (t.value) check(errors, `${tp}.value`, t.value, labelValue(t.value));
    if (t.effect !== undefined && !['NoSchedule', 'PreferNoSchedule', 'NoExecute'].includes(t.effect)) {
      errors.push(fieldErr.notSupported(`${tp}.effect`, t.effect, ['NoSchedule', 'PreferNoSchedule', 'NoExecute']));
    }
    if (t.tolerationSeconds !== undefined && t.effect !== 'NoExecute') errors.push(fieldErr.invalid(`${tp}.effect`, t.effect ?? '', 'effect must be \'NoExecute\' when `tolerationSeconds` is set'));
  }
  return errors;
}
