import { defineType, field } from '../../define.js';
import type { KubeObject } from '../../meta.js';
import { conditionsList, kindSchema } from '../../meta-schema.js';
import type { FieldError, ResourceType } from '../../resource-type.js';
import { bool, int32, intOrString, keyedList, list, obj, str, stringList, stringMap } from '../../schema.js';
import { age, ageColumn, column, formatMap, nameColumn, wide } from '../../table.js';
import { isIP } from './object-reference.js';
import { check, dns1123Label, dns1123Subdomain, fieldErr, isPortNumber, portName, validateLabels } from '../../validation.js';

export interface ServicePort {
  name?: string;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  appProtocol?: string;
  port: number;
  targetPort?: number | string;
  nodePort?: number;
}

export interface ServiceSpec {
  type?: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
  ports?: ServicePort[];
  selector?: Record<string, string>;
  clusterIP?: string;
  clusterIPs?: string[];
  externalIPs?: string[];
  sessionAffinity?: 'None' | 'ClientIP';
  sessionAffinityConfig?: { clientIP?: { timeoutSeconds?: number } };
  externalName?: string;
  externalTrafficPolicy?: 'Cluster' | 'Local';
  internalTrafficPolicy?: 'Cluster' | 'Local';
  ipFamilies?: Array<'IPv4' | 'IPv6'>;
  ipFamilyPolicy?: 'SingleStack' | 'PreferDualStack' | 'RequireDualStack';
  publishNotReadyAddresses?: boolean;
  allocateLoadBalancerNodePorts?: boolean;
  [field: string]: unknown;
}

export interface ServiceStatus {
  loadBalancer?: { ingress?: Array<{ ip?: string; hostname?: string }> };
}

export interface Service extends KubeObject {
  spec?: ServiceSpec;
  status?: ServiceStatus;
}

const TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];

function defaultService(o: KubeObject): void {
  const spec = ((o as Service).spec ??= {});
  spec.type ??= 'ClusterIP';
  spec.sessionAffinity ??= 'None';
  if (spec.sessionAffinity === 'ClientIP') {
    spec.sessionAffinityConfig ??= {};
    spec.sessionAffinityConfig.clientIP ??= {};
    spec.sessionAffinityConfig.clientIP.timeoutSeconds ??= 10800;
  }
  for (const p of spec.ports ?? []) {
    p.protocol ??= 'TCP';
    if (p.targetPort === undefined || p.targetPort === 0 || p.targetPort === '') p.targetPort = p.port;
  }
  if (spec.type === 'ExternalName') return;
  spec.internalTrafficPolicy ??= 'Cluster';
  if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') spec.externalTrafficPolicy ??= 'Cluster';
  if (spec.type === 'LoadBalancer') spec.allocateLoadBalancerNodePorts ??= true;
  if (spec.clusterIP && !spec.clusterIPs?.length) spec.clusterIPs = [spec.clusterIP];
  spec.ipFamilyPolicy ??= 'SingleStack';
  spec.ipFamilies ??= ['IPv4'];
}

function validateService(o: KubeObject, old?: KubeObject): FieldError[] {
  const errors: FieldError[] = [];
  const spec = (o as Service).spec;
  if (!spec) return [fieldErr.required('spec')];
  const type = spec.type ?? 'ClusterIP';
  if (!TYPES.includes(type)) errors.push(fieldErr.notSupported('spec.type', type, TYPES));
  const headless = spec.clusterIP === 'None';
  const ports = spec.ports ?? [];
  if (type === 'ExternalName') {
    if (!spec.externalName) errors.push(fieldErr.required('spec.externalName'));
    else check(errors, 'spec.externalName', spec.externalName, dns1123Subdomain(spec.externalName.replace(/\.$/, '')));
  } else if (ports.length === 0 && !headless) {
    errors.push(fieldErr.required('spec.ports'));
  }
  const names = new Set<string>();
  const keys = new Set<string>();
  ports.forEach((p, i) => {
    const path = `spec.ports[${i}]`;
    if (ports.length > 1 && !p.name) errors.push(fieldErr.required(`${path}.name`));
    if (p.name) {
      // Service port names are DNS-1123 labels ("5678-8080" is valid), unlike container port names.
      check(errors, `${path}.name`, p.name, dns1123Label(p.name));
      if (names.has(p.name)) errors.push(fieldErr.duplicate(`${path}.name`, p.name));
      names.add(p.name);
    }
    if (!isPortNumber(p.port)) errors.push(fieldErr.invalid(`${path}.port`, p.port ?? 0, 'must be between 1 and 65535, inclusive'));
    if (p.protocol !== undefined && !PROTOCOLS.includes(p.protocol)) errors.push(fieldErr.notSupported(`${path}.protocol`, p.protocol, PROTOCOLS));
    if (typeof p.targetPort === 'number' && !isPortNumber(p.targetPort)) errors.push(fieldErr.invalid(`${path}.targetPort`, p.targetPort, 'must be between 1 and 65535, inclusive'));
    if (typeof p.targetPort === 'string' && p.targetPort !== '') check(errors, `${path}.targetPort`, p.targetPort, portName(p.targetPort));
    if (p.nodePort !== undefined && p.nodePort !== 0) {
      if (type !== 'NodePort' && type !== 'LoadBalancer') errors.push(fieldErr.forbidden(`${path}.nodePort`, 'may not be used when `type` is \'ClusterIP\''));
      else if (!isPortNumber(p.nodePort)) errors.push(fieldErr.invalid(`${path}.nodePort`, p.nodePort, 'must be between 1 and 65535, inclusive'));
    }
    const key = `${p.port}/${p.protocol ?? 'TCP'}`;
    if (keys.has(key)) errors.push(fieldErr.duplicate(path, { port: p.port, protocol: p.protocol ?? 'TCP' }));
    keys.add(key);
  });
  if (spec.sessionAffinity !== undefined && !['ClientIP', 'None'].includes(spec.sessionAffinity)) errors.push(fieldErr.notSupported('spec.sessionAffinity', spec.sessionAffinity, ['ClientIP', 'None']));
  const timeout = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds;
  if (timeout !== undefined && (!Number.isInteger(timeout) || timeout < 1 || timeout > 86400)) {
    errors.push(fieldErr.invalid('spec.sessionAffinityConfig.clientIP.timeoutSeconds', timeout, 'must be greater than 0 and less than 86400'));
  }
  errors.push(...validateLabels(spec.selector, 'spec.selector'));
  for (const f of ['externalTrafficPolicy', 'internalTrafficPolicy'] as const) {
    if (spec[f] !== undefined && !['Cluster', 'Local'].includes(spec[f]!)) errors.push(fieldErr.notSupported(`spec.${f}`, spec[f], ['Cluster', 'Local']));
  }
  if (spec.clusterIP && spec.clusterIP !== 'None' && !isIP(spec.clusterIP)) errors.push(fieldErr.invalid('spec.clusterIP', spec.clusterIP, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'));
  for (const [i, ip] of (spec.externalIPs ?? []).entries()) if (!isIP(ip)) errors.push(fieldErr.invalid(`spec.externalIPs[${i}]`, ip, 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)'));
  const oldSpec = (old as Service | undefined)?.spec;
  if (oldSpec?.clusterIP && spec.clusterIP && spec.clusterIP !== oldSpec.clusterIP && oldSpec.type !== 'ExternalName' && type !== 'ExternalName') {
    errors.push(fieldErr.invalid('spec.clusterIPs[0]', spec.clusterIP, 'may not change once set'));
  }
  return errors;
}

/** The EXTERNAL-IP column of `kubectl get services`. */
function externalIPCell(svc: Service): string {
  const spec = svc.spec ?? {};
  const external = spec.externalIPs ?? [];
  switch (spec.type) {
    case 'ExternalName':
      return spec.externalName ?? '<none>';
    case 'LoadBalancer': {
      const ingress = (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip || i.hostname || '').filter(Boolean);
      const all = [...ingress, ...external];
      return all.length ? all.join(',') : '<pending>';
    }
    default:
      return external.length ? external.join(',') : '<none>';
  }
}

function portsCell(ports: ServicePort[] | undefined): string {
  if (!ports?.length) return '<none>';
  return ports.map((p) => (p.nodePort ? `${p.port}:${p.nodePort}/${p.protocol ?? 'TCP'}` : `${p.port}/${p.protocol ?? 'TCP'}`)).join(',');
}

export function serviceType(): ResourceType {
  return defineType({
    group: '',
    version: 'v1',
    kind: 'Service',
    resource: 'services',
    singular: 'service',
    namespaced: true,
    shortNames: ['svc'],
    categories: ['all'],
    verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
    subresources: ['status', 'proxy'],
    hasStatus: true,
    nameRule: 'dns1035',
    schema: kindSchema('Service is a named abstraction of software service consisting of a local port and a selector.', {
      spec: obj({
        ports: keyedList(
          obj({ name: str(), protocol: str(undefined, PROTOCOLS), appProtocol: str(), port: int32(), targetPort: intOrString(), nodePort: int32() }, { required: ['port'] }),
          'port',
          { listMapKeys: ['port', 'protocol'], description: 'The list of ports that are exposed by this service.' },
        ),
        selector: stringMap('Route service traffic to pods with label keys and values matching this selector.'),
        clusterIP: str(),
        clusterIPs: stringList(),
        type: str(undefined, TYPES),
        externalIPs: stringList(),
        sessionAffinity: str(undefined, ['ClientIP', 'None']),
        loadBalancerIP: str(),
        loadBalancerSourceRanges: stringList(),
        externalName: str(),
        externalTrafficPolicy: str(),
        healthCheckNodePort: int32(),
        publishNotReadyAddresses: bool(),
        sessionAffinityConfig: obj({ clientIP: obj({ timeoutSeconds: int32() }) }),
        ipFamilies: stringList(),
        ipFamilyPolicy: str(),
        allocateLoadBalancerNodePorts: bool(),
        loadBalancerClass: str(),
        internalTrafficPolicy: str(),
        trafficDistribution: str(),
      }),
      status: obj({
        loadBalancer: obj({
          ingress: list(obj({ ip: str(), hostname: str(), ipMode: str(), ports: list(obj({ port: int32(), protocol: str(), error: str() }), { listType: 'atomic' }) }), { listType: 'atomic' }),
        }),
        conditions: conditionsList(),
      }),
    }),
    defaults: defaultService,
    validateSpec: validateService,
    table: {
      columns: [
        nameColumn(),
        column('Type', 'type determines how the Service is exposed.'),
        column('Cluster-IP', 'clusterIP is the IP address of the service and is usually assigned randomly by the master.'),
        column('External-IP', 'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.'),
        column('Port(s)', 'The ports that are exposed by this service.'),
        ageColumn(),
        wide('Selector', 'Route service traffic to pods with label keys and values matching this selector.'),
      ],
      cells(o, now) {
        const s = o as Service;
        const spec = s.spec ?? {};
        return [s.metadata.name, spec.type ?? 'ClusterIP', spec.clusterIP || '<none>', externalIPCell(s), portsCell(spec.ports), age(s, now), formatMap(spec.selector)];
      },
    },
    fields: { 'spec.clusterIP': field('spec.clusterIP'), 'spec.type': field('spec.type') },
  });
}
