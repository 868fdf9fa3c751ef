/**
 * v1 ServiceAccount: the identity of pods (`system:serviceaccount:<namespace>:<name>`), with its
 * `token` subresource taking an authentication.k8s.io/v1 TokenRequest (`kubectl create token`).
 */
import { defineType } from '../../define.js';
import type { KubeObject } from '../../meta.js';
import { kindSchema } from '../../meta-schema.js';
import type { FieldError, ResourceType } from '../../resource-type.js';
import { bool, list, obj, str } from '../../schema.js';
import { age, ageColumn, column, nameColumn } from '../../table.js';
import { fieldErr } from '../../validation.js';

export interface ServiceAccount extends KubeObject {
  secrets?: { name?: string; namespace?: string; kind?: string; uid?: string }[];
  imagePullSecrets?: { name?: string }[];
  automountServiceAccountToken?: boolean;
}

/** The account every namespace has and pods run as unless they name another. */
export const DEFAULT_SERVICE_ACCOUNT = 'default';
/** Where the automatic token volume is mounted in every container. */
export const SERVICE_ACCOUNT_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
/** The ConfigMap with the cluster CA that every namespace gets (for the token volume's ca.crt). */
export const ROOT_CA_CONFIG_MAP = 'kube-root-ca.crt';

/** The user name of a service account. */
export function serviceAccountUser(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}

/** The namespace and name of a service account user, if `user` is one. */
export function parseServiceAccountUser(user: string): { namespace: string; name: string } | undefined {
  const m = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(user);
  return m ? { namespace: m[1]!, name: m[2]! } : undefined;
}

export interface TokenRequestSpec {
  audiences?: string[];
  expirationSeconds?: number;
  boundObjectRef?: { kind?: string; apiVersion?: string; name?: string; uid?: string };
}

export interface TokenRequest extends KubeObject {
  spec: TokenRequestSpec;
  status?: { token: string; expirationTimestamp: string };
}

/** Kubernetes' bounds: at least 10 minutes; Nubis caps requests at 48 hours. */
export const MIN_TOKEN_SECONDS = 600;
export const MAX_TOKEN_SECONDS = 48 * 3600;
export const DEFAULT_TOKEN_SECONDS = 3600;
/** The kinds a token may be bound to (it stops working when that object is gone). */
export const BOUND_KINDS = ['Pod', 'Secret', 'Node'];

/** The errors of a TokenRequest body (field paths as Kubernetes names them). */
export function validateTokenRequest(spec: unknown): FieldError[] {
  if (spec === undefined) return [];
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) return [fieldErr.invalid('spec', spec, 'must be an object')];
  const s = spec as TokenRequestSpec;
  const errors: FieldError[] = [];
  if (s.audiences !== undefined && (!Array.isArray(s.audiences) || s.audiences.some((a) => typeof a !== 'string' || a === ''))) errors.push(fieldErr.invalid('spec.audiences', s.audiences, 'must be a list of non-empty strings'));
  const exp = s.expirationSeconds;
  if (exp !== undefined && (typeof exp !== 'number' || !Number.isInteger(exp))) errors.push(fieldErr.invalid('spec.expirationSeconds', exp, 'must be an integer'));
  else if (exp !== undefined && exp < MIN_TOKEN_SECONDS) errors.push(fieldErr.invalid('spec.expirationSeconds', exp, 'may not specify a duration less than 10 minutes'));
  else if (exp !== undefined && exp > 2 ** 32) errors.push(fieldErr.invalid('spec.expirationSeconds', exp, 'may not specify a duration larger than 2^32 seconds'));
  const b = s.boundObjectRef;
  if (b !== undefined) {
    if (typeof b !== 'object' || b === null || Array.isArray(b)) errors.push(fieldErr.invalid('spec.boundObjectRef', b, 'must be an object'));
    else {
      if (!BOUND_KINDS.includes(String(b.kind))) errors.push(fieldErr.notSupported('spec.boundObjectRef.kind', b.kind, BOUND_KINDS));
      if (typeof b.name !== 'string' || b.name === '') errors.push(fieldErr.required('spec.boundObjectRef.name'));
      if (b.uid !== undefined && typeof b.uid !== 'string') errors.push(fieldErr.invalid('spec.boundObjectRef.uid', b.uid, 'must be a string'));
    }
  }
  return errors;
}

function validateServiceAccount(o: KubeObject): FieldError[] {
  const sa = o as ServiceAccount;
  const errors: FieldError[] = [];
  if (sa.automountServiceAccountToken !== undefined && typeof sa.automountServiceAccountToken !== 'boolean') errors.push(fieldErr.invalid('automountServiceAccountToken', sa.automountServiceAccountToken, 'must be a boolean'));
  return errors;
}

const reference = obj({ kind: str(), namespace: str(), name: str(), uid: str(), apiVersion: str(), resourceVersion: str(), fieldPath: str() });

export function serviceAccountType(): ResourceType {
  return defineType({
    group: '',
    version: 'v1',
    kind: 'ServiceAccount',
    resource: 'serviceaccounts',
    singular: 'serviceaccount',
    namespaced: true,
    shortNames: ['sa'],
    subresources: ['token'],
    hasStatus: false,
    schema: kindSchema('ServiceAccount binds together a name understood by users, a principal that can be authenticated and authorized, and a set of secrets.', {
      secrets: list(reference, { description: 'Secrets allowed to be used by pods running as this service account.' }),
      imagePullSecrets: list(obj({ name: str() }), { description: 'Secrets for pulling images of pods that reference this service account.' }),
      automountServiceAccountToken: bool('Whether pods running as this service account get an API token mounted automatically.'),
    }),
    validateSpec: validateServiceAccount,
    table: {
      columns: [nameColumn(), column('Secrets', 'Number of secrets', { type: 'integer' }), ageColumn()],
      cells: (o, now) => [o.metadata.name, (o as ServiceAccount).secrets?.length ?? 0, age(o, now)],
    },
  });
}
