import { defineType, field } from '../../define.js';
import type { KubeObject } from '../../meta.js';
import { kindSchema } from '../../meta-schema.js';
import type { FieldError, ResourceType } from '../../resource-type.js';
import { bool, bytes, map, str, stringMap } from '../../schema.js';
import { age, ageColumn, column, nameColumn } from '../../table.js';
import { fieldErr, immutable } from '../../validation.js';
import { MAX_DATA_SIZE, validateDataKeys, validateImmutableData } from './config-data.js';

export interface Secret extends KubeObject {
  type?: string;
  /** Values are base64. */
  data?: Record<string, string>;
  /** Write-only convenience: merged into `data` (base64-encoded) on write, never stored. */
  stringData?: Record<string, string>;
  immutable?: boolean;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Keys each built-in secret type requires. */
const REQUIRED_KEYS: Record<string, string[]> = {
  'kubernetes.io/dockercfg': ['.dockercfg'],
  'kubernetes.io/dockerconfigjson': ['.dockerconfigjson'],
  'kubernetes.io/ssh-auth': ['ssh-privatekey'],
  'kubernetes.io/tls': ['tls.crt', 'tls.key'],
};

function defaultSecret(o: KubeObject): void {
  const s = o as Secret;
  s.type ||= 'Opaque';
  if (s.stringData) {
    s.data ??= {};
    for (const [k, v] of Object.entries(s.stringData)) s.data[k] = Buffer.from(String(v), 'utf8').toString('base64');
    delete s.stringData;
  }
}

function validateSecret(o: KubeObject, old?: KubeObject): FieldError[] {
  const s = o as Secret;
  const errors: FieldError[] = [];
  for (const [k, v] of Object.entries(s.data ?? {})) {
    if (typeof v !== 'string' || !BASE64.test(v)) errors.push(fieldErr.invalid(`data[${k}]`, '<secret contents redacted>', 'must be base64-encoded'));
  }
  const size = validateDataKeys([['data', s.data, (v) => Buffer.from(String(v), 'base64').length]], errors);
  if (size > MAX_DATA_SIZE) errors.push({ type: 'FieldValueTooLong', field: 'data', value: '', message: `Too long: may not be more than ${MAX_DATA_SIZE} bytes` });
  const type = s.type ?? 'Opaque';
  for (const key of REQUIRED_KEYS[type] ?? []) {
    if (s.data?.[key] === undefined) errors.push(fieldErr.required(`data[${key}]`));
  }
  if (type === 'kubernetes.io/service-account-token' && !s.metadata.annotations?.['kubernetes.io/service-account.name']) {
    errors.push(fieldErr.required('metadata.annotations[kubernetes.io/service-account.name]'));
  }
  if (type === 'kubernetes.io/basic-auth' && s.data?.['username'] === undefined && s.data?.['password'] === undefined) {
    errors.push(fieldErr.required('data[username]', 'either username or password is required'));
  }
  if (old) immutable(errors, 'type', type, (old as Secret).type ?? 'Opaque');
  validateImmutableData(s, old as Secret | undefined, ['data'], errors);
  return errors;
}

export function secretType(): ResourceType {
  return defineType({
    group: '',
    version: 'v1',
    kind: 'Secret',
    resource: 'secrets',
    singular: 'secret',
    namespaced: true,
    subresources: [],
    hasStatus: false,
    schema: kindSchema('Secret holds secret data of a certain type.', {
      data: map(bytes(), 'Secret data, base64 encoded.'),
      stringData: stringMap('Write-only data in plain text, merged into data.'),
      type: str('Used to facilitate programmatic handling of secret data.'),
      immutable: bool(),
    }),
    defaults: defaultSecret,
    validateSpec: validateSecret,
    table: {
      columns: [nameColumn(), column('Type', 'The type of the secret'), column('Data', 'The number of entries in the secret', { type: 'integer' }), ageColumn()],
      cells: (o, now) => {
        const s = o as Secret;
        return [s.metadata.name, s.type ?? 'Opaque', Object.keys(s.data ?? {}).length, age(s, now)];
      },
    },
    fields: { type: field('type') },
  });
}
