import { defineType } from '../../define.js';
import type { KubeObject } from '../../meta.js';
import { kindSchema } from '../../meta-schema.js';
import type { FieldError, ResourceType } from '../../resource-type.js';
import { int32, obj, str, time } from '../../schema.js';
import { age, ageColumn, column, nameColumn } from '../../table.js';
import { fieldErr } from '../../validation.js';

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
  strategy?: string;
  preferredHolder?: string;
}

export interface Lease extends KubeObject {
  spec?: LeaseSpec;
}

function validateLease(o: KubeObject): FieldError[] {
  const spec = (o as Lease).spec ?? {};
  const errors: FieldError[] = [];
  if (spec.leaseDurationSeconds !== undefined && (!Number.isInteger(spec.leaseDurationSeconds) || spec.leaseDurationSeconds <= 0)) {
    errors.push(fieldErr.invalid('spec.leaseDurationSeconds', spec.leaseDurationSeconds, 'must be greater than 0'));
  }
  if (spec.leaseTransitions !== undefined && (!Number.isInteger(spec.leaseTransitions) || spec.leaseTransitions < 0)) {
    errors.push(fieldErr.invalid('spec.leaseTransitions', spec.leaseTransitions, 'must be greater than or equal to 0'));
  }
  return errors;
}

export function leaseType(): ResourceType {
  return defineType({
    group: 'coordination.k8s.io',
    version: 'v1',
    kind: 'Lease',
    resource: 'leases',
    singular: 'lease',
    namespaced: true,
    subresources: [],
    hasStatus: false,
    schema: kindSchema('Lease defines a lease concept.', {
      spec: obj({
        holderIdentity: str(), leaseDurationSeconds: int32(), acquireTime: time(), renewTime: time(), leaseTransitions: int32(),
        strategy: str(), preferredHolder: str(),
      }),
    }),
    validateSpec: validateLease,
    table: {
      columns: [nameColumn(), column('Holder', 'The holder of the lease.'), ageColumn()],
      cells: (o, now) => [o.metadata.name, (o as Lease).spec?.holderIdentity ?? '', age(o, now)],
    },
  });
}
