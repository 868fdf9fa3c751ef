import { defineType } from '../../define.js';
import type { KubeObject } from '../../meta.js';
import { kindSchema } from '../../meta-schema.js';
import type { FieldError, ResourceType } from '../../resource-type.js';
import { int32, list, obj, str } from '../../schema.js';
import { age, ageColumn, column, nameColumn } from '../../table.js';
import { fieldErr, isPortNumber } from '../../validation.js';
import { endpointAddressError, objectReferenceSchema, type ObjectReference } from './object-reference.js';

export interface EndpointAddress {
  ip: string;
  hostname?: string;
  nodeName?: string;
  targetRef?: ObjectReference;
}

export interface EndpointPort {
  name?: string;
  port: number;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  appProtocol?: string;
}

export interface Endpoints extends KubeObject {
  subsets?: Array<{ addresses?: EndpointAddress[]; notReadyAddresses?: EndpointAddress[]; ports?: EndpointPort[] }>;
}

const address = obj({ ip: str(), hostname: str(), nodeName: str(), targetRef: objectReferenceSchema }, { required: ['ip'] });
const port = obj({ name: str(), port: int32(), protocol: str(), appProtocol: str() }, { required: ['port'] });

function validateEndpoints(o: KubeObject): FieldError[] {
  const errors: FieldError[] = [];
  for (const [i, subset] of ((o as Endpoints).subsets ?? []).entries()) {
    const p = `subsets[${i}]`;
    for (const field of ['addresses', 'notReadyAddresses'] as const) {
      for (const [j, a] of (subset[field] ?? []).entries()) {
        const bad = endpointAddressError(a.ip);
        if (bad) errors.push(fieldErr.invalid(`${p}.${field}[${j}].ip`, a.ip, bad));
      }
    }
    for (const [j, pt] of (subset.ports ?? []).entries()) {
      if (!isPortNumber(pt.port)) errors.push(fieldErr.invalid(`${p}.ports[${j}].port`, pt.port, 'must be between 1 and 65535, inclusive'));
      if ((subset.ports?.length ?? 0) > 1 && !pt.name) errors.push(fieldErr.required(`${p}.ports[${j}].name`));
    }
  }
  return errors;
}

/** The ENDPOINTS column: up to three `ip:port` pairs, then `+ N more...`. */
export function endpointsCell(e: Endpoints): string {
  const all: string[] = [];
  let total = 0;
  for (const s of e.subsets ?? []) {
    const ports = s.ports?.length ? s.ports : [undefined];
    for (const a of s.addresses ?? []) {
      for (const p of ports) {
        total++;
        if (all.length < 3) all.push(p ? `${a.ip}:${p.port}` : a.ip);
      }
    }
  }
  if (total === 0) return '<none>';
  return total > 3 ? `${all.join(',')} + ${total - 3} more...` : all.join(',');
}

export function endpointsType(): ResourceType {
  return defineType({
    group: '',
    version: 'v1',
    kind: 'Endpoints',
    resource: 'endpoints',
    singular: 'endpoints',
    namespaced: true,
    shortNames: ['ep'],
    subresources: [],
    hasStatus: false,
    schema: kindSchema('Endpoints is a collection of endpoints that implement the actual service.', {
      subsets: list(
        obj({
          addresses: list(address, { listType: 'atomic' }),
          notReadyAddresses: list(address, { listType: 'atomic' }),
          ports: list(port, { listType: 'atomic' }),
        }),
        { listType: 'atomic' },
      ),
    }),
    defaults(o) {
      for (const s of (o as Endpoints).subsets ?? []) for (const p of s.ports ?? []) p.protocol ??= 'TCP';
    },
    validateSpec: validateEndpoints,
    table: {
      columns: [nameColumn(), column('Endpoints', 'Endpoints of the service'), ageColumn()],
      cells: (o, now) => [o.metadata.name, endpointsCell(o as Endpoints), age(o, now)],
    },
  });
}
