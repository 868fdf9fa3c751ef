import { defineType, field } from '../../define.js';
import { conditionsList, kindSchema } from '../../meta-schema.js';
import type { ResourceType } from '../../resource-type.js';
import { obj, str, stringList } from '../../schema.js';
import { age, ageColumn, column, nameColumn } from '../../table.js';
import { fieldErr } from '../../validation.js';

export interface NamespaceSpec {
  finalizers?: string[];
}

export interface NamespaceStatus {
  phase?: 'Active' | 'Terminating';
}

export function namespaceType(): ResourceType {
  return defineType({
    group: '',
    version: 'v1',
    kind: 'Namespace',
    resource: 'namespaces',
    singular: 'namespace',
    namespaced: false,
    shortNames: ['ns'],
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
    subresources: ['status', 'finalize'],
    hasStatus: true,
    nameRule: 'label',
    schema: kindSchema('Namespace provides a scope for Names.', {
      spec: obj({ finalizers: stringList('Must be empty before the namespace is removed from storage.') }),
      status: obj({ phase: str('Phase of the namespace.', ['Active', 'Terminating']), conditions: conditionsList() }),
    }),
    defaults(o) {
      const spec = ((o.spec as NamespaceSpec | undefined) ??= {});
      spec.finalizers ??= ['kubernetes'];
      const status = ((o.status as NamespaceStatus | undefined) ??= {});
      status.phase ??= 'Active';
      o.metadata.labels = { ...o.metadata.labels, 'kubernetes.io/metadata.name': o.metadata.name };
    },
    validateSpec(o) {
      const phase = (o.status as NamespaceStatus | undefined)?.phase;
      if (phase !== undefined && phase !== 'Active' && phase !== 'Terminating') return [fieldErr.notSupported('status.phase', phase, ['Active', 'Terminating'])];
      return [];
    },
    table: {
      columns: [nameColumn(), column('Status', 'The status of the namespace'), ageColumn()],
      cells: (o, now) => [o.metadata.name, (o.status as NamespaceStatus | undefined)?.phase ?? '', age(o, now)],
    },
    fields: { 'status.phase': field('status.phase') },
  });
}
