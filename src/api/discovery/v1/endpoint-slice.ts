import { defineType } from '../../define.js';
import type { KubeObject } from '../../meta.js';
import { endpointAddressError, objectReferenceSchema, type ObjectReference } from '../../core/v1/object-reference.js';
import { kindSchema } from '../../meta-schema.js';
import type { FieldError, ResourceType } from '../../resource-type.js';
import { bool, int32, list, obj, str, stringMap } from '../../schema.js';
import { age, ageColumn, column, nameColumn } from '../../table.js';
import { fieldErr, isPortNumber } from '../../validation.js';

/** The Service a slice belongs to. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
/** Who keeps a slice: the slice controller, or the API server for `default/kubernetes`. */
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
export const API_SERVER_MANAGER = 'nubis-apiserver';

export interface Endpoint {
  addresses: string[];
  conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
  hostname?: string;
  targetRef?: ObjectReference;
  nodeName?: string;
  zone?: string;
}

export interface EndpointSlice extends KubeObject {
  addressType: 'IPv4' | 'IPv6' | 'FQDN';
  endpoints?: Endpoint[];
  ports?: Array<{ name?: string; protocol?: 'TCP' | 'UDP' | 'SCTP'; port?: number; appProtocol?: string }>;
}

const ADDRESS_TYPES = ['IPv4', 'IPv6', 'FQDN'];

function validateSlice(o: KubeObject): FieldError[] {
  const s = o as EndpointSlice;
  const errors: FieldError[] = [];
  if (!s.addressType) errors.push(fieldErr.required('addressType'));
  else if (!ADDRESS_TYPES.includes(s.addressType)) errors.push(fieldErr.notSupported('addressType', s.addressType, ADDRESS_TYPES));
  if ((s.endpoints?.length ?? 0) > 1000) errors.push(fieldErr.tooLong('endpoints', '', 1000));
  for (const [i, e] of (s.endpoints ?? []).entries()) {
    if (!e.addresses?.length) errors.push(fieldErr.required(`endpoints[${i}].addresses`, 'must contain at least 1 address'));
    else if (e.addresses.length > 100) errors.push(fieldErr.tooLong(`endpoints[${i}].addresses`, '', 100));
    else if (s.addressType === 'IPv4' || s.addressType === 'IPv6') {
      for (const [j, a] of e.addresses.entries()) {
        const bad = endpointAddressError(a, s.addressType);
        if (bad) errors.push(fieldErr.invalid(`endpoints[${i}].addresses[${j}]`, a, bad));
      }
    }
  }
  for (const [i, p] of (s.ports ?? []).entries()) {
    if (p.port !== undefined && !isPortNumber(p.port)) errors.push(fieldErr.invalid(`ports[${i}].port`, p.port, 'must be between 1 and 65535, inclusive'));
  }
  return errors;
}

function endpointsCell(s: EndpointSlice): string {
  const addrs = (s.endpoints ?? []).flatMap((e) => e.addresses ?? []);
  if (!addrs.length) return '<unset>';
  return addrs.length > 3 ? `${addrs.slice(0, 3).join(',')} + ${addrs.length - 3} more...` : addrs.join(',');
}

function portsCell(s: EndpointSlice): string {
  if (!s.ports?.length) return '<unset>';
  return s.ports.map((p) => (p.port === undefined ? '<unset>' : String(p.port))).join(',');
}

export function endpointSliceType(): ResourceType {
  return defineType({
    group: 'discovery.k8s.io',
    version: 'v1',
    kind: 'EndpointSlice',
    resource: 'endpointslices',
    singular: 'endpointslice',
    namespaced: true,
    subresources: [],
    hasStatus: false,
    schema: kindSchema('EndpointSlice represents a subset of the endpoints that implement a service.', {
      addressType: str(undefined, ADDRESS_TYPES),
      endpoints: list(
        obj({
          addresses: list(str(), { listType: 'set' }),
          conditions: obj({ ready: bool(), serving: bool(), terminating: bool() }),
          hostname: str(),
          targetRef: objectReferenceSchema,
          deprecatedTopology: stringMap(),
          nodeName: str(),
          zone: str(),
          hints: obj({ forZones: list(obj({ name: str() }), { listType: 'atomic' }), forNodes: list(obj({ name: str() }), { listType: 'atomic' }) }),
        }, { required: ['addresses'] }),
        { listType: 'atomic' },
      ),
      ports: list(obj({ name: str(), protocol: str(), port: int32(), appProtocol: str() }), { listType: 'atomic' }),
    }),
    defaults(o) {
      for (const p of (o as EndpointSlice).ports ?? []) {
        p.protocol ??= 'TCP';
        p.name ??= '';
      }
    },
    validateSpec: validateSlice,
    table: {
      columns: [
        nameColumn(),
        column('AddressType', 'Type of address carried by this EndpointSlice.'),
        column('Ports', 'Ports advertised by this EndpointSlice.'),
        column('Endpoints', 'Endpoints represented by this EndpointSlice.'),
        ageColumn(),
      ],
      cells: (o, now) => {
        const s = o as EndpointSlice;
        return [s.metadata.name, s.addressType ?? '', portsCell(s), endpointsCell(s), age(s, now)];
      },
    },
  });
}
