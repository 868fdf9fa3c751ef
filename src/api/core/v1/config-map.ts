import { defineType } from '../../define.js';
import type { KubeObject } from '../../meta.js';
import { kindSchema } from '../../meta-schema.js';
import type { FieldError, ResourceType } from '../../resource-type.js';
import { bool, bytes, map, stringMap } from '../../schema.js';
import { age, ageColumn, column, nameColumn } from '../../table.js';
import { fieldErr } from '../../validation.js';
import { MAX_DATA_SIZE, validateDataKeys, validateImmutableData } from './config-data.js';

export interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
  immutable?: boolean;
}

function validateConfigMap(o: KubeObject, old?: KubeObject): FieldError[] {
  const cm = o as ConfigMap;
  const errors: FieldError[] = [];
  for (const [k, v] of Object.entries(cm.data ?? {})) {
    if (typeof v !== 'string') errors.push(fieldErr.invalid(`data[${k}]`, v, 'must be a string'));
  }
  const size = validateDataKeys(
    [
      ['data', cm.data, (v) => Buffer.byteLength(String(v))],
      ['binaryData', cm.binaryData, (v) => Buffer.from(String(v), 'base64').length],
    ],
    errors,
  );
  if (size > MAX_DATA_SIZE) errors.push({ type: 'FieldValueTooLong', field: '', value: '', message: `Too long: must have at most ${MAX_DATA_SIZE} bytes` });
  validateImmutableData(cm, old as ConfigMap | undefined, ['data', 'binaryData'], errors);
  return errors;
}

export function configMapType(): ResourceType {
  return defineType({
    group: '',
    version: 'v1',
    kind: 'ConfigMap',
    resource: 'configmaps',
    singular: 'configmap',
    namespaced: true,
    shortNames: ['cm'],
    subresources: [],
    hasStatus: false,
    schema: kindSchema('ConfigMap holds configuration data for pods to consume.', {
      data: stringMap('Configuration data.'),
      binaryData: map(bytes(), 'Binary configuration data, base64 encoded.'),
      immutable: bool('If set to true, the data stored in the ConfigMap cannot be updated.'),
    }),
    validateSpec: validateConfigMap,
    table: {
      columns: [nameColumn(), column('Data', 'Number of data entries', { type: 'integer' }), ageColumn()],
      cells: (o, now) => {
        const cm = o as ConfigMap;
        return [cm.metadata.name, Object.keys(cm.data ?? {}).length + Object.keys(cm.binaryData ?? {}).length, age(cm, now)];
      },
    },
  });
}
