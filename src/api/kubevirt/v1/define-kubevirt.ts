/** What KubeVirt's kinds share: kubevirt.io/v1, namespaced, in the `all` category, a required spec and a status subresource. */
import { defineType, type TypeDefinition } from '../../define.js';
import { kindSchema } from '../../meta-schema.js';
import type { ResourceType } from '../../resource-type.js';
import type { Schema } from '../../schema.js';
import { KUBEVIRT_GROUP } from './vmi-types.js';

export interface KubevirtKind extends Pick<TypeDefinition, 'kind' | 'resource' | 'shortNames' | 'defaults' | 'validateSpec' | 'table' | 'fields'> {
  description: string;
  spec: Schema;
  status: Schema;
}

export function defineKubevirtType(def: KubevirtKind): ResourceType {
  const { description, spec, status, ...rest } = def;
  const schema = kindSchema(description, { spec, status });
  return defineType({
    group: KUBEVIRT_GROUP,
    version: 'v1',
    singular: def.resource.replace(/s$/, ''),
    namespaced: true,
    categories: ['all'],
    subresources: ['status'],
    hasStatus: true,
    schema: { ...schema, required: ['spec'] },
    ...rest,
  });
}
