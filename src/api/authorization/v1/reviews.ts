/**
 * The review kinds: questions to the server that are answered, never stored.
 * authorization.k8s.io/v1 SelfSubjectAccessReview, SelfSubjectRulesReview, SubjectAccessReview and
 * LocalSubjectAccessReview (`kubectl auth can-i [--list]`); authentication.k8s.io/v1 SelfSubjectReview
 * (`kubectl auth whoami`).
 */
import { defineType } from '../../define.js';
import type { KubeObject } from '../../meta.js';
import { kindSchema } from '../../meta-schema.js';
import type { FieldError, ResourceType } from '../../resource-type.js';
import { anything, bool, map, obj, str, stringList, type ObjectSchema, type Schema } from '../../schema.js';
import { fieldErr } from '../../validation.js';

export interface ResourceAttributes {
  namespace?: string;
  verb?: string;
  group?: string;
  version?: string;
  resource?: string;
  subresource?: string;
  name?: string;
}

export interface NonResourceAttributes {
  path?: string;
  verb?: string;
}

export interface AccessReviewSpec {
  resourceAttributes?: ResourceAttributes;
  nonResourceAttributes?: NonResourceAttributes;
  user?: string;
  groups?: string[];
  uid?: string;
  extra?: Record<string, string[]>;
}

export interface AccessReview extends KubeObject {
  spec: AccessReviewSpec;
}

const resourceAttributes = obj({ namespace: str(), verb: str(), group: str(), version: str(), resource: str(), subresource: str(), name: str(), fieldSelector: anything(), labelSelector: anything() });
const nonResourceAttributes = obj({ path: str(), verb: str() });
const accessStatus = obj({ allowed: bool(), denied: bool(), reason: str(), evaluationError: str() });

function validateAccess(o: KubeObject, subject: boolean): FieldError[] {
  const spec = (o as AccessReview).spec as AccessReviewSpec | undefined;
  if (!spec || typeof spec !== 'object') return [fieldErr.required('spec')];
  const errors: FieldError[] = [];
  const r = spec.resourceAttributes;
  const n = spec.nonResourceAttributes;
  if (!r && !n) errors.push(fieldErr.required('spec.resourceAttributes', 'exactly one of nonResourceAttributes or resourceAttributes must be specified'));
  if (r && n) errors.push(fieldErr.invalid('spec.nonResourceAttributes', n, 'cannot be specified in combination with resourceAttributes'));
  if (r && (typeof r !== 'object' || Object.values(r).some((v) => v !== undefined && typeof v !== 'string' && typeof v !== 'object'))) errors.push(fieldErr.invalid('spec.resourceAttributes', r, 'must hold strings'));
  if (n && (typeof n !== 'object' || Object.values(n).some((v) => v !== undefined && typeof v !== 'string'))) errors.push(fieldErr.invalid('spec.nonResourceAttributes', n, 'must hold strings'));
  if (subject && !spec.user && !(Array.isArray(spec.groups) && spec.groups.length > 0)) errors.push(fieldErr.required('spec.user', 'at least one of user or group must be specified'));
  if (spec.groups !== undefined && (!Array.isArray(spec.groups) || spec.groups.some((g) => typeof g !== 'string'))) errors.push(fieldErr.invalid('spec.groups', spec.groups, 'must be a list of strings'));
  return errors;
}

function reviewType(group: string, kind: string, namespaced: boolean, spec: Record<string, Schema>, status: ObjectSchema, validateSpec?: (o: KubeObject) => FieldError[]): ResourceType {
  return {
    ...defineType({
      group,
      version: 'v1',
      kind,
      resource: `${kind.toLowerCase()}s`,
      singular: kind.toLowerCase(),
      namespaced,
      verbs: ['create'],
      subresources: [],
      hasStatus: false,
      schema: kindSchema(`${kind}: a question the server answers in status; never stored.`, { spec: obj(spec), status }),
      validateSpec,
      table: { columns: [], cells: () => [] }, // never listed
    }),
    ephemeral: true,
  };
}

const subjectFields = { user: str(), groups: stringList(), uid: str(), extra: map(stringList()) };

export function authorizationV1(): ResourceType[] {
  const g = 'authorization.k8s.io';
  return [
    reviewType(g, 'SelfSubjectAccessReview', false, { resourceAttributes, nonResourceAttributes }, accessStatus, (o) => validateAccess(o, false)),
    reviewType(g, 'SelfSubjectRulesReview', false, { namespace: str() }, obj({ resourceRules: anything(), nonResourceRules: anything(), incomplete: bool(), evaluationError: str() })),
    reviewType(g, 'SubjectAccessReview', false, { resourceAttributes, nonResourceAttributes, ...subjectFields }, accessStatus, (o) => validateAccess(o, true)),
    reviewType(g, 'LocalSubjectAccessReview', true, { resourceAttributes, nonResourceAttributes, ...subjectFields }, accessStatus, (o) => validateAccess(o, true)),
  ];
}

export function authenticationV1(): ResourceType[] {
  return [reviewType('authentication.k8s.io', 'SelfSubjectReview', false, {}, obj({ userInfo: obj({ username: str(), uid: str(), groups: stringList(), extra: map(stringList()) }) }))];
}
